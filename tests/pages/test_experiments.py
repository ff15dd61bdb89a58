"""The experiment pages: results with intervals, and lifecycle buttons that move it."""

import re

from tests.pages.conftest import Site, Start, csrf_of

EXPERIMENT = """\
targets:
  - {name: a, kind: http, url: "http://127.0.0.1:9/", interval: 1h, timeout: 1s}
  - {name: b, kind: http, url: "http://127.0.0.1:9/", interval: 1h, timeout: 1s}
experiments:
  - name: rating-test
    hypothesis: b is rated higher
    control: a
    variants: [{name: a, target: a}, {name: b, target: b}]
    metrics: [{name: rating, source: observations, kind: mean, goal: increase}]
    min_samples: 10
"""


async def _observe(s: Site) -> None:
    body = [
        {"variant": "a", "metric": "rating", "n": 200, "sum": 600, "sum_squares": 1900},
        {"variant": "b", "metric": "rating", "n": 200, "sum": 700, "sum_squares": 2550},
    ]
    async with s.session.post(
        s.url + "/api/v1/experiments/rating-test/observations", json=body
    ) as resp:
        assert resp.status == 200, await resp.text()


async def _state(s: Site) -> str:
    async with s.session.get(s.url + "/api/v1/experiments/rating-test") as resp:
        state: str = (await resp.json())["data"]["state"]
        return state


async def test_experiment_page_shows_results_and_the_interval(site: Start) -> None:
    """n, mean, lift as a percentage, its interval drawn as SVG, the verdict; listed too."""
    s = await site(extra=EXPERIMENT)
    await _observe(s)
    status, html = await s.get("/experiments/rating-test")
    assert status == 200
    assert 'data-label="n">200</td>' in html
    # 3.5 against 3.0: a relative lift of +16.7%, shown as a percentage.
    assert re.search(r'data-label="Lift">\+16\.7%</td>', html)
    assert html.count('class="ci"') == 1
    assert "Verdict:" in html
    _, listing = await s.get("/experiments")
    assert 'href="/experiments/rating-test"' in listing


async def test_lifecycle_buttons_move_the_experiment(site: Start) -> None:
    """Pause, then Start, then Stop from the page; a stopped one has no button left."""
    s = await site(extra=EXPERIMENT)
    _, html = await s.get("/experiments/rating-test")
    assert 'id="exp-pause"' in html
    assert 'id="exp-start"' not in html
    token = csrf_of(html)
    for action, state in (("pause", "paused"), ("start", "running"), ("stop", "stopped")):
        status, _, location = await s.post(
            f"/experiments/rating-test/{action}", {"csrf_token": token}
        )
        assert (status, location) == (303, "/experiments/rating-test")
        assert await _state(s) == state
    _, html = await s.get("/experiments/rating-test")
    assert "exp-" not in html
    status, _, _ = await s.post("/experiments/rating-test/start", {"csrf_token": token})
    assert status == 409
