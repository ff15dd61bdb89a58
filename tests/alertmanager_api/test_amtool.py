"""amtool against aiwatch, compared with the same commands against a real Alertmanager."""

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Pair, amtool, amtool_json, amtool_ok, until

FED = [
    ["alertname=QueryDown", "severity=critical", "target=captions-primary",
     "--annotation=summary=captions-primary is down"],
    ["alertname=QuerySlow", "severity=warning", "target=chat", "--annotation=summary=chat is slow"],
    ["alertname=QueryDown", "severity=critical", "target=chat", "team=ml"],
]  # fmt: skip


def _feed(pair: Pair, alerts: list[list[str]], selector: str, count: int) -> None:
    """``amtool alert add`` each alert to both servers; wait until both list them."""
    for url in pair.urls:
        for alert in alerts:
            amtool_ok(url, "alert", "add", *alert)
    for url in pair.urls:
        assert until(lambda u=url: len(amtool_json(u, "alert", "query", selector)) == count), url


def _view(alerts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must be the same on both servers, in the order they list them."""
    return [(a["fingerprint"], a["labels"], a["annotations"], a["status"]["state"]) for a in alerts]


def _names(simple: str) -> list[str]:
    """The Alertname column of amtool's simple alert output."""
    return [line.split()[0] for line in simple.splitlines()[1:] if line.strip()]


@pytest.mark.parametrize(
    "matchers",
    [
        [],
        ['alertname=~"Query.*"'],
        ["QueryDown"],
        ["severity=critical", 'alertname=~"Query.*"'],
        ['target!="chat"', 'alertname=~"Query.*"'],
        ['team=~"m."'],
        ['alertname="QuerySlow"', 'target!~"x.*"'],
        ['alertname="QuerySlow"', 'target!~"c.*"'],
        ['target=~"captions-\\w+"'],
    ],
)
def test_alert_query_lists_the_same_alerts_as_alertmanager(pair: Pair, matchers: list[str]) -> None:
    """``amtool alert query`` (json and simple output) lists the same alerts, with the same
    fingerprints, annotations and states, in the same order, as Alertmanager fed the same."""
    if matchers == []:
        _feed(pair, FED, 'alertname=~"Query.*"', 3)
    ours = amtool_json(pair.aiwatch, "alert", "query", *matchers)
    theirs = amtool_json(pair.alertmanager, "alert", "query", *matchers)
    assert _view(ours) == _view(theirs)
    assert bool(ours) == (matchers != ['alertname="QuerySlow"', 'target!~"c.*"'])
    simple = [_names(amtool_ok(u, "alert", "query", *matchers)) for u in pair.urls]
    assert simple[0] == simple[1]
    if matchers == ['alertname=~"Query.*"']:
        assert sorted(simple[0]) == ["QueryDown", "QueryDown", "QuerySlow"]
    if matchers == ['target!="chat"', 'alertname=~"Query.*"']:
        assert [a["labels"]["target"] for a in ours] == ["captions-primary"]


def _silence_view(silences: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            json.dumps(s["matchers"], sort_keys=True),
            s["comment"],
            s["createdBy"],
            s["status"]["state"],
        )
        for s in silences
    )


def test_silence_add_query_expire_as_in_alertmanager(pair: Pair) -> None:
    """``silence add`` mutes the matching alert on both servers (``alert query`` hides it,
    ``-s`` shows it suppressed by that silence); ``silence query`` shows the same matchers,
    comment and author; the silence is in ``/api/v1/silences``; ``silence expire`` ends it
    and the alert is listed again."""
    maint = [
        ["alertname=Maint", "target=db", "severity=warning"],
        ["alertname=Maint", "target=web"],
    ]
    _feed(pair, maint, "alertname=Maint", 2)
    ids = {}
    for url in pair.urls:
        out = amtool_ok(
            url, "silence", "add", 'alertname="Maint"', 'target=~"d.*"',
            "-c", "db maintenance", "-a", "alice", "-d", "1h",
        )  # fmt: skip
        ids[url] = out.strip()
    assert ids[pair.aiwatch].isdigit()
    queried = [amtool_json(u, "silence", "query", "alertname=Maint") for u in pair.urls]
    assert len(queried[0]) == 1
    assert _silence_view(queried[0]) == _silence_view(queried[1])
    assert queried[0][0]["id"] == ids[pair.aiwatch]

    for url in pair.urls:
        shown = amtool_json(url, "alert", "query", "alertname=Maint")
        assert [a["labels"]["target"] for a in shown] == ["web"], url
        muted = amtool_json(url, "alert", "query", "-s", "alertname=Maint")
        assert [a["labels"]["target"] for a in muted] == ["db"], url
        assert muted[0]["status"] == {
            "state": "suppressed", "silencedBy": [ids[url]], "inhibitedBy": [],
        } | ({"mutedBy": []} if "mutedBy" in muted[0]["status"] else {})  # fmt: skip
    simple = [amtool_ok(u, "silence", "query", "alertname=Maint") for u in pair.urls]
    assert [line.split()[1:3] for line in simple[0].splitlines()] == [
        line.split()[1:3] for line in simple[1].splitlines()
    ]

    status, body = pair.daemon.get("/api/v1/silences")
    v1 = {s["id"]: s for s in json.loads(body)["data"]}
    assert status == 200
    mine = v1[int(ids[pair.aiwatch])]
    assert mine["matchers"] == ['alertname="Maint"', 'target=~"d.*"']
    assert (mine["createdBy"], mine["comment"]) == ("alice", "db maintenance")

    for url in pair.urls:
        amtool_ok(url, "silence", "expire", ids[url])
    expired = [
        amtool_json(u, "silence", "query", "--expired", "alertname=Maint") for u in pair.urls
    ]
    assert _silence_view(expired[0]) == _silence_view(expired[1])
    assert [s["status"]["state"] for s in expired[0]] == ["expired"]
    for url in pair.urls:
        assert until(lambda u=url: len(amtool_json(u, "alert", "query", "alertname=Maint")) == 2)
    assert amtool_ok(pair.aiwatch, "silence", "query", "-q", "alertname=Maint").strip() == ""


def test_silence_import_as_in_alertmanager(pair: Pair, tmp_path: Path) -> None:
    """``silence query -o json`` then ``silence import`` of that file: each server makes new
    silences for the expired ones, with the same matchers, comments and authors; aiwatch
    also imports Alertmanager's export (unknown ids are made anew, as amtool retries). A
    silence filter names one of the silence's own matchers, as in Alertmanager: a regex
    filter does not match the values of equality matchers."""
    files = {}
    for n, url in enumerate(pair.urls):
        for matcher, comment in (("Imp1", "first"), ("Imp2", "second")):
            amtool_ok(url, "silence", "add", f"alertname={matcher}", "target!=canary",
                      "-c", comment, "-a", "bob", "-d", "2h")  # fmt: skip
        assert amtool_json(url, "silence", "query", 'alertname=~"Imp.*"') == []
        exported = amtool_ok(url, "silence", "query", "-o", "json", "target!=canary")
        files[url] = tmp_path / f"silences{n}.json"
        files[url].write_text(exported)
        for sid in amtool_ok(url, "silence", "query", "-q", "target!=canary").split():
            amtool_ok(url, "silence", "expire", sid)
    before = {u: json.loads(files[u].read_text()) for u in pair.urls}
    assert _silence_view(before[pair.aiwatch]) == _silence_view(before[pair.alertmanager])
    for url in pair.urls:
        done = amtool(url, "silence", "import", str(files[url]))
        assert done.returncode == 0, done.stderr
        new_ids = done.stdout.split()
        assert len(new_ids) == 2
        assert not set(new_ids) & {s["id"] for s in before[url]}
    after = [amtool_json(u, "silence", "query", "target!=canary") for u in pair.urls]
    assert _silence_view(after[0]) == _silence_view(after[1]) == _silence_view(before[pair.aiwatch])
    done = amtool(pair.aiwatch, "silence", "import", str(files[pair.alertmanager]))
    assert done.returncode == 0, done.stderr
    assert len(amtool_json(pair.aiwatch, "silence", "query", "target!=canary")) == 4


def test_status_config_and_cluster_show(pair: Pair) -> None:
    """``amtool config show`` prints a valid Alertmanager config; ``cluster show`` says the
    cluster is disabled, as an Alertmanager started without clustering does."""
    shown = amtool_ok(pair.aiwatch, "config", "show")
    assert "receiver: aiwatch" in shown
    for url in pair.urls:
        assert "Cluster Status:  disabled" in amtool_ok(url, "cluster", "show")


def test_check_config_is_a_local_command(tmp_path: Path) -> None:
    """``amtool check-config`` reads a file and asks no server: unaffected by aiwatch."""
    config = tmp_path / "am.yml"
    config.write_text('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
    done = amtool("http://127.0.0.1:9", "check-config", str(config))
    assert done.returncode == 0, done.stderr
    assert "SUCCESS" in done.stdout
