"""``bench/store.py --compare-recovery``: recovery of the same samples by an earlier version
(from the files it writes) and by this one (from those files converted once, as this version
would have written them), alternating in fresh processes, with medians and the load average.

The earlier version fills the store (``--files DIR`` keeps its files for the next run); this
version loads them and writes the snapshot and the log again in its own format. Each recovery
also prints a digest of what it recovered (every series' last 15 minutes, and the whole
window of every 50th series), which must be the same for both.
"""

import hashlib
import os
import shutil
import statistics
import time
from pathlib import Path

from store import ROOT, STEP_S, baseline_src, run_child

RECOVERY_BASELINE = "c24c496"
"""The last commit whose snapshot holds a record per series and whose log names series in
JSON; its recovery is the "before"."""


def convert(storage_dir: str, out_dir: str) -> dict[str, float]:
    """Load the snapshot and the log of ``storage_dir`` and write them to ``out_dir`` in this
    version's format: the snapshot as loaded, each log record re-encoded."""
    from aiwatch import snapshot, wal
    from aiwatch.promql.storage import MemoryStorage

    shutil.copytree(storage_dir, out_dir)
    storage = MemoryStorage()
    restored = snapshot.restore(storage, os.path.join(storage_dir, "samples.snapshot"), mint_ms=0)
    parts: list[bytes] = []
    snapshot.set_next_segment(parts, restored.next_segment)
    for _ in snapshot.encode_steps(storage, parts, pause_every=1_000):
        pass
    snapshot.write_atomically(os.path.join(out_dir, "samples.snapshot"), b"".join(parts))
    directory = os.path.join(out_dir, "wal")
    for number in wal.segments(directory):
        path = Path(wal.segment_path(directory, number))
        records = list(wal.records(path.read_bytes()))
        path.write_bytes(b"".join(wal.encode(run, batch) for run, batch in records))
    return {"series": restored.series}


def digest(storage: object) -> str:
    """A digest of the recovered windows, to compare two recoveries."""
    from aiwatch.promql.storage import MemoryStorage

    assert isinstance(storage, MemoryStorage)
    keys = sorted(key for key, _ in storage.saved())
    newest = max(series.newest() for _, series in storage.saved())
    sha = hashlib.sha256()
    for n, key in enumerate(keys):
        series = storage._series[key]
        mint = 0 if n % 50 == 0 else newest - 900_000
        found = storage._window(series, mint, newest, drop_stale=False)
        if found is not None:
            sha.update(repr((key, list(found[0]), [v.hex() for v in found[1]])).encode())
    return sha.hexdigest()[:16]


def _files_size(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 2**20


def compare(targets: int, steps: int, files: Path | None, runs: int, tmp: Path) -> None:
    """Fill with the baseline (or reuse ``files``), convert, recover alternating; print."""
    old_src = baseline_src(RECOVERY_BASELINE, tmp)
    old = files if files is not None else tmp / "old"
    if not (old / "samples.snapshot").exists():
        end_ms = int(time.time()) // STEP_S * STEP_S * 1000
        run_child(
            old_src, "--child", "fill", f"--targets={targets}", f"--steps={steps}",
            f"--end-ms={end_ms}", f"--storage-dir={old}",
        )  # fmt: skip
    new = tmp / "new"
    run_child(ROOT / "src", "--child", "convert", f"--storage-dir={old}", f"--out-dir={new}")
    print(
        f"files: {_files_size(old):,.1f} MB written by {RECOVERY_BASELINE}, "
        f"{_files_size(new):,.1f} MB in this version's format"
    )
    figures: dict[str, list[dict[str, float]]] = {"before": [], "now": []}
    digests = set()
    for _ in range(runs):
        for name, src, directory in (("before", old_src, old), ("now", ROOT / "src", new)):
            rec = run_child(src, "--child", "recover", f"--storage-dir={directory}", "--digest")
            figures[name].append(rec)
            digests.add(rec.pop("digest"))
    for name, recs in figures.items():
        cpu = [r["recover_cpu_s"] for r in recs]
        wall = [r["recover_s"] for r in recs]
        load = [r["load"] for r in recs]
        print(
            f"{name}: {recs[0]['series']:,.0f} series from the snapshot, "
            f"{recs[0]['replayed']:,.0f} samples replayed; recovery CPU median "
            f"{statistics.median(cpu):.2f} s ({min(cpu):.2f}–{max(cpu):.2f}), wall median "
            f"{statistics.median(wall):.2f} s ({min(wall):.2f}–{max(wall):.2f}), peak RSS "
            f"{statistics.median(r['peak_rss_mb'] for r in recs):,.0f} MB, load average "
            f"{min(load):.1f}–{max(load):.1f}"
        )
    ratio = statistics.median(r["recover_cpu_s"] for r in figures["now"]) / statistics.median(
        r["recover_cpu_s"] for r in figures["before"]
    )
    same = "the same" if len(digests) == 1 else f"DIFFERENT ({sorted(digests)})"
    print(f"  CPU now/before {ratio:.2f}; recovered windows {same}")
