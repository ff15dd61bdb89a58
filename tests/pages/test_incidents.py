"""The incident list's search, filters and pages; silences made from an incident."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from aiwatch.pages import incidents as incident_pages
from aiwatch.pages.incidents import BadFilter, split_matchers
from tests.pages.conftest import DOWN, Site, Start, csrf_of

ROW = re.compile(r'<a href="/incidents/(\d+)">#')


def ids(html: str) -> list[int]:
    """The incident ids listed on a page, in order."""
    return [int(x) for x in ROW.findall(html)]


async def _seed(s: Site) -> None:
    await s.push(DOWN)  # 1
    await s.push({"alertname": "SlowAnswers", "severity": "warning", "target": "chat"})  # 2
    await s.push({"alertname": "EndpointDown", "severity": "critical", "target": "embed"})  # 3


async def test_filters_narrow_the_list(site: Start) -> None:
    """State, severity, alert name, label matchers and words each select the right incidents."""
    s = await site()
    await _seed(s)
    cases = {
        "": [3, 2, 1],
        "?severity=warning": [2],
        "?severity=critical,warning": [3, 2, 1],
        "?alertname=EndpointDown": [3, 1],
        "?matchers=" + 'target%3D~"c.*"': [2, 1],
        "?matchers=" + 'alertname%3D"EndpointDown"%2C%20target!%3D"embed"': [1],
        "?q=captions": [1],
        "?q=CHAT+warning": [2],
        "?state=resolved": [],
        "?state=all": [3, 2, 1],
    }
    for query, expected in cases.items():
        status, html = await s.get("/incidents" + query)
        assert status == 200, (query, html[:500])
        assert ids(html) == expected, query


async def test_time_range_filters_on_the_start(site: Start) -> None:
    """since/until (UTC, as a datetime-local input sends them) bound when incidents started."""
    s = await site()
    await _seed(s)
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert ids((await s.get(f"/incidents?since={past}"))[1]) == [3, 2, 1]
    assert ids((await s.get(f"/incidents?since={future}"))[1]) == []
    assert ids((await s.get(f"/incidents?until={past}"))[1]) == []


async def test_a_bad_filter_is_a_400_page_naming_it(site: Start) -> None:
    """A bad matcher, state or time answers 400 with the filter form and the reason."""
    s = await site()
    for query, word in (
        ("?matchers=target%3D~%22(%22", "label matchers"),
        ("?state=sleeping", "state"),
        ("?since=yesterday", "since"),
        ("?before=x", "before"),
    ):
        status, html = await s.get("/incidents" + query)
        assert status == 400, query
        assert 'role="alert"' in html
        assert word in html


async def test_pages_of_the_list(site: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    """With two a page, Older leads to the next two, then the last; filters are kept."""
    monkeypatch.setattr(incident_pages, "PAGE_SIZE", 2)
    s = await site()
    await _seed(s)
    await s.push({"alertname": "Four", "severity": "critical"})
    _, first = await s.get("/incidents?severity=critical,warning")
    assert ids(first) == [4, 3]
    older = re.search(r'rel="next" href="\?([^"]+)"', first)
    assert older is not None
    _, second = await s.get("/incidents?" + older.group(1).replace("&amp;", "&"))
    assert ids(second) == [2, 1]
    assert 'rel="next"' not in second
    assert "Newest" in second


def test_matchers_are_split_on_commas_outside_quotes() -> None:
    """A comma inside a quoted value stays in it; garbage is refused with the reason."""
    found = split_matchers('a="x, y", b=~"z.*" c!="w"')
    assert [str(m) for m in found] == ['a="x, y"', 'b=~"z.*"', 'c!="w"']
    with pytest.raises(BadFilter):
        split_matchers('a="x" garbage')


async def test_silence_similar_and_expire(site: Start) -> None:
    """The incident's Silence similar form makes a silence of its labels; Expire ends it."""
    s = await site()
    await s.push(DOWN)
    _, html = await s.get("/incidents/1")
    matchers = re.search(r'id="silence-matchers" name="matchers" value="([^"]+)"', html)
    assert matchers is not None
    similar = matchers.group(1).replace("&#34;", '"')
    form = {"csrf_token": csrf_of(html), "by": "carol", "matchers": similar, "hours": "4"}
    status, body, location = await s.post("/silences", form)
    assert (status, location) == (303, "/silences"), body
    async with s.session.get(s.url + "/api/v1/silences") as resp:
        (silence,) = (await resp.json())["data"]
    assert sorted(silence["matchers"]) == sorted(f'{k}="{v}"' for k, v in DOWN.items())
    assert silence["createdBy"] == "carol"
    assert silence["status"]["state"] == "active"
    _, page = await s.get("/silences")
    assert "Expire" in page
    status, _, _ = await s.post(f"/silences/{silence['id']}/expire", {"csrf_token": csrf_of(page)})
    assert status == 303
    async with s.session.get(s.url + "/api/v1/silences") as resp:
        (silence,) = (await resp.json())["data"]
    assert silence["status"]["state"] == "expired"


async def test_a_silence_matching_everything_is_refused(site: Start) -> None:
    """The page goes through the API's checks: matchers that match every alert are a 400."""
    s = await site()
    _, html = await s.get("/silences")
    form = {"csrf_token": csrf_of(html), "by": "carol", "matchers": 'a=~".*"', "hours": "1"}
    status, body, _ = await s.post("/silences", form)
    assert status == 400
    assert "match every alert" in body
