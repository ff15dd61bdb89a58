"""The Alertmanager API v2 routes in-process: auth, bad input, silence updates, shapes."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.incidents.conftest import DOWN, Serve, Served, basic, iso, write_web_config

from .conftest import AMTOOL


def _silence(**kw: Any) -> dict[str, Any]:
    body = {
        "matchers": [{"name": "target", "value": "captions-primary", "isRegex": False}],
        "startsAt": iso(),
        "endsAt": iso(3600),
        "createdBy": "alice",
        "comment": "maintenance",
    }
    return body | kw


async def _post(served: Served, body: Any, **kw: Any) -> tuple[int, Any]:
    return await served.call("POST", "/api/v2/silences", json=body, **kw)


async def test_viewers_read_only_admins_silence_and_pages_of_other_sites_cannot(
    serve: Serve, tmp_path: Path
) -> None:
    """With basic auth: no credentials is 401; a reader lists alerts and silences but gets
    403 creating or expiring one; an admin creates and expires; a cross-site POST is 403."""
    served = await serve(admin_users=("alice",), web_config=write_web_config(tmp_path))
    assert (await served.call("GET", "/api/v2/alerts"))[0] == 401
    for path in ("/api/v2/alerts", "/api/v2/silences", "/api/v2/status", "/api/v2/receivers"):
        status, _ = await served.call("GET", path, headers=basic("bob"))
        assert status == 200, path
    status, body = await _post(served, _silence(), headers=basic("bob"))
    assert status == 403, body
    status, body = await _post(
        served, _silence(), headers={**basic("alice"), "Origin": "https://evil.example"}
    )
    assert status == 403, body
    status, body = await _post(served, _silence(createdBy=None), headers=basic("alice"))
    assert status == 400, body  # an explicit null author is refused
    body = _silence()
    del body["createdBy"]
    status, created = await _post(served, body, headers=basic("alice"))
    assert status == 200, created
    sid = created["silenceID"]
    status, one = await served.call("GET", f"/api/v2/silence/{sid}", headers=basic("bob"))
    assert (status, one["createdBy"], one["status"]["state"]) == (200, "alice", "active")
    assert (await served.call("DELETE", f"/api/v2/silence/{sid}", headers=basic("bob")))[0] == 403
    status, _ = await served.call("DELETE", f"/api/v2/silence/{sid}", headers=basic("alice"))
    assert status == 200
    status, one = await served.call("GET", f"/api/v2/silence/{sid}", headers=basic("bob"))
    assert one["status"]["state"] == "expired"


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/api/v2/alerts?filter=%7Bnot%20a%20matcher", "bad matcher format"),
        ('/api/v2/alerts?filter=a%3D~"("', "bad matcher format"),
        ("/api/v2/alerts?active=maybe", "active in query must be of type boolean"),
        ("/api/v2/alerts/groups?silenced=2", "silenced in query must be of type boolean"),
        ("/api/v2/alerts?receiver=%28", "failed to parse receiver param"),
        ("/api/v2/silences?filter=%3D%3D", "bad matcher format"),
    ],
)
async def test_bad_parameters_are_400_with_alertmanagers_text(
    serve: Serve, path: str, says: str
) -> None:
    """A bad filter, flag or receiver regex is a 400 whose JSON-string body says why."""
    served = await serve()
    status, body = await served.call("GET", path)
    assert status == 400
    assert isinstance(body, str)
    assert body.startswith(says), body


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"matchers": []},
        _silence(matchers=[{"name": "a", "value": ".*", "isRegex": True}]),
        _silence(endsAt=iso(-60)),
        _silence(endsAt="tomorrow"),
        _silence(matchers=[{"name": "a", "value": "(", "isRegex": True}]),
    ],
)
async def test_bad_silences_are_400(serve: Serve, body: Any) -> None:
    """A silence Alertmanager would refuse is a 400 saying why, and nothing is stored."""
    served = await serve()
    status, answer = await _post(served, body)
    assert status == 400
    assert isinstance(answer, str), answer
    assert (await served.call("GET", "/api/v2/silences"))[1] == []


async def test_update_in_place_or_replace_as_alertmanager(serve: Serve) -> None:
    """Posting with an id: a new end or comment keeps the id; new matchers expire the old
    silence and make a new one; an unknown id is a 404 "silence not found". The v1 API
    sees the same store."""
    served = await serve()
    status, created = await _post(served, _silence())
    sid = created["silenceID"]
    status, one = await served.call("GET", f"/api/v2/silence/{sid}")
    changed = {k: one[k] for k in ("matchers", "startsAt", "createdBy")}
    status, same = await _post(
        served, {**changed, "id": sid, "endsAt": iso(7200), "comment": "longer"}
    )
    assert (status, same) == (200, {"silenceID": sid})
    status, again = await _post(
        served, _silence(id=sid, matchers=[{"name": "target", "value": "chat", "isRegex": False}])
    )
    assert status == 200
    assert again["silenceID"] != sid
    status, listed = await served.call("GET", "/api/v1/silences")
    states = {str(s["id"]): (s["status"]["state"], s["comment"]) for s in listed["data"]}
    assert states == {sid: ("expired", "longer"), again["silenceID"]: ("active", "maintenance")}
    for unknown in ("999", "8f3d1c2e-0000-4000-8000-000000000000"):
        status, answer = await _post(served, _silence(id=unknown))
        assert (status, answer) == (404, "silence not found")
        assert (await served.call("GET", f"/api/v2/silence/{unknown}"))[0] == 404
        assert (await served.call("DELETE", f"/api/v2/silence/{unknown}"))[0] == 404


async def test_alert_documents_and_receivers_follow_the_routes(serve: Serve) -> None:
    """An open incident is a gettableAlert with Alertmanager's fingerprint of its labels;
    silenced it is suppressed by that silence; status and receivers have their shapes."""
    served = await serve()
    status, _ = await served.call(
        "POST", "/api/v2/alerts", json=[{"labels": DOWN, "annotations": {"summary": "down"}}]
    )
    assert status == 200
    status, alerts = await served.call("GET", "/api/v2/alerts")
    (alert,) = alerts
    assert alert["labels"] == DOWN
    assert alert["annotations"] == {"summary": "down"}
    assert alert["receivers"] == [{"name": "aiwatch"}]
    assert alert["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": []}
    status, created = await _post(served, _silence())
    status, alerts = await served.call("GET", "/api/v2/alerts")
    assert alerts[0]["status"]["silencedBy"] == [created["silenceID"]]
    assert alerts[0]["status"]["state"] == "suppressed"
    assert (await served.call("GET", "/api/v2/alerts?silenced=false"))[1] == []
    assert (await served.call("GET", "/api/v2/alerts?receiver=nobody"))[1] == []
    status, groups = await served.call("GET", "/api/v2/alerts/groups")
    assert [(g["labels"], g["receiver"], len(g["alerts"])) for g in groups] == [
        ({}, {"name": "aiwatch"}, 1)
    ]
    status, state = await served.call("GET", "/api/v2/status")
    assert state["cluster"] == {"status": "disabled", "peers": []}
    assert state["config"]["original"].startswith("route:\n  receiver: aiwatch\n")
    assert (await served.call("GET", "/api/v2/receivers"))[1] == [{"name": "aiwatch"}]


async def test_amtool_with_a_user_in_the_url(serve: Serve, tmp_path: Path) -> None:
    """``amtool --alertmanager.url=http://USER:PASSWORD@…``: basic auth as documented; an
    admin adds a silence, a reader's add is refused."""
    served = await serve(admin_users=("alice",), web_config=write_web_config(tmp_path))
    host = served.url.removeprefix("http://")

    async def run(user: str, password: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            AMTOOL, f"--alertmanager.url=http://{user}:{password}@{host}",
            "silence", "add", "target=chat", "-c", "maint", "-a", user, "-d", "1h",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        return proc.returncode or 0, (out + err).decode()

    code, text = await run("alice", "alice-secret")
    assert code == 0, text
    code, text = await run("bob", "bob-secret")
    assert code != 0
    assert "403" in text, text
    _status, listed = await served.call("GET", "/api/v1/silences", headers=basic("bob"))
    assert [json.dumps(s["matchers"]) for s in listed["data"]] == ['["target=\\"chat\\""]']


async def test_acknowledged_stays_active_and_a_persons_resolve_removes_the_alert(
    serve: Serve,
) -> None:
    """An acknowledged incident is still an active alert; once a person resolves it, the
    alert is no longer listed (Alertmanager has no acknowledgement)."""
    served = await serve()
    status, _ = await served.call("POST", "/api/v2/alerts", json=[{"labels": DOWN}])
    assert status == 200
    status, listed = await served.call("GET", "/api/v1/incidents")
    incident_id = listed["data"][0]["id"]
    by = {"by": "alice"}
    path = f"/api/v1/incidents/{incident_id}"
    assert (await served.call("POST", path + "/acknowledge", json=by))[0] == 200
    status, alerts = await served.call("GET", "/api/v2/alerts")
    assert [a["status"]["state"] for a in alerts] == ["active"]
    assert (await served.call("POST", path + "/resolve", json=by))[0] == 200
    assert (await served.call("GET", "/api/v2/alerts"))[1] == []
