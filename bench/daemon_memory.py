"""Benchmark: resident memory of a real ``aiwatch run`` with many streaming chat targets.

A local ``aiwatch mock-ai`` answers ``--targets`` streaming ``openai_chat`` targets (the
targets of ``bench/store.py``), probed and self-scraped every 15 s with a fresh storage
directory. The daemon's resident set (VmRSS, and its peak VmHWM) is read ``--settle``
seconds after ``/-/ready``, ``/metrics`` being read every 15 s meanwhile as Prometheus would.
The store then holds only those seconds of samples, so the figure is the daemon outside its
samples: with ``--retention 1m`` the store keeps a minute at most.

With ``--baseline REV`` the same run is made first with ``git archive REV`` of this
repository (run after run, in one invocation, so the machine's load is alike), and the
ratio is printed. The median over ``--runs`` runs is printed, with the load average.

Run: ``PYTHONPATH=src python bench/daemon_memory.py [--targets 1000] [--settle 60]
[--runs 1] [--baseline main]``. Everything listens on loopback ports and stops by itself.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from probe_throughput import free_port, machine
from store import config_text

ROOT = Path(__file__).resolve().parent.parent


def _status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        body: bytes = response.read()
        return body


def _wait_ready(url: str, daemon: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            sys.exit(f"aiwatch exited with {daemon.returncode}")
        try:
            _get(url + "/-/ready")
        except OSError:
            time.sleep(0.5)
            continue
        return
    sys.exit(f"aiwatch not ready within {within} s")


def one_run(src: Path, args: argparse.Namespace, tmp: Path) -> tuple[float, float, int]:
    """One daemon from ``src``: (RSS MB, peak RSS MB, bytes of the last ``/metrics``)."""
    shutil.rmtree(tmp / "data", ignore_errors=True)
    mock_port, port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(src)}
    python = [sys.executable, "-m", "aiwatch"]
    mock = subprocess.Popen(
        [*python, "mock-ai", "--listen-address", f"127.0.0.1:{mock_port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    text = config_text(args.targets, f"http://127.0.0.1:{mock_port}", tmp / "data")
    if args.retention:
        text = text.replace("global:\n", f"global:\n  retention: {args.retention}\n", 1)
    config = tmp / "daemon.yml"
    config.write_text(text)
    with (tmp / "daemon.log").open("wb") as log:
        daemon = subprocess.Popen(
            [*python, "run", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, daemon, 300)
        size, end = 0, time.monotonic() + args.settle
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(15.0, left))
            size = len(_get(url + "/metrics"))
        return _status(daemon.pid, "VmRSS"), _status(daemon.pid, "VmHWM"), size
    finally:
        for proc in (daemon, mock):
            proc.terminate()
            proc.wait(30)


def baseline_src(rev: str, tmp: Path) -> Path:
    """``src`` of ``rev`` of this repository, unpacked under ``tmp``."""
    out = tmp / f"src-{rev}"
    out.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def measure(name: str, src: Path, args: argparse.Namespace, tmp: Path) -> float:
    """Median RSS over ``args.runs`` runs, printed with its range."""
    runs = [one_run(src, args, tmp) for _ in range(args.runs)]
    rss = [r[0] for r in runs]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{name:>10}: RSS {statistics.median(rss):6.1f} MB ({min(rss):.1f}-{max(rss):.1f}), "
        f"peak {statistics.median(r[1] for r in runs):6.1f} MB, "
        f"/metrics {runs[-1][2]:,} bytes; load average {load}",
        flush=True,
    )
    return statistics.median(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--retention", default="", help="global.retention, e.g. 1m")
    parser.add_argument("--baseline", default="", help="a git revision to compare with")
    args = parser.parse_args()
    print(f"{machine()}; {args.targets} streaming chat targets, {args.settle:.0f} s after ready")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        before = 0.0
        if args.baseline:
            before = measure(args.baseline, baseline_src(args.baseline, tmp), args, tmp)
        after = measure("this tree", ROOT / "src", args, tmp)
        if before:
            print(f"ratio this tree / {args.baseline}: {after / before:.3f}")


if __name__ == "__main__":
    main()
