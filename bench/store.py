"""Benchmark: the local sample store — bytes per sample, memory, append, query, recovery.

The samples are those of N streaming chat targets (default 1,000), as the self-scrape
stores them: a real ``ProbeSeries`` observes one synthetic probe result per target per
15 s step (durations, time to first token, tokens, cost and rate limits that vary, 2% of
probes failing), and a real ``SelfScraper`` stores every series every step, for 2 hours
(480 steps) ending now.

Each store runs in its own process, so its resident memory is its own: this version's, and
today's before the compact store (``--baseline REV``, default the commit before it,
extracted with ``git archive``). For each it prints: samples and series; bytes per sample
(``probe``: the encoded chunks and head arrays of the probe series per sample; ``overall``:
the process' RSS growth while filling, labels and index included, per sample); the RSS of the
whole process; the append cost (CPU per sample of the whole self-scrape, and of
``append_key`` alone); the query cost (a 1 h range select of ``aiwatch_probe_success`` for
every target, ``rate(aiwatch_probes_total[5m])`` and ``[1h]`` summed by target, median of 5).

Recovery (this version only): the filled store is written as the daemon writes it (a
snapshot one minute before the end, the last minute in the write-ahead log) and a fresh
process recovers it, timing ``SampleFiles.recover``. With ``--daemon``, a real
``aiwatch run`` with the same targets (against ``aiwatch mock-ai``) then starts on those
files, is killed with SIGKILL after its first self-scrapes, and is started again: its log
gives the recovery time of each start, and its RSS is read once it serves.

With ``--compare-recovery`` it only compares recovery with the version before the current
file format (``store_recovery``): that version fills the store and writes its files
(``--files DIR`` keeps them for the next run), this version converts them once, and each
version recovers its files ``--runs`` times, alternating, in fresh processes.

Run: ``PYTHONPATH=src python bench/store.py [--targets 1000] [--hours 2] [--daemon]``, or
``PYTHONPATH=src python bench/store.py --compare-recovery [--targets 1000] [--files DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STEP_S = 15
INSTANCE = "localhost:9531"
"""The ``instance`` of the stored series when no daemon is to continue them."""
BASELINE = "415e553"
"""The last commit with samples kept as plain arrays."""


def rss_mb() -> float:
    """This process' resident memory in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def targets_yaml(n: int, url: str) -> str:
    """The targets of the benchmark as config entries."""
    return "".join(
        f"  - {{name: chat{i:04d}, kind: openai_chat, url: '{url}/v1', model: mock-gpt, "
        f"stream: true, interval: {STEP_S}s, feature: f{i % 40}, "
        f"price: {{input_per_million: 0.15, output_per_million: 0.6}}}}\n"
        for i in range(n)
    )


def config_text(n: int, url: str, storage: Path) -> str:
    """A daemon config: the targets, 15 s evaluations, the default retention."""
    return (
        f"global:\n  probe_interval: {STEP_S}s\n  evaluation_interval: {STEP_S}s\n"
        f"storage:\n  path: '{storage}'\n"
        f"targets:\n{targets_yaml(n, url)}"
    )


def probe_result(target: str, t_s: float, rng: random.Random) -> object:
    """One synthetic probe result of a streaming chat target at ``t_s``."""
    from aiwatch.probes.result import Check, ProbeResult

    failed = rng.random() < 0.02
    duration = rng.lognormvariate(-0.5, 0.6)
    out_tokens = rng.randint(5, 40)
    return ProbeResult(
        target=target,
        success=not failed,
        error_type="server_error" if failed else None,
        error="HTTP 500" if failed else None,
        status_code=500 if failed else 200,
        duration=duration,
        time_to_first_byte=duration / 4,
        time_to_first_token=None if failed else duration / 3,
        time_per_output_token=None if failed else duration / out_tokens,
        input_tokens=None if failed else 12,
        output_tokens=None if failed else out_tokens,
        cost_usd=None if failed else (12 * 0.15 + out_tokens * 0.6) / 1e6,
        ratelimit_remaining_requests=float(rng.randint(90, 100)),
        ratelimit_remaining_tokens=float(rng.randint(9000, 10000)),
        response_model="mock-gpt-2024",
        system_fingerprint="fp_1",
        embedding_dimensions=None,
        checks=(Check("status", not failed, "200"),),
        started_at=t_s,
        finished_at=t_s + duration,
        request_summary="POST /v1/chat/completions",
        response_excerpt="pong",
    )


def fill(
    n: int, steps: int, end_ms: int, storage_dir: str | None, instance: str = INSTANCE
) -> dict[str, float]:
    """Fill a store as the self-scrape would, its series labelled ``instance``; with
    ``storage_dir``, write its files as the daemon does (the snapshot a minute before the
    end, then the log)."""
    from aiwatch.config.load import load_config
    from aiwatch.probes.series import ProbeSeries
    from aiwatch.promql.storage import MemoryStorage
    from aiwatch.selfscrape import SelfScraper

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "aiwatch.yml"
        cfg.write_text(config_text(n, "http://127.0.0.1:9", Path(tmp)))
        targets = load_config(str(cfg)).targets
    probes = ProbeSeries()
    for target in targets:
        probes.ensure(target)
    gc.collect()
    rss_before = rss_mb()
    storage = MemoryStorage()
    scraper = SelfScraper(
        storage,
        probes.sample_batches,
        instance=instance,
        retention_ms=steps * STEP_S * 1000,
    )
    files = None
    rng = random.Random(1)
    scrape_cpu = 0.0
    for step in range(steps):
        t_ms = end_ms - (steps - 1 - step) * STEP_S * 1000
        for target in targets:
            probes.observe(probe_result(target.name, t_ms / 1000 - 1, rng))  # type: ignore[arg-type]
        cpu = time.process_time()
        scraper.scrape(t_ms)
        scrape_cpu += time.process_time() - cpu
        if storage_dir is not None and step == steps - 1 - 60 // STEP_S:
            # The log is attached here, not before: a daemon writes it after every scrape,
            # and this loop would otherwise hold every sample noted since the start.
            from aiwatch.persistence import SampleFiles

            files = SampleFiles(storage, storage_dir)
            files.recover(mint_ms=0)
            asyncio.run(files.checkpoint())
        elif files is not None:
            asyncio.run(files.flush())
    gc.collect()
    samples = storage.sample_count()
    figures = {
        "samples": samples,
        "series": storage.series_count(),
        "rss_mb": rss_mb(),
        "overall_bps": (rss_mb() - rss_before) * 2**20 / samples,
        "scrape_us": scrape_cpu / samples * 1e6,
    }
    figures.update(probe_bytes(storage))
    figures.update(append_cost())
    figures.update(query_cost(storage, end_ms))
    return figures


def probe_bytes(storage: object) -> dict[str, float]:
    """Bytes of samples data (chunks, in memory or in files, and head arrays) per sample of
    the probe series."""
    data = samples = 0
    for key, series in storage._series.items():  # type: ignore[attr-defined]
        if not dict(key)["__name__"].startswith("aiwatch_probe"):
            continue
        if hasattr(series, "data"):  # closed chunks in one byte string, four bounds each
            closed, counts = len(series.data), series.bounds[2::4]
            # Full chunks in the spill's files (a negative place): their bytes count too.
            spill = getattr(storage, "spill", None)
            places = series.bounds[3::4]
            if spill is not None and places and places[0] < 0:
                closed += sum(len(series.chunk(i, spill)) for i, p in enumerate(places) if p < 0)
        else:  # a list of chunks (or none), three bounds each
            closed = sum(map(len, getattr(series, "chunks", [])))
            counts = getattr(series, "bounds", [])[2::3]
        data += closed + 16 * len(series.times)
        samples += len(series.times) + sum(counts)
    return {"probe_bps": data / samples}


def append_cost() -> dict[str, float]:
    """CPU per ``append_key`` into 10,000 series of counters, 240 steps."""
    from aiwatch.promql.storage import MemoryStorage

    storage = MemoryStorage()
    keys = [(("__name__", "c_total"), ("i", str(i))) for i in range(10_000)]
    rng = random.Random(2)
    values = [0.0] * len(keys)
    cpu = time.process_time()
    for step in range(240):
        t_ms = step * 15_000 + rng.randint(0, 3)
        for i, key in enumerate(keys):
            values[i] += rng.random() < 0.3
            storage.append_key(key, t_ms, values[i])
    return {"append_us": (time.process_time() - cpu) / (240 * len(keys)) * 1e6}


def query_cost(storage: object, end_ms: int) -> dict[str, float]:
    """Median CPU of a 1 h range select and of two rates, 5 runs each."""
    from aiwatch.promql import LabelMatcher, instant_query

    matchers = [LabelMatcher("__name__", "=", "aiwatch_probe_success")]

    def timed(fn: object) -> float:
        runs = []
        for _ in range(5):
            cpu = time.process_time()
            fn()  # type: ignore[operator]
            runs.append(time.process_time() - cpu)
        return statistics.median(runs) * 1000

    return {
        "select_1h_ms": timed(lambda: storage.select(matchers, end_ms - 3_600_000, end_ms)),  # type: ignore[attr-defined]
        "rate_5m_ms": timed(
            lambda: instant_query(
                "sum by (target) (rate(aiwatch_probes_total[5m]))", storage, end_ms
            )  # type: ignore[arg-type]
        ),
        "rate_1h_ms": timed(
            lambda: instant_query(
                "sum by (target) (rate(aiwatch_probes_total[1h]))", storage, end_ms
            )  # type: ignore[arg-type]
        ),
    }


def recover(storage_dir: str, *, digest: bool = False) -> dict[str, float | str]:
    """Recover the files of ``storage_dir`` into a new store (a fresh process)."""
    from aiwatch.persistence import SampleFiles
    from aiwatch.promql.storage import MemoryStorage

    rss_before = rss_mb()
    storage = MemoryStorage()
    cpu = time.process_time()
    recovered = SampleFiles(storage, storage_dir).recover(mint_ms=0)
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures: dict[str, float | str] = {
        "recover_s": recovered.seconds,
        "recover_cpu_s": cpu,
        "load": os.getloadavg()[0],
        "series": recovered.series,
        "replayed": recovered.replayed,
        "rss_growth_mb": rss_mb() - rss_before,
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak,
    }
    if digest:
        from store_recovery import digest as windows_digest

        figures["digest"] = windows_digest(storage)
    return figures


def child(args: argparse.Namespace) -> None:
    """Run one measurement in this process and print its figures as JSON."""
    out: dict[str, float | str] | dict[str, float]
    if args.child == "fill":
        out = fill(args.targets, args.steps, args.end_ms, args.storage_dir or None, args.instance)
    elif args.child == "convert":
        from store_recovery import convert

        out = convert(args.storage_dir, args.out_dir)
    else:
        out = recover(args.storage_dir, digest=args.digest)
    print(json.dumps(out))


def run_child(src: Path, *extra: str) -> dict[str, Any]:
    """``child`` in a subprocess importing aiwatch from ``src``."""
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT / 'bench'}"}
    done = subprocess.run(
        [sys.executable, __file__, *extra], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"benchmark child failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


def baseline_src(rev: str, tmp: Path) -> Path:
    """The ``src`` tree of ``rev``, extracted into ``tmp``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
    return tmp / "src"


def report(name: str, f: dict[str, float]) -> None:
    """One store's figures."""
    print(
        f"{name}: {f['series']:,.0f} series, {f['samples']:,.0f} samples; bytes/sample: probe "
        f"series {f['probe_bps']:.2f}, overall (RSS growth) {f['overall_bps']:.2f}; process RSS "
        f"{f['rss_mb']:,.0f} MB"
    )
    print(
        f"  append: {f['append_us']:.2f} µs CPU per append_key, {f['scrape_us']:.2f} µs per "
        f"sample of a whole self-scrape; query (median CPU): select 1h "
        f"{f['select_1h_ms']:.1f} ms, sum by (target) (rate[5m]) {f['rate_5m_ms']:.1f} ms, "
        f"rate[1h] {f['rate_1h_ms']:.1f} ms"
    )


def main() -> None:
    """Measure the baseline and this version, then recovery; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--daemon", action="store_true", help="also SIGKILL a real daemon")
    parser.add_argument(
        "--compare-recovery",
        action="store_true",
        help="only compare recovery with the version before the current file format",
    )
    parser.add_argument("--files", type=Path, help="keep (or reuse) its files in this folder")
    parser.add_argument("--runs", type=int, default=5, help="recoveries of each version")
    parser.add_argument("--child", choices=("fill", "recover", "convert"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--end-ms", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--storage-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--instance", default=INSTANCE, help=argparse.SUPPRESS)
    parser.add_argument("--digest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from probe_throughput import free_port, machine

    steps = int(args.hours * 3600 / STEP_S)
    end_ms = int(time.time()) // STEP_S * STEP_S * 1000
    print(machine(), f"load average {os.getloadavg()[0]:.1f}")
    print(f"{args.targets:,} streaming chat targets, {steps} self-scrapes {STEP_S} s apart")
    if args.compare_recovery:
        from store_recovery import compare

        with tempfile.TemporaryDirectory(prefix="aiwatch-store-bench-") as tmp_name:
            compare(args.targets, steps, args.files, args.runs, Path(tmp_name))
        return
    common = ["--child", "fill", f"--targets={args.targets}", f"--steps={steps}"]
    with tempfile.TemporaryDirectory(prefix="aiwatch-store-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if not args.no_baseline:
            old = run_child(baseline_src(args.baseline, tmp), *common, f"--end-ms={end_ms}")
            report(f"plain arrays ({args.baseline})", old)
        data = tmp / "data"
        # With --daemon, the daemon's own listen address is the stored series' ``instance``,
        # so that it continues them (2 h of samples for each of its series) instead of
        # starting a second set beside them.
        port = free_port()
        instance = f"--instance=127.0.0.1:{port}" if args.daemon else f"--instance={INSTANCE}"
        new = run_child(
            ROOT / "src", *common, f"--end-ms={end_ms}", f"--storage-dir={data}", instance
        )
        report("encoded chunks (this version)", new)
        if not args.no_baseline:
            print(
                "  ratios new/old: overall bytes/sample "
                f"{new['overall_bps'] / old['overall_bps']:.2f}, RSS "
                f"{new['rss_mb'] / old['rss_mb']:.2f}, append "
                f"{new['append_us'] / old['append_us']:.2f}, select 1h "
                f"{new['select_1h_ms'] / old['select_1h_ms']:.2f}, rate[5m] "
                f"{new['rate_5m_ms'] / old['rate_5m_ms']:.2f}, rate[1h] "
                f"{new['rate_1h_ms'] / old['rate_1h_ms']:.2f}"
            )
        size = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
        rec = run_child(ROOT / "src", "--child", "recover", f"--storage-dir={data}")
        print(
            f"files: {size / 2**20:,.1f} MB; recovery in a fresh process: {rec['recover_s']:.2f} s "
            f"({rec['recover_cpu_s']:.2f} s CPU, load average {rec['load']:.1f}; "
            f"{rec['series']:,.0f} series from the snapshot, {rec['replayed']:,.0f} samples "
            f"replayed from the log), RSS {rec['rss_mb']:,.0f} MB"
        )
        if args.daemon:
            from store_daemon import kill_and_restart

            print(kill_and_restart(args.targets, data, tmp, port))


if __name__ == "__main__":
    main()
