"""Crash soak: ``kill -9`` a working aiwatch again and again, then count what went wrong.

Three chat targets on one ``aiwatch mock-ai`` fail and recover on a seeded schedule (each
failure episode lasts 4–8 s, each healthy stretch 3–6 s). ``EndpointDown`` (no ``for``)
fires for a failing target and notifies a local receiver (Apprise ``json://``) on firing and
resolved. A client acknowledges firing incidents as soon as it sees them. The daemon is
killed with SIGKILL at a random moment 30 times (seeded) and started again each time on the
same address and storage. After the last cycle every endpoint recovers, one last daemon
resolves what is open and is stopped with SIGTERM, and the run prints:

* acknowledged writes lost — acknowledgements answered 200 that the database no longer has;
* incidents re-opened without a state change — more than one incident for one failure
  episode of an endpoint (or an incident during no failure at all);
* duplicate notifications — the same incident and event received more than once (a kill
  between Apprise's delivery and the write that marks it sent re-sends it once, by design);
* missing notifications — an incident without its ``firing`` message, or resolved by the
  rule without its ``resolved`` message;
* ``PRAGMA integrity_check`` after every kill and at the end.

Run: ``PYTHONPATH=src python bench/crash_soak.py [--cycles 30] [--seed 12]``; about 3 minutes;
everything listens on loopback ports and stops by itself.
"""

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from probe_throughput import free_port, machine

TARGETS = ("chat-a", "chat-b", "chat-c")
TITLE = re.compile(r"^\[(FIRING|RESOLVED)\] .*#(\d+)$")
RULES = """\
groups:
  - name: endpoints
    interval: 500ms
    rules:
      - alert: EndpointDown
        expr: max without (instance, job) (aiwatch_probe_success) == 0
        labels: {severity: critical}
"""


def http(method: str, url: str, body: Any = None, timeout: float = 5) -> tuple[int, Any]:
    """One JSON request; (status, decoded body); (0, None) when nothing answers."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, None
    except OSError:
        return 0, None
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


class Receiver:
    """The notification endpoint: every JSON payload, in arrival order, from a thread."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                del args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@dataclass
class Endpoints:
    """The mock's per-model failures, on a schedule drawn from a seeded generator."""

    mock: str
    rng: random.Random
    failing: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(TARGETS, False))
    next_flip: dict[str, float] = field(default_factory=dict)
    episodes: dict[str, list[list[float]]] = field(default_factory=lambda: {t: [] for t in TARGETS})

    def start(self, now: float) -> None:
        for target in TARGETS:
            self.next_flip[target] = now + self.rng.uniform(0.5, 4.0)

    def set(self, target: str, failing: bool, now: float) -> None:
        layer = {"fault": "server_error"} if failing else {}
        status, _ = http("POST", f"{self.mock}/_mock/behavior?model={target}", layer)
        assert status == 200, status
        self.failing[target] = failing
        if failing:
            self.episodes[target].append([now, float("inf")])
        else:
            self.episodes[target][-1][1] = now

    def tick(self, now: float) -> None:
        for target in TARGETS:
            if now < self.next_flip[target]:
                continue
            failing = not self.failing[target]
            self.set(target, failing, now)
            self.next_flip[target] = now + (
                self.rng.uniform(4.0, 8.0) if failing else self.rng.uniform(3.0, 6.0)
            )

    def recover_all(self, now: float) -> None:
        for target in TARGETS:
            if self.failing[target]:
                self.set(target, False, now)


def write_config(tmp: Path, mock: str, receiver: Receiver) -> Path:
    """aiwatch's config: three targets every 500 ms, the rule, one route."""
    (tmp / "rules.yml").write_text(RULES)
    targets = "".join(
        f"  - name: {t}\n    kind: openai_chat\n    url: {mock}/v1\n    model: {t}\n"
        "    interval: 500ms\n    timeout: 400ms\n"
        for t in TARGETS
    )
    path = tmp / "aiwatch.yml"
    path.write_text(
        "global:\n  evaluation_interval: 500ms\nrule_files: [rules.yml]\n"
        f"targets:\n{targets}"
        "notifications:\n  routes:\n    - name: oncall\n"
        f'      apprise: ["json://127.0.0.1:{receiver.port}/hook"]\n'
        "      events: [firing, resolved]\n"
    )
    return path


def start_daemon(config: Path, data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``aiwatch run`` on ``port``, once ready."""
    argv = [sys.executable, "-m", "aiwatch", "run", "--config.file", str(config)]
    argv += ["--web.listen-address", f"127.0.0.1:{port}", "--storage.path", str(data)]
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"aiwatch exited with {proc.returncode}; see {log}")
        if http("GET", f"http://127.0.0.1:{port}/-/ready", timeout=1)[0] == 200:
            return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"aiwatch never became ready; see {log}")


def acknowledge(url: str, acked: dict[int, str], who: str) -> None:
    """Acknowledge every firing incident; remember those answered 200."""
    status, body = http("GET", url + "/api/v1/incidents?state=firing", timeout=2)
    if status != 200 or body is None:
        return
    for incident in body["data"]:
        path = f"{url}/api/v1/incidents/{incident['id']}/acknowledge"
        if http("POST", path, {"by": who}, timeout=2)[0] == 200:
            acked[incident["id"]] = who


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def incidents(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM incidents ORDER BY id")]
    finally:
        conn.close()


def episode_of(endpoints: Endpoints, target: str, started: float) -> int | None:
    """The failure episode an incident that started at ``started`` belongs to (2 s of slack
    for the probe, the evaluation and the clock of the alert's ``fired_at``)."""
    for index, (begin, end) in enumerate(endpoints.episodes[target]):
        if begin - 0.5 <= started <= end + 2.0:
            return index
    return None


def analyse(
    db: Path, endpoints: Endpoints, receiver: Receiver, acked: dict[int, str]
) -> dict[str, int]:
    """The counts the run prints."""
    rows = incidents(db)
    by_id = {r["id"]: r for r in rows}
    lost = sum(1 for i, who in acked.items() if by_id.get(i, {}).get("acknowledged_by") != who)
    per_episode: Counter[tuple[str, int | None]] = Counter()
    for row in rows:
        target = json.loads(row["labels"]).get("target", "")
        per_episode[(target, episode_of(endpoints, target, row["started_at"]))] += 1
    reopened = sum(n - 1 for (_, ep), n in per_episode.items() if ep is not None)
    reopened += sum(n for (_, ep), n in per_episode.items() if ep is None)
    messages: Counter[tuple[int, str]] = Counter()
    for payload in receiver.received:
        match = TITLE.match(str(payload.get("title", "")))
        if match:
            messages[(int(match.group(2)), match.group(1))] += 1
    duplicates = sum(n - 1 for n in messages.values() if n > 1)
    missing = 0
    for row in rows:
        missing += (row["id"], "FIRING") not in messages
        if row["state"] == "resolved" and row["resolved_by"] == "rule":
            missing += (row["id"], "RESOLVED") not in messages
    return {
        "incidents": len(rows),
        "episodes": sum(len(e) for e in endpoints.episodes.values()),
        "acknowledgements": len(acked),
        "acknowledged writes lost": lost,
        "incidents re-opened without a state change": reopened,
        "duplicate notifications": duplicates,
        "missing notifications": missing,
        "open incidents at the end": sum(1 for r in rows if r["state"] != "resolved"),
    }


def soak(cycles: int, seed: int, tmp: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    receiver = Receiver()
    mock_port = free_port()
    mock = subprocess.Popen(
        [sys.executable, "-m", "aiwatch", "mock-ai", "--listen-address", f"127.0.0.1:{mock_port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    mock_url = f"http://127.0.0.1:{mock_port}"
    try:
        while http("GET", mock_url + "/_mock/behavior", timeout=1)[0] != 200:
            time.sleep(0.05)
        config = write_config(tmp, mock_url, receiver)
        data, log, port = tmp / "data", tmp / "aiwatch.log", free_port()
        url = f"http://127.0.0.1:{port}"
        endpoints = Endpoints(mock_url, rng)
        endpoints.start(time.time())
        acked: dict[int, str] = {}
        checks: list[str] = []
        for cycle in range(cycles):
            proc = start_daemon(config, data, port, log)
            until = time.monotonic() + rng.uniform(1.0, 5.0)
            while time.monotonic() < until:
                endpoints.tick(time.time())
                acknowledge(url, acked, f"oncall{cycle % 3}")
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            checks.append(integrity(data / "aiwatch.db"))
            endpoints.tick(time.time())  # a change may happen while aiwatch is down
            time.sleep(rng.uniform(0.0, 1.0))
        endpoints.recover_all(time.time())
        proc = start_daemon(config, data, port, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, body = http("GET", url + "/api/v1/incidents?state=open")
            if status == 200 and not body["data"]:
                break
            time.sleep(0.2)
        time.sleep(3)  # the last resolved messages
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        checks.append(integrity(data / "aiwatch.db"))
        result: dict[str, Any] = analyse(data / "aiwatch.db", endpoints, receiver, acked)
        result["integrity_check not ok"] = sum(1 for c in checks if c != "ok")
        result["integrity checks"] = len(checks)
        return result
    finally:
        mock.terminate()
        mock.wait(10)
        receiver.server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=30)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", help="work in this folder and keep it (logs, database)")
    args = parser.parse_args()
    print(machine())
    started = time.monotonic()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        result = soak(args.cycles, args.seed, Path(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="aiwatch-soak-") as tmp:
            result = soak(args.cycles, args.seed, Path(tmp))
    print(
        f"{args.cycles} SIGKILL/restart cycles, seed {args.seed}, "
        f"{time.monotonic() - started:.0f} s, load average {os.getloadavg()[0]:.1f}"
    )
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
