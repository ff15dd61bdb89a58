"""200 random expressions of the differential test: ``promtool query range`` at the daemon's
app gives, at every step, what aiwatch's evaluator gives directly at that time."""

import asyncio
import json
import math
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from aiwatch.app.build import COMPONENTS, make_app
from aiwatch.app.keys import READY, RULE_STORAGE
from aiwatch.config import load_config
from aiwatch.promql import STALE_NAN, PromQLError, Scalar, instant_query
from aiwatch.runtime import ConfigState, Options
from tests.promql.differential import make_series
from tests.promql.grammar import Grammar

SEED = 20261206
EXPRESSIONS = 200
INTERVAL_S = 60
START_S = 12 * INTERVAL_S + 7.25  # not on the step grid
STEP_S = 2 * INTERVAL_S
POINTS = 12

PROMTOOL = shutil.which("promtool")


def _expressions(rng: random.Random) -> list[str]:
    end_s = START_S + (POINTS - 1) * STEP_S
    out: list[str] = []
    while len(out) < EXPRESSIONS:
        grammar = Grammar(rng, max_eval_s=round(end_s))
        depth = rng.choice((1, 2, 2, 3))
        expr = grammar.vector(depth) if rng.random() < 0.9 else grammar.scalar(2)
        if expr not in out:
            out.append(expr)
    return out


def _direct(storage: Any, expr: str) -> dict[tuple[tuple[str, str], ...], dict[float, float]]:
    """The expression evaluated at each step by the evaluator itself, ``@ start()/end()``
    pinned to the range's ends as a range query pins them."""
    end_s = START_S + (POINTS - 1) * STEP_S
    pinned = expr.replace("start()", f"{START_S:.3f}").replace("end()", f"{end_s:.3f}")
    out: dict[tuple[tuple[str, str], ...], dict[float, float]] = {}
    for i in range(POINTS):
        t_s = START_S + i * STEP_S
        value = instant_query(pinned, storage, round(t_s * 1000), subquery_step_ms=60_000)
        if isinstance(value, Scalar):
            out.setdefault((), {})[t_s] = value.value
            continue
        assert isinstance(value, list)
        for sample in value:
            out.setdefault(tuple(sorted(sample.labels.items())), {})[t_s] = sample.value
    return out


async def _promtool(url: str, expr: str) -> tuple[int, str]:
    end_s = START_S + (POINTS - 1) * STEP_S
    proc = await asyncio.create_subprocess_exec(
        str(PROMTOOL),
        "query",
        "-o",
        "json",
        "range",
        f"--start={START_S:.3f}",
        f"--end={end_s:.3f}",
        f"--step={STEP_S}s",
        "--",  # an expression may start with a minus
        url,
        expr,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, (out or err).decode()


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
async def test_promtool_range_queries_equal_the_evaluator_at_every_step(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    """Every point promtool gets equals the direct evaluation (bit for bit, NaN included),
    every series the evaluator finds is in promtool's answer, and an expression the evaluator
    refuses fails through the API too."""
    # The samples are from 1970: a retention of a century keeps the daemon from trimming them.
    (tmp_path / "aiwatch.yml").write_text(
        "global:\n  evaluation_interval: 1m\n  retention: 100y\ntargets: []\n"
    )
    config = load_config(str(tmp_path / "aiwatch.yml"))
    options = Options(
        config_file=config.path, listen_address="127.0.0.1:0", storage_path=str(tmp_path / "d")
    )
    app = make_app(ConfigState(config, options), components=COMPONENTS)
    rng = random.Random(SEED)
    storage = app[RULE_STORAGE]
    for series in make_series(rng):
        for step, p in enumerate(series.points):
            if p is not None:
                value = STALE_NAN if p == "stale" else float(p)
                storage.append(series.labels, step * INTERVAL_S * 1000, value)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    app[READY][0] = True
    url = f"http://127.0.0.1:{server.port}"
    problems: list[str] = []
    compared = answered = 0
    for expr in _expressions(rng):
        try:
            want = _direct(storage, expr)
        except PromQLError:
            code, _ = await _promtool(url, expr)
            if code == 0:
                problems.append(f"{expr}: the evaluator refuses it, the API answered")
            continue
        code, text = await _promtool(url, expr)
        if code != 0:
            problems.append(f"{expr}: promtool failed: {text}")
            continue
        got = {
            tuple(sorted(s["metric"].items())): {t: float(v) for t, v in s["values"]}
            for s in json.loads(text)
        }
        if got.keys() != want.keys():
            problems.append(f"{expr}: series {sorted(got)} != {sorted(want)}")
            continue
        for labels, points in want.items():
            if points.keys() != got[labels].keys() or not all(
                _same(v, got[labels][t]) for t, v in points.items()
            ):
                problems.append(f"{expr} {labels}: {got[labels]} != {points}")
        compared += sum(map(len, want.values()))
        answered += bool(want)
    assert problems == [], "\n".join(problems)
    # With this seed: 121 expressions have data (480 points), 65 are empty, 14 refused.
    assert answered >= 100
    assert compared >= 400
