"""``bench/store.py --daemon``: a real ``aiwatch run`` on the benchmark's files, killed and
restarted, against ``aiwatch mock-ai`` (loopback ports, stops by itself)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from probe_throughput import free_port
from store import ROOT, config_text

SETTLE_S = 90
"""Seconds the daemon runs after it is ready before its RSS is read: the first probes, six
self-scrapes and a snapshot (every 60 s), so the figure includes a snapshot's slack."""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_ready(url: str, proc: subprocess.Popen[bytes], within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if proc.poll() is not None:
            sys.exit(f"aiwatch exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"aiwatch not ready within {within} s")


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _recovery_s(log: Path, start: int) -> str:
    found = re.findall(
        r"Restored local samples.*?seconds=([0-9.]+)", log.read_text(errors="replace")[start:]
    )
    return found[-1] if found else "?"


def _series_held(url: str) -> str:
    """How many series the daemon's store holds, from its query API."""
    query = urllib.parse.urlencode({"query": 'count({__name__=~".+"})'})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=60) as resp:
            result = json.load(resp)["data"]["result"]
    except (OSError, ValueError, KeyError) as err:
        return f"? ({err})"
    return f"{int(float(result[0]['value'][1])):,}" if result else "0"


def kill_and_restart(n: int, data: Path, tmp: Path, port: int) -> str:
    """Start a daemon listening on ``port`` on ``data``, SIGKILL it after ``SETTLE_S``,
    start it again: a report (with the series it restored and holds)."""
    mock_port = free_port()
    mock = _start(
        [sys.executable, "-m", "aiwatch", "mock-ai", "--listen-address", f"127.0.0.1:{mock_port}"],
        tmp / "mock.log",
    )
    config = tmp / "daemon.yml"
    config.write_text(config_text(n, f"http://127.0.0.1:{mock_port}", data))
    argv = [
        sys.executable, "-m", "aiwatch", "run", f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]  # fmt: skip
    log = tmp / "daemon.log"
    lines = []
    try:
        for attempt in ("start on the benchmark's files", "start after SIGKILL"):
            offset = log.stat().st_size if log.exists() else 0
            daemon = _start(argv, log)
            ready_s = _wait_ready(f"http://127.0.0.1:{port}", daemon, 300)
            time.sleep(SETTLE_S)
            rss = _rss_mb(daemon.pid)
            held = _series_held(f"http://127.0.0.1:{port}")
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(30)
            lines.append(
                f"daemon, {attempt}: ready after {ready_s:.1f} s (recovery "
                f"{_recovery_s(log, offset)} s), RSS {rss:,.0f} MB {SETTLE_S} s later "
                f"holding {held} series, then SIGKILL"
            )
    finally:
        mock.terminate()
        mock.wait(30)
    return "\n".join(lines)
