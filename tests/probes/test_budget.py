"""Probe budgets: when a day's tokens or USD are spent, probes pause until the next UTC day."""

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from aiwatch.config import load_config
from aiwatch.config.model import Budget, Target
from aiwatch.mockai import MOCK
from aiwatch.probes.budget import Budgets, day_of, next_day
from aiwatch.probes.exposition import render
from aiwatch.probes.report import target_entry
from aiwatch.probes.result import ProbeResult
from aiwatch.probes.scheduler import Scheduler, failed_result
from aiwatch.probes.series import ProbeSeries
from tests.cli import aiwatch
from tests.clock import FakeClock
from tests.probes.conftest import MakeConfig, mock_url, start_app

# 2027-01-15 22:00:00 UTC: two hours before a UTC midnight.
EVENING = 1_800_050_400.0
MIDNIGHT = next_day(EVENING)


def spent(target: Target, *, tokens: int, cost: float | None = None) -> ProbeResult:
    """A result that spent ``tokens`` output tokens (and ``cost`` USD)."""
    result = failed_result(target, error_type=None, error="", started=0.0, duration=0.0)
    return dataclasses.replace(result, success=True, output_tokens=tokens, cost_usd=cost)


def test_a_spent_budget_pauses_until_the_next_utc_day() -> None:
    """Tokens at the target's budget pause it; a global cost budget pauses every target; both
    start afresh at UTC midnight; remaining is the least of the two budgets."""
    assert MIDNIGHT - EVENING == 2 * 3600
    a = Target("a", "openai_chat", "u", 60, 5, budget=Budget(tokens_per_day=100))
    b = Target("b", "openai_chat", "u", 60, 5)
    budgets = Budgets()
    budgets.overall = Budget(cost_per_day=0.01)
    budgets.spend(a, spent(a, tokens=60, cost=0.002), EVENING)
    assert budgets.exhausted(a, EVENING) is None
    assert budgets.remaining(a, EVENING) == {"tokens": 40.0, "usd": pytest.approx(0.008)}
    budgets.spend(a, spent(a, tokens=40, cost=0.002), EVENING + 1)
    assert budgets.exhausted(a, EVENING + 2) == (
        "budget tokens_per_day 100 spent (100 tokens today)"
    )
    assert budgets.remaining(a, EVENING + 2)["tokens"] == 0.0
    assert budgets.exhausted(b, EVENING + 2) is None
    budgets.spend(b, spent(b, tokens=5, cost=0.007), EVENING + 3)
    reason = budgets.exhausted(b, EVENING + 4)
    assert reason is not None
    assert reason.startswith("global.budget cost_per_day 0.01 USD spent")
    assert budgets.remaining(b, EVENING + 4) == {"usd": 0.0}
    assert day_of(MIDNIGHT) == day_of(EVENING) + 1
    assert budgets.exhausted(a, MIDNIGHT) is None
    assert budgets.exhausted(b, MIDNIGHT) is None
    assert budgets.remaining(a, MIDNIGHT) == {"tokens": 100.0, "usd": 0.01}


def settled(scheduler: Scheduler) -> Any:
    """An awaitable: every probe the scheduler has started has finished (in real time)."""

    async def wait() -> None:
        tasks = [e.task for e in scheduler.entries.values() if e.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    return wait


async def test_scheduled_probes_pause_when_spent_and_resume_the_next_day(
    mock_ai: TestServer, make_config: MakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """A target spending 5 tokens a probe under a 12-token budget: 3 probes, then nothing
    reaches mock-ai until UTC midnight (the targets API says paused: budget, the gauge says 0,
    one log line says why); after midnight it probes again with the budget back."""
    behavior = {"input_tokens": 2, "output_tokens": 3}
    config = make_config(
        [
            {
                "name": "metered",
                "kind": "openai_chat",
                "url": mock_url(mock_ai),
                "model": "metered",
                "interval": "10m",
                "timeout": "5s",
                "request": {"mock": behavior},
                "budget": {"tokens_per_day": 12},
            }
        ]
    )
    (target,) = config.targets
    series = ProbeSeries()
    clock = FakeClock(EVENING)
    scheduler = Scheduler(series=series, clock=clock)
    await scheduler.update(config.targets)
    assert series.targets["metered"].budget == {"tokens": 12.0}
    scheduler.start()
    caplog.set_level(logging.WARNING, logger="aiwatch.probes")
    stats = mock_ai.app[MOCK].stats
    await clock.advance(3600.0, settle=settled(scheduler))  # 6 slots in the hour
    entry = scheduler.entries["metered"]
    assert stats["requests"] == 3
    assert entry.paused == "budget tokens_per_day 12 spent (15 tokens today)"
    assert 'aiwatch_probe_budget_remaining{target="metered"' in render(series).decode()
    assert series.targets["metered"].budget == {"tokens": 0.0}
    api = target_entry(
        target,
        labels={},
        shard=0,
        member=True,
        last=entry.last,
        next_due=None,
        probes=entry.runs,
        skipped=0,
        paused=entry.paused,
    )
    assert api["paused"] == "budget"
    await clock.advance(MIDNIGHT - clock.now() - 1.0, settle=settled(scheduler))
    assert stats["requests"] == 3, "nothing is sent while paused"
    paused_lines = [r.getMessage() for r in caplog.records if "paused" in r.getMessage()]
    assert paused_lines == [
        "Probes of target metered paused until 2027-01-16T00:00:00Z: "
        "budget tokens_per_day 12 spent (15 tokens today)"
    ]
    await clock.advance(3600.0, settle=settled(scheduler))
    await scheduler.stop()
    assert stats["requests"] == 6, "the next day: 3 more probes, then paused again"
    assert series.targets["metered"].skipped == 0
    assert series.targets["metered"].probes["success"] == 6


def test_check_config_warns_about_a_budget_the_worst_case_spends(tmp_path: Path) -> None:
    """interval × max_tokens × price over the budget, per target (anthropic_messages with its
    default max_tokens) and for global.budget, and a budget with no max_tokens: WARNING lines,
    exit 0."""
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "global:\n"
        "  budget: {cost_per_day: 0.5}\n"
        "targets:\n"
        "  - name: chat\n"
        "    kind: openai_chat\n"
        "    url: http://127.0.0.1:9532/v1\n"
        "    model: m\n"
        "    interval: 30s\n"
        "    request: {max_tokens: 64}\n"
        "    price: {output_per_million: 10}\n"
        "    budget: {tokens_per_day: 100000}\n"
        "  - name: open-ended\n"
        "    kind: openai_chat\n"
        "    url: http://127.0.0.1:9532/v1\n"
        "    model: m\n"
        "    budget: {cost_per_day: 1}\n"
        "  - name: claude\n"
        "    kind: anthropic_messages\n"
        "    url: http://127.0.0.1:9532/v1\n"
        "    model: m\n"
        "    interval: 1m\n"
        "    budget: {tokens_per_day: 1000}\n"
    )
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 4, result.stdout
    # 2,880 probes × 64 tokens = 184,320 tokens; × 10 USD per million = 1.84 USD.
    assert (
        f"WARNING: {config}:11:13: targets[0].budget: worst case a day (2,880 probes × "
        "max_tokens 64): 184,320 tokens > tokens_per_day 100,000; probes will pause before "
        "the day ends"
    ) in warnings
    assert (
        f"WARNING: {config}:16:13: targets[1].budget: request sets no max_tokens: the worst "
        "case of a probe is unbounded"
    ) in warnings
    # anthropic_messages sends max_tokens 256 when request sets none: 1,440 × 256.
    assert any(
        "targets[2].budget: worst case a day (1,440 probes × max_tokens 256): 368,640 tokens" in w
        for w in warnings
    ), warnings
    assert any(
        "global.budget: worst case a day of all targets together: 1.843 USD > cost_per_day 0.5" in w
        for w in warnings
    ), warnings


def test_the_budget_example_of_the_docs_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe-budget example of docs/probes.md loads, with both budgets as written."""
    doc = (Path(__file__).parents[2] / "docs" / "probes.md").read_text()
    (example,) = [b for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if "budget:" in b]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-example")
    path = tmp_path / "aiwatch.yml"
    path.write_text(example)
    config = load_config(str(path))
    assert config.global_.budget == Budget(cost_per_day=5)
    assert config.targets[0].budget == Budget(tokens_per_day=50000, cost_per_day=0.5)


async def test_the_daemon_pauses_a_spent_target_in_its_api_and_metrics(
    mock_ai: TestServer, make_config: MakeConfig, aiohttp_server: Callable[..., Any]
) -> None:
    """The daemon, real clock: a 1-token budget is spent by the first probe; then the targets
    API says paused: budget, /metrics says 0 tokens remaining, and mock-ai gets nothing more."""
    config = make_config(
        [
            {
                "name": "tiny",
                "kind": "openai_chat",
                "url": mock_url(mock_ai),
                "model": "tiny",
                "interval": "300ms",
                "timeout": "250ms",
                "budget": {"tokens_per_day": 1},
            }
        ]
    )
    server, url = await start_app(aiohttp_server, config)
    stats = mock_ai.app[MOCK].stats
    try:
        async with aiohttp.ClientSession() as http:
            target: dict[str, Any] = {}
            for _ in range(50):  # up to 5 s
                async with http.get(f"{url}/api/v1/targets") as r:
                    (target,) = (await r.json())["data"]["targets"]
                if target["paused"] == "budget":
                    break
                await asyncio.sleep(0.1)
            assert target["paused"] == "budget", target
            assert target["paused_reason"].startswith("budget tokens_per_day 1 spent")
            sent = stats["requests"]
            assert sent >= 1
            await asyncio.sleep(0.9)  # three more slots
            assert stats["requests"] == sent
            async with http.get(f"{url}/metrics") as r:
                text = await r.text()
        assert 'aiwatch_probe_budget_remaining{target="tiny"' in text
        line = next(x for x in text.splitlines() if x.startswith("aiwatch_probe_budget_remaining"))
        assert line.endswith('unit="tokens"} 0.0')
    finally:
        await server.close()
