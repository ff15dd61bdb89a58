"""Rule groups evaluated in a forked child give what the thread path gives, and fail cleanly."""

import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from aiwatch.promql.engine import instant_query, parse
from aiwatch.promql.forking import AVAILABLE
from aiwatch.promql.limits import QueryLimits
from aiwatch.promql.runner import QueryRunner
from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules import forked
from aiwatch.rules.events import MemorySink
from aiwatch.rules.manager import ManagerOptions, RuleManager
from aiwatch.rules.model import GroupSpec, RuleSpec
from aiwatch.rules.query import LocalQuery
from tests.daemons import child_processes
from tests.promql.test_forking import _children
from tests.rules.test_query_limits import CONFIG, Daemon, daemons

__all__ = ["daemons"]  # the fixture, shared with the limits tests

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="needs os.fork")

MIN = 60_000
T0 = 1_800_000_000_000

RULES = (
    RuleSpec(kind="record", name="job:errors:sum", expr="sum by (job) (errors)"),
    # Reads the series the rule before it recorded at the same timestamp.
    RuleSpec(kind="record", name="job:errors:double", expr="job:errors:sum * 2"),
    RuleSpec(
        kind="alert",
        name="Errors",
        expr="job:errors:double > 0",
        for_s=60.0,
        labels=(("severity", "page"),),
        annotations=(
            ("summary", "{{ $labels.job }}: {{ $value }}"),
            ("total", '{{ with query "sum(errors)" }}{{ . | first | value }}{{ end }}'),
        ),
    ),
    # Fails at evaluation: many-to-many matching.
    RuleSpec(kind="record", name="broken", expr="errors + on() errors"),
    RuleSpec(kind="record", name="ones", expr="vector(1)"),
)


def _storage() -> MemoryStorage:
    """errors{job=a} rises from 0; errors{job=b} stays 0; one sample a minute."""
    storage = MemoryStorage()
    for i in range(8):
        storage.append({"__name__": "errors", "job": "a"}, T0 + i * MIN, float(max(0, i - 2)))
        storage.append({"__name__": "errors", "job": "b"}, T0 + i * MIN, 0.0)
    return storage


def _manager(storage: MemoryStorage, *, fork: bool) -> tuple[RuleManager, MemorySink]:
    query = LocalQuery(storage, runner=QueryRunner(QueryLimits(), fork=fork))
    sink = MemorySink()
    spec = GroupSpec(name="g", file="rules.yml", rules=RULES, interval_s=60.0)
    manager = RuleManager(
        [spec],
        query=query,
        appender=storage,
        sink=sink,
        template_query=query.for_templates,
        options=ManagerOptions(evaluation_interval_s=60.0),
    )
    manager.restore()
    return manager, sink


def _stored(storage: MemoryStorage, t_ms: int) -> list[tuple[dict[str, str], float]]:
    result = instant_query(parse('{__name__=~".+"}'), storage, t_ms)
    assert isinstance(result, list)
    return sorted(((s.labels, s.value) for s in result), key=lambda p: sorted(p[0].items()))


async def test_a_forked_group_gives_what_the_thread_path_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over eight evaluations the forked path and the thread path produce the same alert
    events, rule health and errors, and the same stored series (recordings that read an
    earlier rule's output, ``ALERTS``, staleness), with one fork per group evaluation."""
    forks = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting_fork)
    results = {}
    for fork in (True, False):
        storage = _storage()
        manager, sink = _manager(storage, fork=fork)
        group = manager.groups[0]
        health = []
        stored = []
        for i in range(8):
            t_ms = T0 + i * MIN + 1
            await manager.evaluate_group(group, t_ms)
            health.append([(r.name, r.health, r.last_error) for r in group.rules])
            stored.append(_stored(storage, t_ms))
        results[fork] = ([asdict(e) for e in sink.events], health, stored)
    assert len(forks) == 8
    assert results[True] == results[False]
    events, health, stored = results[True]
    assert [e["state"] for e in events if e["labels"]["job"] == "a"][:2] == ["pending", "firing"]
    assert events[-1]["annotations"]["total"] == "5"
    assert health[-1][3][1] == "err"
    assert "many-to-many" in (health[-1][3][2] or "")
    assert health[-1][4][1:] == ("ok", None)
    assert ({"__name__": "job:errors:double", "job": "a"}, 10.0) in stored[-1]
    assert _children() == []


def _dies_after_first(group: object, local: object, t_ms: int) -> Iterator[object]:
    yield ("ok", [])
    os.kill(os.getpid(), signal.SIGKILL)
    yield ("ok", [])


async def test_a_child_that_dies_fails_the_rest_of_the_group_with_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The child dies after the first rule's result: the first rule is healthy, every later
    rule fails naming the dead process and its signal, the parent logs one line, the next
    evaluation forks a fresh child, and no process is left behind."""
    storage = _storage()
    manager, _ = _manager(storage, fork=True)
    group = manager.groups[0]
    monkeypatch.setattr(forked, "outcomes", _dies_after_first)
    with caplog.at_level(logging.ERROR, logger="aiwatch.rules.forked"):
        await manager.evaluate_group(group, T0 + 1)
    assert group.rules[0].health == "ok"
    for rule in group.rules[1:]:
        assert rule.health == "err"
        assert "ended before its results: killed by signal 9" in (rule.last_error or "")
    assert group.failures_total == len(RULES) - 1
    assert [r.getMessage() for r in caplog.records] == ["Rule evaluation process died"]
    assert _children() == []
    monkeypatch.undo()
    await manager.evaluate_group(group, T0 + MIN + 1)
    assert [r.health for r in group.rules] == ["ok", "ok", "ok", "err", "ok"]


async def test_a_closed_runner_fails_the_group_as_cancelled() -> None:
    """After the runner is closed (shutdown), an evaluation forks nothing and its rules fail
    with Prometheus' cancellation message, as queries in threads do."""
    storage = _storage()
    manager, _ = _manager(storage, fork=True)
    runner = manager.query.runner  # type: ignore[attr-defined]
    runner.close()
    group = manager.groups[0]
    await manager.evaluate_group(group, T0 + 1)
    assert {r.last_error for r in group.rules} == {"query was canceled in expression evaluation"}


DAEMON_RULES = """\
groups:
  - name: fast
    interval: 1s
    rules:
      - record: probes:success:count
        expr: count(aiwatch_probe_success)
      - record: probes:success:double
        expr: probes:success:count * 2
"""


def test_a_daemon_records_through_children_freezes_start_up_and_leaves_no_process(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """A real daemon evaluating a 1 s group: a rule reading the series the rule before it
    recorded gets it (2 × the two targets), the start-up objects are frozen once every target
    was probed (one debug line), no zombie remains after many evaluations, and SIGTERM stops
    it with exit 0 leaving no process of it (a forked child has the daemon's command line)."""
    (tmp_path / "rules.yml").write_text(DAEMON_RULES)
    daemon = Daemon(tmp_path, "--log.level=debug", config=CONFIG + "rule_files: [rules.yml]\n")
    daemons.append(daemon)
    deadline = time.monotonic() + 30
    values: list[object] = []
    while time.monotonic() < deadline and values != ["4"]:
        time.sleep(0.5)
        _, body = daemon.query("probes:success:double")
        values = [s["value"][1] for s in body["data"]["result"]]  # type: ignore[index]
    assert values == ["4"]
    time.sleep(3)  # a few more evaluations
    assert [c for c in child_processes(daemon.proc.pid) if c[1] == "Z"] == []
    frozen = [line for line in daemon.log().splitlines() if "frozen for the collector" in line]
    assert len(frozen) == 1
    assert daemon.terminate() == 0
    assert _processes_naming(str(tmp_path)) == []


def _processes_naming(text: str) -> list[int]:
    """Processes whose command line holds ``text`` (a forked child keeps its parent's)."""
    out = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                out.append(int(cmdline.parent.name))
        except OSError:
            continue
    return out


async def test_a_refused_fork_fails_the_group_with_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When the system refuses the fork (no memory, too many processes) every rule of the
    group fails with that reason, one line is logged, and the next evaluation works again."""
    storage = _storage()
    manager, _ = _manager(storage, fork=True)
    group = manager.groups[0]

    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)
    with caplog.at_level(logging.ERROR, logger="aiwatch.rules.forked"):
        await manager.evaluate_group(group, T0 + 1)
    assert {r.last_error for r in group.rules} == {
        "cannot start an evaluation process: [Errno 11] Resource temporarily unavailable"
    }
    assert [r.getMessage() for r in caplog.records] == ["Cannot start a rule evaluation process"]
    monkeypatch.undo()
    await manager.evaluate_group(group, T0 + MIN + 1)
    assert [r.health for r in group.rules] == ["ok", "ok", "ok", "err", "ok"]
