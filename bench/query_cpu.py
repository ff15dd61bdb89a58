"""Benchmark: CPU time of each bundled dashboard query, evaluated in-process, all steps at
once and step by step, on a sample snapshot (such as the one ``query_api.py --keep`` leaves).

Every panel query of the three dashboards (variables set to all their values, read from the
snapshot's label values) runs as a range query over the snapshot's last hour at a 15 s step,
``--rounds`` times each way; prints each query's median CPU time both ways and the totals.
CPU time (``time.process_time``) is little affected by other work on the machine.

Run: ``PYTHONPATH=src python bench/query_cpu.py SNAPSHOT [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from aiwatch import snapshot
from aiwatch.promql.limits import Unlimited
from aiwatch.promql.ranges import range_query
from aiwatch.promql.storage import MemoryStorage
from aiwatch.promql.syntax import VectorSelector, parse_any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.bundle.grafana import (  # noqa: E402 - the repository root is put on the path first
    BUILTINS,
    label_values_query,
    load_dashboards,
    panel_queries,
    substitute,
    variable_query,
    variables,
)

HOUR_MS, STEP_MS = 3_600_000, 15_000


def label_values(store: MemoryStorage, selector: str, label: str, end_ms: int) -> list[str]:
    """The values of ``label`` among the series ``selector`` matches (all series if empty)."""
    expr = parse_any(selector or '{__name__=~".+"}')
    assert isinstance(expr, VectorSelector)
    found = store.select(expr.matchers, end_ms - HOUR_MS, end_ms)
    return sorted({dict(labels).get(label, "") for labels, _, _ in found} - {""})


def queries(store: MemoryStorage, end_ms: int) -> list[str]:
    """Every panel query of every dashboard, each variable set to all its values."""
    out = []
    for name, dashboard in load_dashboards().items():
        values = dict(BUILTINS)
        for variable in variables(dashboard):
            if variable["type"] == "query":
                query = substitute(variable_query(variable), values)
                found = label_values(store, *label_values_query(query), end_ms)
                values[variable["name"]] = "|".join(found) or "none"
        out += [substitute(q.expr, values) for q in panel_queries(name, dashboard)]
    return list(dict.fromkeys(out))


def cpu_s(store: MemoryStorage, expr: str, end_ms: int, *, all_steps: bool) -> float:
    """CPU seconds of one range query over the last hour."""
    tree = parse_any(expr)
    began = time.process_time()
    range_query(tree, store, end_ms - HOUR_MS, end_ms, STEP_MS, lookback_ms=300_000,
                subquery_step_ms=STEP_MS, budget=Unlimited(), all_steps=all_steps)  # fmt: skip
    return time.process_time() - began


def main() -> None:
    """Load the snapshot, time every query both ways, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    store = MemoryStorage()
    snapshot.load(store, str(args.snapshot), mint_ms=0)
    end_ms = max(times[-1] for _, times, _ in store.select(
        parse_any('{__name__=~".+"}').matchers, 0, 2**62))  # type: ignore[union-attr]  # fmt: skip
    print(f"{store.series_count()} series; load average {os.getloadavg()[0]:.2f}")
    totals = {True: 0.0, False: 0.0}
    for expr in queries(store, end_ms):
        med = {}
        for all_steps in (True, False):
            runs = [cpu_s(store, expr, end_ms, all_steps=all_steps) for _ in range(args.rounds)]
            med[all_steps] = statistics.median(runs)
            totals[all_steps] += med[all_steps]
        print(f"{med[True] * 1000:8.1f} ms {med[False] * 1000:8.1f} ms  {expr[:90]}", flush=True)
    print(f"total: all steps at once {totals[True]:.2f} s, step by step {totals[False]:.2f} s; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
