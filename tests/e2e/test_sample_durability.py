"""Local samples survive a SIGKILL of the daemon up to the last self-scrape."""

import os
import time
import urllib.parse
from pathlib import Path

from tests.e2e.conftest import Stack, http, wait_for
from tests.e2e.test_rules_in_daemon import config


def scalar(url: str, query: str, at: float | None = None) -> float:
    """The single value of an instant ``query`` (at ``at``), or NaN when it is empty."""
    params = {"query": query} | ({"time": f"{at:.3f}"} if at is not None else {})
    status, body = http("GET", url + "/api/v1/query?" + urllib.parse.urlencode(params))
    assert status == 200, body
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


def test_sigkill_loses_at_most_the_scrape_in_flight(stack: Stack, tmp_path: Path) -> None:
    """Killed with SIGKILL well before its first snapshot, a restarted daemon answers queries
    about the time of the kill with every self-scrape it had stored, but perhaps the last
    (whose write may have been in flight), from the write-ahead log."""
    mock = stack.mock_ai()
    storage = tmp_path / "data"
    path = config(tmp_path, mock)
    url, proc = stack.daemon(path, storage=storage)
    count = 'count_over_time(aiwatch_probe_success{target="chat"}[10m])'
    wait_for(lambda: scalar(url, count) >= 6, timeout=20, what="six self-scrapes", log=proc.log)
    before = scalar(url, count)
    newest = scalar(url, 'timestamp(aiwatch_probe_success{target="chat"})')
    proc.proc.kill()
    killed_at = time.time()
    proc.proc.wait(10)
    assert not (storage / "samples.snapshot").exists()  # only the log holds the samples
    assert os.listdir(storage / "wal")

    url, proc = stack.daemon(path, storage=storage)
    after = scalar(url, count, at=killed_at)
    assert after >= before - 1, proc.log()
    assert scalar(url, 'timestamp(aiwatch_probe_success{target="chat"})', at=killed_at) >= (
        newest - 0.5
    )
    assert scalar(url, "count_over_time(up[10m])", at=killed_at) >= before - 1
