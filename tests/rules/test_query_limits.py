"""Query limits in a real daemon: the PromQL bombs of a hostile reader, and a rule at a limit.

The three bombs are those of issue 19: a subquery of 86 million steps, a nested subquery over
every series, and a backtracking regex in ``label_replace`` (linear since regexes are RE2).

Each bomb gets an error within ``--query.timeout`` while a poller asks ``/-/healthy`` every
20 ms; the poller's worst answer shows whether the event loop was held.
"""

import http.client
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemons import DaemonProcess

CONFIG = """\
global:
  probe_interval: 1s
  evaluation_interval: 1s
targets:
  - {name: a, kind: http, url: 'http://127.0.0.1:9/a'}
  - {name: b, kind: http, url: 'http://127.0.0.1:9/b'}
"""

NESTED = 'max_over_time((max_over_time(({__name__=~".+"})[2h:1s]))[2h:1s])'
"""Issue 19's second bomb: 7,201 × 7,201 selections of every series; over 10 minutes before."""


class Daemon(DaemonProcess):
    """``aiwatch run`` on a free loopback port with ``config``, ready; answers read as JSON."""

    def __init__(self, tmp: Path, *extra: str, config: str = CONFIG) -> None:
        (tmp / "aiwatch.yml").write_text(config)
        super().__init__(tmp / "aiwatch.yml", tmp / "data", *extra)
        self.wait_ready()

    def get_json(self, path: str, timeout: float = 30.0) -> tuple[int, dict[str, object] | str]:
        """GET ``path``: status and JSON body (text when it is not JSON)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def query(self, expr: str, timeout: float = 30.0) -> tuple[int, dict[str, object] | str]:
        """``GET /api/v1/query?query=expr``."""
        return self.get_json("/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout)

    def rss_mb(self) -> float:
        """Resident memory of the daemon, MB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[Daemon]]:
    """Daemons a test started, killed afterwards."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


class Poller:
    """``GET /-/healthy`` every 20 ms on one connection, in a thread; the answer times."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.times: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> "Poller":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                conn.request("GET", "/-/healthy")
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    self.failures.append(f"status {response.status}")
            except (OSError, http.client.HTTPException) as err:
                self.failures.append(repr(err))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
            self.times.append(time.monotonic() - started)
            self._stop.wait(max(0.0, 0.02 - (time.monotonic() - started)))
        conn.close()

    def report(self) -> tuple[float, float]:
        """(p99, max) answer time in ms."""
        ms = sorted(t * 1000 for t in self.times)
        return ms[int(0.99 * (len(ms) - 1))], ms[-1]


def _filled(daemon: Daemon) -> None:
    """Wait until the store holds a few self-scrapes, so selections have work to do."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, body = daemon.query('count({__name__=~".+"})')
        assert status == 200, body
        assert isinstance(body, dict)
        result = body["data"]["result"]  # type: ignore[index]
        if result and float(result[0]["value"][1]) > 100:
            return
        time.sleep(0.5)
    raise AssertionError("the store did not fill")


BOMBS = [
    pytest.param(
        (
            "sum_over_time(vector(1)[1000d:1s])",
            400,
            "bad_data",
            "steps, more than the limit of 11000",
        ),
        id="86-million-step-subquery",
    ),
    pytest.param(
        (NESTED, 503, "timeout", "query timed out in expression evaluation"),
        id="nested-subquery",
    ),
    pytest.param(
        (
            'label_replace(label_replace(vector(1), "v", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "", ""),'
            ' "w", "$1", "v", "(a+)+$")',
            200,
            "",
            "",
        ),
        id="backtracking-regex",
    ),
]


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_query_bomb_answers_an_error_in_time_and_the_daemon_keeps_serving(
    tmp_path: Path, daemons: list[Daemon], bomb: tuple[str, int, str, str]
) -> None:
    """With ``--query.timeout=2s`` the bomb is answered with Prometheus' status, type and
    words within the timeout (and a second of slack); meanwhile ``/-/healthy`` never takes
    a second (it took the whole bomb before), and resident memory grows under 200 MB."""
    expr, status, error_type, error = bomb
    daemon = Daemon(tmp_path, "--query.timeout=2s")
    daemons.append(daemon)
    _filled(daemon)
    rss_before = daemon.rss_mb()
    with Poller(daemon.port) as poller:
        time.sleep(0.3)
        started = time.monotonic()
        got_status, body = daemon.query(expr)
        took = time.monotonic() - started
        time.sleep(0.3)
    rss_growth = daemon.rss_mb() - rss_before
    p99, worst = poller.report()
    print(f"\n{expr}: {got_status} in {took:.2f} s; /-/healthy p99 {p99:.1f} ms, "
          f"max {worst:.1f} ms, {len(poller.times)} answers; RSS +{rss_growth:.0f} MB")  # fmt: skip
    if status == 200:  # RE2 matches in linear time: an answer, at once
        assert got_status == 200, body
        assert body["data"]["result"][0]["metric"] == {"v": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}  # type: ignore[index]
        assert took < 0.5
    else:
        assert (got_status, body) == (
            status,
            {"status": "error", "errorType": error_type, "error": body["error"]},  # type: ignore[index]
        )
        assert error in str(body["error"])  # type: ignore[index]
    assert took < 3.0
    assert not poller.failures, poller.failures[:3]
    assert worst < 1000, f"/-/healthy took {worst:.0f} ms: the loop was held"
    assert rss_growth < 200


def test_sigterm_during_a_running_bomb_stops_the_daemon_promptly(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """SIGTERM while a query with a long timeout runs: the query is cancelled and the daemon
    exits 0 well within its 10 s shutdown timeout (before, only SIGKILL ended it)."""
    daemon = Daemon(tmp_path, "--query.timeout=5m")
    daemons.append(daemon)
    _filled(daemon)
    answers: list[object] = []
    client = threading.Thread(target=lambda: answers.append(daemon.query(NESTED, timeout=60)))
    client.start()
    time.sleep(1.5)
    assert client.is_alive(), answers
    started = time.monotonic()
    os.kill(daemon.proc.pid, signal.SIGTERM)
    code = daemon.proc.wait(15)
    took = time.monotonic() - started
    client.join(15)
    print(f"\nexit {code} {took:.2f} s after SIGTERM; the client got {answers!r:.120}")
    assert code == 0, daemon.log()
    assert took < 5.0


RULES = """\
groups:
  - name: heavy
    interval: 1s
    rules:
      - record: every_series
        expr: count({__name__=~".+"})
      - record: one
        expr: vector(1)
"""


def test_a_rule_at_max_samples_logs_one_line_and_counts_a_failure(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """With ``--query.max-samples=20`` a rule selecting every series fails with Prometheus'
    words: one log line naming rule, group and error per evaluation, the failure counter
    grows, the rule's lastError says why, and the group's other rule still records. An API
    query over the same limit is a 422 ``execution`` error."""
    (tmp_path / "rules.yml").write_text(RULES)
    config = CONFIG + "rule_files: [rules.yml]\n"
    daemon = Daemon(tmp_path, "--query.max-samples=20", config=config)
    daemons.append(daemon)
    message = "query processing would load too many samples into memory in query execution"
    deadline = time.monotonic() + 20
    failures = 0.0
    while time.monotonic() < deadline and failures < 2:
        time.sleep(0.5)
        _, metrics = daemon.get_json("/metrics")
        for line in str(metrics).splitlines():
            if line.startswith('aiwatch_rule_evaluation_failures_total{rule_group="heavy"}'):
                failures = float(line.split()[-1])
    assert failures >= 2
    status, rules = daemon.get_json("/api/v1/rules")
    assert status == 200
    by_name = {r["name"]: r for r in rules["data"]["groups"][0]["rules"]}  # type: ignore[index]
    assert by_name["every_series"]["health"] == "err"
    assert by_name["every_series"]["lastError"] == message
    assert by_name["one"]["health"] == "ok"
    assert daemon.query("one")[1]["data"]["result"]  # type: ignore[index]
    lines = [line for line in daemon.log().splitlines() if "query limit" in line]
    assert len(lines) >= 2
    assert "rule=every_series" in lines[0]
    assert "group=heavy" in lines[0]
    assert message in lines[0]
    assert not any("rule=one" in line for line in lines)
    status, body = daemon.query('count({__name__=~".+"})')
    assert (status, body) == (422, {"status": "error", "errorType": "execution", "error": message})
