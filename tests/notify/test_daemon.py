"""Notifications in a real daemon: latency, a crash with a full outbox, a graceful stop."""

import asyncio
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.daemons import DaemonProcess

from .conftest import Receiver

TITLE = re.compile(r"^\[FIRING\] Load(\d+) ")


def _write_config(tmp_path: Path, receiver: Receiver) -> Path:
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "global:\n"
        "  evaluation_interval: 1s\n"
        "  external_url: http://aiwatch.test:9531\n"
        "notifications:\n"
        "  routes:\n"
        "    - name: hook\n"
        f'      apprise: ["{receiver.url("hook")}"]\n'
        "      events: [firing]\n"
    )
    return config


def _alerts(n: int, offset: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "labels": {"alertname": f"Load{i}", "severity": "critical", "job": "fault"},
            "annotations": {"summary": f"alert {i}"},
            "generatorURL": "http://prometheus.test/graph",
        }
        for i in range(offset, offset + n)
    ]


def _delivered(receiver: Receiver) -> Counter[str]:
    return Counter(m.group(1) for p in receiver.received if (m := TITLE.match(p["title"])))


@pytest.fixture
async def daemons(tmp_path: Path) -> AsyncIterator[Callable[[Path], DaemonProcess]]:
    """Start daemons sharing one storage directory; all are killed afterwards."""
    started: list[DaemonProcess] = []

    def start(config: Path) -> DaemonProcess:
        daemon = DaemonProcess(config, tmp_path / "data")
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


async def _until(check: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def _drained(daemon: DaemonProcess, session: aiohttp.ClientSession, within: float) -> None:
    """Wait until a delivery pass has ended with nothing left in the outbox: from then on
    nothing can be sent again (a duplicate would have been a row still pending)."""
    deadline = time.monotonic() + within
    while await daemon.metric(session, "aiwatch_notification_queue_length") != 0:
        assert time.monotonic() < deadline, daemon.log()
        await asyncio.sleep(0.05)


async def test_firing_alert_is_delivered_within_two_seconds(
    tmp_path: Path, receiver: Receiver, daemons: Callable[[Path], DaemonProcess]
) -> None:
    """From the alert arriving to the message arriving: well under 2 s."""
    daemon = daemons(_write_config(tmp_path, receiver))
    async with aiohttp.ClientSession() as session:
        await daemon.ready(session)
        started = time.monotonic()
        await daemon.post_alerts(session, _alerts(1))
        assert await _until(lambda: bool(receiver.received), 5.0), daemon.log()
        elapsed = time.monotonic() - started
    print(f"alert to delivery: {elapsed:.3f}s")
    assert elapsed < 2.0
    body = receiver.received[0]["message"]
    assert "alert 0" in body
    assert "http://aiwatch.test:9531/api/v1/incidents/" in body
    assert "Page: http://aiwatch.test:9531/incidents/" in body
    assert "Source: http://prometheus.test/graph" in body


async def test_sigkill_with_200_queued_delivers_all_once_after_restart(
    tmp_path: Path, receiver: Receiver, daemons: Callable[[Path], DaemonProcess]
) -> None:
    """200 notifications queued behind a failing receiver survive SIGKILL, none twice."""
    config = _write_config(tmp_path, receiver)
    receiver.fail_next = 10**9
    first = daemons(config)
    async with aiohttp.ClientSession() as session:
        await first.ready(session)
        await first.post_alerts(session, _alerts(200))
        assert await _until(lambda: receiver.attempts >= 200, 30.0), first.log()
        # The gauge is refreshed when the delivery pass that made those attempts ends.
        deadline = time.monotonic() + 10.0
        queued = await first.metric(session, "aiwatch_notification_queue_length")
        while queued != 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            queued = await first.metric(session, "aiwatch_notification_queue_length")
        await first.stop(signal.SIGKILL)
        assert queued == 200
        assert receiver.received == []

        receiver.fail_next = 0
        second = daemons(config)
        await second.ready(session)
        assert await _until(lambda: len(_delivered(receiver)) >= 200, 60.0), second.log()
        await _drained(second, session, 30.0)
        delivered = _delivered(receiver)
        assert sorted(delivered) == sorted(str(i) for i in range(200))
        assert set(delivered.values()) == {1}
        assert await second.metric(session, "aiwatch_notification_queue_length") == 0


async def test_sigterm_with_a_pending_queue_exits_fast_and_keeps_it(
    tmp_path: Path, receiver: Receiver, daemons: Callable[[Path], DaemonProcess]
) -> None:
    """A stop while deliveries hang takes under 10 s, and the next start sends the rest."""
    config = _write_config(tmp_path, receiver)
    receiver.delay = 6.0  # longer than Apprise's own read timeout (4 s): deliveries hang
    first = daemons(config)
    async with aiohttp.ClientSession() as session:
        await first.ready(session)
        await first.post_alerts(session, _alerts(20))
        assert await _until(lambda: receiver.attempts >= 1, 10.0), first.log()
        took = await first.stop(signal.SIGTERM)
        print(f"SIGTERM to exit: {took:.2f}s")
        assert took < 10.0
        assert first.proc.returncode == 0, first.log()

        receiver.delay = 0.0
        received_before = len(receiver.received)
        second = daemons(config)
        await second.ready(session)
        assert await _until(lambda: len(_delivered(receiver)) >= 20, 30.0), second.log()
        assert len(receiver.received) >= received_before
        assert sorted(_delivered(receiver)) == sorted(str(i) for i in range(20))


async def test_rule_alert_is_delivered_within_an_evaluation_interval_plus_two_seconds(
    tmp_path: Path, receiver: Receiver, daemons: Callable[[Path], DaemonProcess]
) -> None:
    """A rule that fires at once reaches people within evaluation_interval + 2 s of start."""
    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n"
        "      - alert: Load0\n        expr: vector(1)\n"
        "        labels: {severity: critical}\n"
        "        annotations: {summary: 'value {{ $value }}'}\n"
    )
    config = _write_config(tmp_path, receiver)
    config.write_text(config.read_text() + "rule_files: [rules.yml]\n")
    daemon = daemons(config)
    async with aiohttp.ClientSession() as session:
        await daemon.ready(session)
        started = time.monotonic()
        assert await _until(lambda: bool(receiver.received), 10.0), daemon.log()
        elapsed = time.monotonic() - started
        print(f"ready to delivery: {elapsed:.3f}s")
        assert elapsed < 1.0 + 2.0
        assert receiver.received[0]["message"].startswith("value 1")
        # The receiver holds the request before the daemon has its answer: the delivery is
        # counted once that arrives, so the page is read until the pass has counted it.
        sent = 'aiwatch_notifications_total{result="sent",route="hook"} 1.0'
        deadline = time.monotonic() + 10.0
        while True:
            async with session.get(daemon.url + "/metrics") as resp:
                page = await resp.text()
            if sent in page or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
    assert sent in page
    assert "aiwatch_notification_queue_length 0.0" in page
    assert "aiwatch_notification_latency_seconds_count 1.0" in page


async def test_receiver_failing_then_recovering_gets_each_exactly_once(
    tmp_path: Path, receiver: Receiver, daemons: Callable[[Path], DaemonProcess]
) -> None:
    """Two rounds of 500s, then recovery: each of 10 notifications arrives exactly once."""
    receiver.fail_next = 20
    daemon = daemons(_write_config(tmp_path, receiver))
    async with aiohttp.ClientSession() as session:
        await daemon.ready(session)
        await daemon.post_alerts(session, _alerts(10))
        assert await _until(lambda: len(_delivered(receiver)) >= 10, 20.0), daemon.log()
        await _drained(daemon, session, 30.0)
        async with session.get(daemon.url + "/metrics") as resp:
            page = await resp.text()
    delivered = _delivered(receiver)
    assert sorted(delivered) == sorted(str(i) for i in range(10))
    assert set(delivered.values()) == {1}
    assert receiver.attempts == 30
    assert 'aiwatch_notifications_total{result="failed",route="hook"} 20.0' in page
    assert 'aiwatch_notifications_total{result="sent",route="hook"} 10.0' in page
