"""Alertmanager forwarding: Prometheus' resend rules, and a real Alertmanager receiving."""

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aiwatch.config.model import Alertmanager, Config
from aiwatch.notify.forward import AlertmanagerForwarder, Tracked, needs_sending
from aiwatch.rules.events import AlertEvent
from tests.daemons import DaemonProcess, free_port

from .conftest import Clock

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


def _config(*urls: str, resend_delay: float = 60.0, interval: float = 15.0) -> Config:
    config = Config(
        path="t.yml", alertmanager=Alertmanager(forward_to=urls, resend_delay=resend_delay)
    )
    glob = replace(config.global_, evaluation_interval=interval, external_labels={"region": "eu"})
    return replace(config, global_=glob)


def _event(state: str, ts: float, *, fired: float, resolved: float | None = None) -> AlertEvent:
    return AlertEvent(
        group="g",
        rule="EndpointDown",
        state=state,  # type: ignore[arg-type]
        labels={"alertname": "EndpointDown", "target": "captions", "severity": "critical"},
        annotations={"summary": "captions is down"},
        value=0.0,
        active_at=fired - 60,
        fired_at=fired,
        resolved_at=resolved,
        generator_url="http://aiwatch.test/graph",
        fingerprint="abc",
        evaluated_at=ts,
        changed=state != "firing" or ts == fired,
    )


def test_needs_sending_follows_prometheus() -> None:
    """Sent again after the resend delay, and at once when it resolves."""
    alert = Tracked(labels={}, annotations={}, starts_at=0.0, generator_url="", last_sent_at=100)
    assert not needs_sending(alert, 160.0, 60.0)
    assert needs_sending(alert, 160.1, 60.0)
    alert.resolved_at = 120.0
    assert needs_sending(alert, 121.0, 60.0)


async def test_resend_timing_and_valid_until(tmp_path: Path) -> None:
    """Firing: once per resend delay, endsAt = 4 × max(delay, interval); resolved: 15 min."""
    clock = Clock(1000.0)
    forwarder = AlertmanagerForwarder(
        config=lambda: _config("http://127.0.0.1:1", resend_delay=60.0, interval=90.0),
        clock=clock,
    )
    queue: list[dict[str, Any]] = forwarder._queue  # what would be POSTed
    await forwarder.alerts_changed([_event("firing", 1000.0, fired=1000.0)])
    assert len(queue) == 1
    assert queue[0]["endsAt"] == "1970-01-01T00:22:40.000Z"  # 1000 + 4 * 90
    assert queue[0]["labels"]["region"] == "eu"
    assert queue[0]["startsAt"] == "1970-01-01T00:16:40.000Z"
    await forwarder.alerts_changed([_event("firing", 1015.0, fired=1000.0)])
    await forwarder.alerts_changed([_event("firing", 1060.0, fired=1000.0)])
    assert len(queue) == 1
    await forwarder.alerts_changed([_event("firing", 1075.0, fired=1000.0)])
    assert len(queue) == 2
    await forwarder.alerts_changed([_event("resolved", 1090.0, fired=1000.0, resolved=1090.0)])
    assert len(queue) == 3
    assert queue[2]["endsAt"] == "1970-01-01T00:18:10.000Z"
    clock.now = 1140.0
    assert forwarder.resend_resolved() == 0
    clock.now = 1151.0
    assert forwarder.resend_resolved() == 1
    clock.now = 1090.0 + 15 * 60 + 1
    assert forwarder.resend_resolved() == 0
    assert forwarder._alerts == {}  # forgotten after 15 minutes


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager on a free loopback port, no clustering."""
    if not shutil.which(ALERTMANAGER):
        pytest.skip("prometheus-alertmanager is not installed")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n"
    )
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("wb")
    proc = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            f"--storage.path={tmp_path / 'am'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail((tmp_path / "alertmanager.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


async def _am_alerts(session: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    async with session.get(url + "/api/v2/alerts") as resp:
        resp.raise_for_status()
        return json.loads(await resp.text())  # type: ignore[no-any-return]


async def test_real_alertmanager_sees_firing_then_resolved(alertmanager: str) -> None:
    """The alert is active in Alertmanager while firing and resolved there afterwards."""
    forwarder = AlertmanagerForwarder(config=lambda: _config(alertmanager))
    now = time.time()
    async with aiohttp.ClientSession() as session:
        task = asyncio.create_task(forwarder.run(session))
        try:
            await forwarder.alerts_changed([_event("firing", now, fired=now - 1)])
            alerts: list[dict[str, Any]] = []
            for _ in range(100):
                alerts = await _am_alerts(session, alertmanager)
                if alerts:
                    break
                await asyncio.sleep(0.05)
            assert len(alerts) == 1
            assert alerts[0]["labels"] == {
                "alertname": "EndpointDown",
                "target": "captions",
                "severity": "critical",
                "region": "eu",
            }
            assert alerts[0]["status"]["state"] == "active"
            assert alerts[0]["annotations"] == {"summary": "captions is down"}
            assert alerts[0]["generatorURL"] == "http://aiwatch.test/graph"

            resolved_at = time.time()
            await forwarder.alerts_changed(
                [_event("resolved", resolved_at, fired=now - 1, resolved=resolved_at)]
            )
            for _ in range(100):
                alerts = await _am_alerts(session, alertmanager)
                if not alerts:
                    break
                await asyncio.sleep(0.05)
            assert alerts == []  # Alertmanager lists only unresolved alerts
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_daemon_forwards_rule_alerts_to_a_real_alertmanager(
    alertmanager: str, tmp_path: Path
) -> None:
    """A rule firing in ``aiwatch run`` shows in Alertmanager, and resolves there after."""
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n  - name: g\n    rules:\n"
        "      - alert: AlwaysOn\n        expr: vector(1)\n"
        "        labels: {severity: critical}\n"
        "        annotations: {summary: 'value {{ $value }}'}\n"
    )
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "global:\n  evaluation_interval: 1s\n  external_labels: {region: eu}\n"
        "rule_files: [rules.yml]\n"
        f"alertmanager:\n  forward_to: [{alertmanager}]\n  resend_delay: 1s\n"
    )
    daemon = DaemonProcess(config, tmp_path / "data")
    try:
        async with aiohttp.ClientSession() as session:
            await daemon.ready(session)
            alerts: list[dict[str, Any]] = []
            for _ in range(100):
                alerts = await _am_alerts(session, alertmanager)
                if alerts:
                    break
                await asyncio.sleep(0.1)
            assert [a["labels"] for a in alerts] == [
                {"alertname": "AlwaysOn", "severity": "critical", "region": "eu"}
            ], daemon.log()
            assert alerts[0]["annotations"] == {"summary": "value 1"}

            rules.write_text(
                "groups:\n  - name: g\n    rules:\n"
                "      - alert: AlwaysOn\n        expr: vector(1) unless vector(1)\n"
                "        labels: {severity: critical}\n"
            )
            async with session.post(daemon.url + "/-/reload") as resp:
                assert resp.status == 200, await resp.text()
            for _ in range(100):
                alerts = await _am_alerts(session, alertmanager)
                if not alerts:
                    break
                await asyncio.sleep(0.1)
            assert alerts == [], daemon.log()
    finally:
        daemon.kill()
