"""The status page and badges: uptime from the hourly rollups, the bar, public mode."""

import re
import sqlite3
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aiwatch.app.keys import TARGET_STATES, UPTIME
from aiwatch.config import ConfigError, load_config
from aiwatch.status.uptime import percent
from aiwatch.status.web import flush
from tests.clock import FakeClock
from tests.incidents.conftest import basic, write_web_config

from .conftest import Serve, Served, result

START = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
"""Midnight UTC: the script's first day."""
PAGE = """\
web:
  admin_users: [alice]
  status_page:
    enabled: true
    title: Acme AI status
    public: {public}
    features: [captions]
"""
SVG = "{http://www.w3.org/2000/svg}"


def _attach_clock(served: Served, clock: FakeClock) -> None:
    served.app[UPTIME].clock = clock
    served.app[TARGET_STATES].clock = clock


async def _outage_script(served: Served, clock: FakeClock) -> None:
    """Three days of chat-primary probed every minute: day 1 all pass; day 2 fails from
    10:00 to 11:30 (90 of 1,440); day 3 passes but slowly (3 s, over its 2 s p95 objective)
    from 14:00 to 15:00. The counts are written to SQLite after each day but the last."""
    for day in range(3):
        for minute in range(1440):
            clock.t = START + day * 86400 + minute * 60
            failing = day == 1 and 600 <= minute < 690
            slow = day == 2 and 840 <= minute < 900
            duration = 3.0 if slow else 0.4
            served.probed(
                result("chat-primary", success=not failing, duration=duration, at=clock.t)
            )
        if day < 2:
            await flush(served.app)


def _rows(tmp_path: Path) -> list[tuple[int, int, int, int]]:
    conn = sqlite3.connect(tmp_path / "data" / "aiwatch.db")
    try:
        return conn.execute(
            "SELECT hour, probes, successes, degraded FROM uptime_rollups "
            "WHERE target = 'chat-primary' ORDER BY hour"
        ).fetchall()
    finally:
        conn.close()


def _expected(rows: list[tuple[int, int, int, int]], now: float, hours: int) -> str:
    current = int(now) // 3600 * 3600
    kept = [r for r in rows if current - (hours - 1) * 3600 <= r[0] <= current]
    return percent(sum(r[2] for r in kept) / sum(r[1] for r in kept))


async def test_uptime_figures_equal_what_the_rollups_say_after_an_outage(
    serve: Serve, tmp_path: Path
) -> None:
    """After a scripted outage on a fake clock, the page's and badges' uptime over 24 h, 7 d,
    30 d and 90 d are the stored hourly rows' passes ÷ probes, the bar marks the outage day
    down and the slow day degraded, and a restarted daemon shows the same figures."""
    served = await serve(PAGE.format(public="false"))
    clock = FakeClock(START)
    _attach_clock(served, clock)
    await _outage_script(served, clock)
    now = clock.t
    await flush(served.app)
    rows = _rows(tmp_path)
    assert sum(r[1] for r in rows) == 3 * 1440
    assert sum(r[1] - r[2] for r in rows) == 90
    assert sum(r[3] for r in rows) > 0  # the slow hour's passes were counted degraded
    windows = (("24h", 24), ("7d", 168), ("30d", 720), ("90d", 2160))
    expected = {w: _expected(rows, now, h) for w, h in windows}
    assert expected["24h"] == "100%"
    assert expected["7d"] == percent((4320 - 90) / 4320) == "97.92%"
    status, html = await served.call("GET", "/status")
    assert status == 200
    section = html[html.index("chat-primary") :]
    for window, figure in expected.items():
        assert f"<li>{window} <b>{figure}</b></li>" in section
    for window in ("24h", "7d", "30d", "90d"):
        _, svg = await served.call("GET", f"/badge/chat-primary/uptime.svg?window={window}")
        shown = ET.fromstring(svg).find(f"{SVG}title")
        assert shown is not None
        assert shown.text == f"chat-primary uptime {window}: {expected[window]}"
    bar = re.findall(r'<rect class="(\w+)" x="\d+" width="4" height="24"><title>([\d-]+):', section)
    by_date = {date: cls for cls, date in bar}
    assert by_date["2026-03-01"] == "up"
    assert by_date["2026-03-02"] == "down"  # 90 of 1,440 failed: more than 5 %
    assert by_date["2026-03-03"] == "degraded"
    assert by_date["2026-02-28"] == "none"
    assert len(bar) == 90
    # Another run of the daemon on the same storage reads the same rows.
    again = await serve(PAGE.format(public="false"))
    _attach_clock(again, clock)
    _, html_again = await again.call("GET", "/status")
    for window, figure in expected.items():
        assert (
            f"<li>{window} <b>{figure}</b></li>" in html_again[html_again.index("chat-primary") :]
        )


async def test_counts_not_yet_written_are_on_the_page_and_written_by_flush(
    serve: Serve, tmp_path: Path
) -> None:
    """The page adds the counts still in memory; ``flush`` writes them and leaves none."""
    served = await serve(PAGE.format(public="false"))
    clock = FakeClock(START)
    _attach_clock(served, clock)
    served.probed(result("chat-primary", success=True, at=clock.t))
    served.probed(result("chat-primary", success=False, at=clock.t))
    _, svg = await served.call("GET", "/badge/chat-primary/uptime.svg?window=24h")
    assert "50.00%" in svg
    assert _rows(tmp_path) == []
    await flush(served.app)
    assert _rows(tmp_path) == [(int(START), 2, 1, 0)]
    assert served.app[UPTIME].pending == {}


async def test_badges_are_valid_svg_with_an_accessible_title(serve: Serve) -> None:
    """Both badges parse as XML, are SVG with role=img, and their <title> says what they show;
    a target the page does not show, and a bad window, are refused."""
    served = await serve(PAGE.format(public="false"))
    served.probed(result("chat-primary", success=False))
    status, svg = await served.call("GET", "/badge/chat-primary/status.svg")
    assert status == 200
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == "chat-primary: down"
    assert root.get("aria-label") == "chat-primary: down"
    _, svg = await served.call("GET", "/badge/chat-primary/uptime.svg")
    title = ET.fromstring(svg).find(f"{SVG}title")
    assert title is not None
    assert title.text == "chat-primary uptime 30d: 0.00%"
    status, _ = await served.call("GET", "/badge/embed/status.svg")  # feature search: not shown
    assert status == 404
    status, _ = await served.call("GET", "/badge/chat-primary/uptime.svg?window=1y")
    assert status == 400


async def test_public_page_needs_no_credentials_and_shows_no_label_or_annotation(
    serve: Serve, tmp_path: Path
) -> None:
    """With public: true, /status and the badges answer without credentials; the page has
    the incident's title but none of its labels or annotations, nor the probe's error;
    other routes still ask for credentials."""
    served = await serve(PAGE.format(public="true"), web_config=write_web_config(tmp_path))
    alert = {
        "labels": {"alertname": "EndpointDown", "target": "chat-primary", "team": "sekrit-team"},
        "annotations": {"summary": "runbook at internal-wiki", "description": "annotext"},
    }
    status, body = await served.call("POST", "/api/v2/alerts", json=[alert], headers=basic("alice"))
    assert status == 200, body
    served.probed(result("chat-primary", success=False))
    status, html = await served.call("GET", "/status")
    assert status == 200
    assert "EndpointDown" in html
    for hidden in ("sekrit-team", "team=", "internal-wiki", "annotext", "HTTP 500", "<code>"):
        assert hidden not in html
    status, _ = await served.call("GET", "/badge/chat-primary/status.svg")
    assert status == 200
    status, _ = await served.call("GET", "/api/v1/targets")
    assert status == 401


async def test_private_page_asks_for_credentials_and_shows_labels(
    serve: Serve, tmp_path: Path
) -> None:
    """With public: false, /status needs a user like any read route, and shows labels."""
    served = await serve(PAGE.format(public="false"), web_config=write_web_config(tmp_path))
    alert = {"labels": {"alertname": "EndpointDown", "target": "chat-primary", "team": "t1"}}
    status, _ = await served.call("POST", "/api/v2/alerts", json=[alert], headers=basic("alice"))
    assert status == 200
    status, _ = await served.call("GET", "/status")
    assert status == 401
    status, _ = await served.call("GET", "/badge/chat-primary/status.svg")
    assert status == 401
    status, html = await served.call("GET", "/status", headers=basic("bob"))
    assert status == 200
    assert "<code>team=t1</code>" in html


async def test_the_page_is_off_by_default(serve: Serve) -> None:
    """Without web.status_page.enabled, /status and the badges answer 404."""
    served = await serve()
    for path in ("/status", "/badge/chat-primary/status.svg", "/badge/chat-primary/uptime.svg"):
        status, body = await served.call("GET", path)
        assert status == 404, path
        assert body["errorType"] == "not_found"


def test_config_names_unknown_targets_features_and_ttft_without_stream(tmp_path: Path) -> None:
    """A status page naming a target or feature that does not exist, and a TTFT objective on
    a target that does not stream, are config errors naming the key."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(
        "targets:\n"
        "  - {name: a, kind: http, url: 'http://127.0.0.1:9', slo: {ttft_p95: 1s}}\n"
        "web:\n  status_page: {enabled: true, targets: [b], features: [nope]}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    text = str(info.value)
    assert "targets[0].slo.ttft_p95: only for targets with stream: true" in text
    assert "web.status_page.targets[0]: no target named 'b'" in text
    assert "web.status_page.features[0]: no target has feature 'nope'" in text
