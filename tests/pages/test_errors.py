"""Errors of the page routes are HTML pages with the API's status and message; /api stays JSON."""

import html
from typing import Any

from tests.incidents.conftest import basic
from tests.pages.conftest import DOWN, Site, Start, csrf_of


async def _fetch(
    s: Site, method: str, path: str, user: str | None = None, **kw: Any
) -> tuple[int, str, str, Any]:
    """One request: status, Content-Type, the text unescaped, and the headers."""
    headers = basic(user) if user else {}
    async with s.session.request(
        method, s.url + path, headers=headers, allow_redirects=False, **kw
    ) as resp:
        return resp.status, resp.content_type, html.unescape(await resp.text()), resp.headers


def _assert_page(got: tuple[int, str, str, Any], status: int, message: str) -> None:
    """An HTML error page in the layout: the status, the message, a link back."""
    code, content_type, text, _ = got
    assert code == status, text
    assert content_type == "text/html", text
    assert text.lstrip().lower().startswith("<!doctype html>")
    assert f"<h1>{status} " in text
    assert message in text
    assert 'role="alert"' in text
    assert ">Back</a>" in text
    assert 'aria-label="Main"' in text  # the base layout's navigation


async def test_unknown_incident_and_target_are_404_pages(site: Start) -> None:
    """/incidents/999 and /targets/nope answer a 404 HTML page naming what is missing."""
    s = await site()
    _, _, api_text, _ = await _fetch(s, "GET", "/api/v1/incidents/999")
    got = await _fetch(s, "GET", "/incidents/999")
    _assert_page(got, 404, "999")
    assert '"errorType"' not in got[2]
    assert 'href="/incidents"' in got[2]
    target = await _fetch(s, "GET", "/targets/nope")
    _assert_page(target, 404, "nope")
    assert 'href="/"' in target[2]
    assert "not_found" in api_text  # the API's answer to the same lookup is still the envelope


async def test_the_page_message_is_the_api_message(site: Start) -> None:
    """A failed form POST (no CSRF token) shows exactly the message the JSON had: 403."""
    s = await site()
    await s.push(DOWN)
    got = await _fetch(s, "POST", "/incidents/1/acknowledge", data={})
    _assert_page(got, 403, "missing or wrong CSRF token: reload the page and submit again")
    _, page = await s.get("/incidents/1")
    token = {"csrf_token": csrf_of(page)}
    by_less = await _fetch(s, "POST", "/incidents/1/acknowledge", data=token)
    _assert_page(by_less, 400, "say who you are (the 'by' field)")


async def test_viewer_post_conflict_and_401_are_pages(site: Start) -> None:
    """A viewer's POST is a 403 page, a second acknowledge a 409 page, and a 401 page keeps
    its WWW-Authenticate header so the browser still asks for credentials."""
    s = await site(users=True)
    await s.push(DOWN, user="alice")
    _, page = await s.get("/incidents/1", user="alice")
    form = {"csrf_token": csrf_of(page)}
    viewer = await _fetch(s, "POST", "/incidents/1/acknowledge", "bob", data=form)
    _assert_page(viewer, 403, "user 'bob' is not in web.admin_users")
    assert (await s.post("/incidents/1/acknowledge", form, user="alice"))[0] == 303
    twice = await _fetch(s, "POST", "/incidents/1/acknowledge", "alice", data=form)
    async with s.session.post(
        s.url + "/api/v1/incidents/1/acknowledge", json={"by": "alice"}, headers=basic("alice")
    ) as resp:
        assert resp.status == 409
        api_message = (await resp.json())["error"]
    assert api_message
    _assert_page(twice, 409, api_message)
    anonymous = await _fetch(s, "GET", "/incidents")
    _assert_page(anonymous, 401, "authentication required (HTTP basic auth)")
    assert anonymous[3]["WWW-Authenticate"].startswith("Basic")
    assert "<form" not in anonymous[2]
    assert "csrf_token" not in anonymous[2]


async def test_api_errors_stay_json(site: Start) -> None:
    """/api routes and unknown paths keep the JSON envelope, 401 included."""
    s = await site(users=True)
    for path, user, status in (
        ("/api/v1/incidents/999", "alice", 404),
        ("/api/v1/incidents", None, 401),
        ("/no/such/page", "alice", 404),
    ):
        code, content_type, text, headers = await _fetch(s, "GET", path, user)
        assert (code, content_type) == (status, "application/json"), (path, text)
        assert '"status":"error"' in text
        assert ("WWW-Authenticate" in headers) == (status == 401)
