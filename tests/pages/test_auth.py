"""Pages under basic auth: viewers read without buttons; admins act with a CSRF token."""

from typing import Any

from tests.incidents.conftest import basic
from tests.pages.conftest import DOWN, Site, Start, csrf_of


async def _incident(s: Site, user: str = "alice") -> dict[str, Any]:
    async with s.session.get(s.url + "/api/v1/incidents/1", headers=basic(user)) as resp:
        body: dict[str, Any] = (await resp.json())["data"]
        return body


async def test_viewer_sees_everything_but_no_button(site: Start) -> None:
    """bob (not an admin) reads the incident with its labels, but no form or token is shown."""
    s = await site(users=True)
    await s.push(DOWN, user="alice")
    status, html = await s.get("/incidents/1", user="bob")
    assert status == 200
    assert 'target="captions-primary"' in html
    assert "captions-primary is down" in html
    assert "<form" not in html
    assert "csrf_token" not in html
    assert "(viewer)" in html
    status, admin_html = await s.get("/incidents/1", user="alice")
    assert 'id="acknowledge"' in admin_html
    assert 'id="silence"' in admin_html


async def test_viewer_post_is_refused_even_with_a_token(site: Start) -> None:
    """A viewer's POST to a page route is 403, token or not; the incident stays firing."""
    s = await site(users=True)
    await s.push(DOWN, user="alice")
    _, admin_html = await s.get("/incidents/1", user="alice")
    status, body, _ = await s.post(
        "/incidents/1/acknowledge", {"csrf_token": csrf_of(admin_html)}, user="bob"
    )
    assert status == 403, body
    assert (await _incident(s))["state"] == "firing"


async def test_forged_post_without_or_with_a_wrong_token_is_refused(site: Start) -> None:
    """A tricked admin browser's POST: no token or a wrong one is 403 and changes nothing."""
    s = await site(users=True)
    await s.push(DOWN, user="alice")
    for form in ({}, {"csrf_token": "0" * 64}, {"csrf_token": ""}):
        status, body, _ = await s.post("/incidents/1/acknowledge", form, user="alice")
        assert status == 403, (form, body)
        assert "CSRF" in body
    # A token from another user's page (bob's credentials) is not alice's.
    _, bob_html = await s.get("/incidents/1", user="bob")
    assert "csrf_token" not in bob_html
    incident = await _incident(s)
    assert incident["state"] == "firing"
    assert [e["event"] for e in incident["timeline"]] == ["fired"]


async def test_cross_site_post_is_refused_even_with_the_token(site: Start) -> None:
    """Today's cross-site refusal holds for page routes: Sec-Fetch-Site cross-site is 403."""
    s = await site(users=True)
    await s.push(DOWN, user="alice")
    _, html = await s.get("/incidents/1", user="alice")
    status, body, _ = await s.post(
        "/incidents/1/acknowledge",
        {"csrf_token": csrf_of(html)},
        user="alice",
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert status == 403
    assert "cross-site" in body
    assert (await _incident(s))["state"] == "firing"


async def test_admin_acknowledges_comments_and_resolves_from_the_page(site: Start) -> None:
    """With the page's token: 303 back to the incident, the API shows each move by alice."""
    s = await site(users=True)
    await s.push(DOWN, user="alice")
    _, html = await s.get("/incidents/1", user="alice")
    token = csrf_of(html)
    status, _, location = await s.post(
        "/incidents/1/acknowledge", {"csrf_token": token, "comment": "on it"}, user="alice"
    )
    assert (status, location) == (303, "/incidents/1")
    incident = await _incident(s)
    assert (incident["state"], incident["acknowledged_by"]) == ("acknowledged", "alice")
    status, _, _ = await s.post(
        "/incidents/1/comment", {"csrf_token": token, "comment": "restarted the pod"}, "alice"
    )
    assert status == 303
    status, _, _ = await s.post("/incidents/1/resolve", {"csrf_token": token}, user="alice")
    assert status == 303
    incident = await _incident(s)
    assert incident["state"] == "resolved"
    assert incident["resolved_by"] == "alice"
    events = [(e["event"], e["by"], e["detail"]) for e in incident["timeline"]]
    assert ("commented", "alice", "restarted the pod") in events
    assert [e[0] for e in events] == ["fired", "acknowledged", "commented", "resolved"]
    _, page = await s.get("/incidents/1", user="alice")
    assert "restarted the pod" in page
    assert 'id="acknowledge"' not in page


async def test_acknowledging_twice_is_a_conflict(site: Start) -> None:
    """The page route answers as the API does: acknowledging an acknowledged incident is 409."""
    s = await site(users=True)
    await s.push(DOWN, user="alice")
    _, html = await s.get("/incidents/1", user="alice")
    form = {"csrf_token": csrf_of(html)}
    assert (await s.post("/incidents/1/acknowledge", form, user="alice"))[0] == 303
    assert (await s.post("/incidents/1/acknowledge", form, user="alice"))[0] == 409


async def test_pages_need_credentials_but_static_files_do_not(site: Start) -> None:
    """With users, a page without credentials is 401; the style sheet and script are open."""
    s = await site(users=True)
    assert (await s.get("/"))[0] == 401
    assert (await s.get("/incidents"))[0] == 401
    for name in ("aiwatch.css", "aiwatch.js"):
        status, text = await s.get("/static/" + name)
        assert status == 200
        assert len(text) > 100
    assert (await s.get("/static/secret.txt"))[0] == 404


async def test_without_users_loopback_clients_act_and_say_who_they_are(site: Start) -> None:
    """No web config: a loopback client is an admin; the form asks who acts (``by``)."""
    s = await site()
    await s.push(DOWN)
    _, html = await s.get("/incidents/1")
    assert 'name="by"' in html
    token = csrf_of(html)
    status, body, _ = await s.post("/incidents/1/acknowledge", {"csrf_token": token})
    assert status == 400
    assert "by" in body
    status, _, _ = await s.post("/incidents/1/acknowledge", {"csrf_token": token, "by": "carol"})
    assert status == 303
    assert (await _incident(s))["acknowledged_by"] == "carol"
