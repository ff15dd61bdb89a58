"""Every page renders as HTML for a reader."""

from tests.pages.conftest import DOWN, Start


async def test_every_page_renders(site: Start) -> None:
    """Overview, incidents, one incident, alerts, rules, silences, experiments: 200 HTML."""
    s = await site()
    await s.push(DOWN)
    for path in (
        "/",
        "/incidents",
        "/incidents/1",
        "/alerts",
        "/rules",
        "/silences",
        "/experiments",
    ):
        status, html = await s.get(path)
        assert status == 200, (path, html[:2000])
        assert html.startswith("<!doctype html>")
