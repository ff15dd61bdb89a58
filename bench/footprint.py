"""Benchmark: resident memory and start-up time of the ``aiwatch`` commands users run most.

Four cases, each run ``--runs`` times in a fresh process (the figures are medians):

* ``run, 3 targets``: ``aiwatch run`` with three targets (chat, embeddings, http) against a
  local ``aiwatch mock-ai`` and the bundled alert rules, no experiments and no notification
  routes: the idle daemon of the example config;
* ``run, everything``: the same plus an experiment over two of the targets, a notification
  route (an Apprise ``json://`` URL on loopback; nothing fires, so nothing is sent) and
  Alertmanager forwarding;
* ``check config``: ``aiwatch check config`` on the first case's file;
* ``--help``: ``aiwatch --help``.

For ``run``, start-up is the time from spawning the process to ``/-/ready`` answering 200,
and CPU the user + system time the process used by then (a busy machine inflates it much
less than the wall time); the memory is the daemon's resident set (VmRSS) after every target
has been probed once, ``/metrics`` and ``/api/v1/experiments`` have been read (as Prometheus
and a dashboard would) and ``--settle`` seconds have passed, and its peak (VmHWM). For the
one-shot commands it is the wall time to exit, the CPU time and the peak resident set. Every
case runs once untimed first, so the children read compiled bytecode (kept in a temporary
``PYTHONPYCACHEPREFIX``) as an installed package does, even where ``PYTHONDONTWRITEBYTECODE``
is set. If ``blackbox_exporter`` is on the PATH, its resident set idle after three probes is
printed for comparison.

Run: ``PYTHONPATH=src python bench/footprint.py [--runs 5] [--settle 5]``. Everything
listens on loopback ports and stops by itself.
"""

import argparse
import contextlib
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from probe_throughput import cpu_seconds, free_port, machine, wait_port

ROOT = Path(__file__).resolve().parent.parent
AIWATCH = [sys.executable, "-m", "aiwatch"]
TARGET_KINDS = ("openai_chat", "openai_embeddings", "http")


def child_env(pycache: Path) -> dict[str, str]:
    """The environment of every child: bytecode compiled once and kept under ``pycache``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(pycache)}


ENV: dict[str, str] = dict(os.environ)


def config(mock: str, storage: Path, *, everything: bool) -> str:
    """Three mock-ai targets and the bundled rules; with ``everything`` also an experiment,
    a notification route and Alertmanager forwarding."""
    text = (
        "global: {probe_interval: 15s, evaluation_interval: 15s}\n"
        f"storage: {{path: '{storage}'}}\n"
        f"rule_files: ['{ROOT / 'prometheus' / 'alerts.yml'}']\n"
        "targets:\n"
        f"  - {{name: chat, kind: openai_chat, url: '{mock}/v1', model: mock-small}}\n"
        f"  - {{name: embed, kind: openai_embeddings, url: '{mock}/v1', model: mock-embed}}\n"
        f"  - {{name: health, kind: http, url: '{mock}/v1/models'}}\n"
    )
    if not everything:
        return text
    return text + (
        "experiments:\n"
        "  - name: models\n    control: a\n"
        "    variants: [{name: a, target: chat}, {name: b, target: embed}]\n"
        "    metrics: [{name: ok, source: probe, kind: proportion, field: success}]\n"
        "notifications:\n"
        "  routes: [{apprise: ['json://127.0.0.1:9/hook']}]\n"
        "alertmanager: {forward_to: ['http://127.0.0.1:9']}\n"
    )


def status_mb(pid: int, field: str) -> float:
    """``VmRSS`` or ``VmHWM`` of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get(url: str) -> tuple[int, str]:
    """Status and body of a GET (0 and the reason when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""
    except (urllib.error.URLError, OSError) as err:
        return 0, str(err)


def probed_targets(metrics: str) -> int:
    """How many targets have a probe result in the exposition text."""
    return sum(
        1
        for line in metrics.splitlines()
        if line.startswith("aiwatch_probe_success{") and not line.startswith("#")
    )


def measure_run(cfg: Path, *, settle: float, log: Path) -> dict[str, float]:
    """Start ``aiwatch run`` on ``cfg``; start-up seconds, RSS and peak RSS in MB."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [*AIWATCH, "run", f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}"]
    with log.open("w") as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=ENV)
    try:
        deadline = started + 60
        while get(base + "/-/ready")[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"aiwatch did not start:\n{log.read_text()}")
            time.sleep(0.01)
        ready = time.monotonic() - started
        cpu = cpu_seconds(proc.pid)
        while probed_targets(get(base + "/metrics")[1]) < len(TARGET_KINDS):
            if time.monotonic() > deadline:
                raise RuntimeError("not every target was probed within 60 s")
            time.sleep(0.2)
        get(base + "/api/v1/experiments")
        time.sleep(settle)
        get(base + "/metrics")
        return {
            "start": ready,
            "cpu": cpu,
            "rss": status_mb(proc.pid, "VmRSS"),
            "peak": status_mb(proc.pid, "VmHWM"),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_once(argv: list[str]) -> dict[str, float]:
    """Run a command to completion; wall seconds and peak RSS in MB (from ``wait4``)."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited with {proc.returncode}")
    return {
        "start": elapsed,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": float("nan"),
        "peak": usage.ru_maxrss / 1024,
    }


def blackbox_rss(mock: str, tmp: Path, settle: float) -> float | None:
    """blackbox_exporter's RSS in MB idle after three probes of mock-ai, if it is installed."""
    binary = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
    if binary is None:
        return None
    conf = tmp / "blackbox.yml"
    conf.write_text("modules:\n  http_2xx:\n    prober: http\n")
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        for _ in TARGET_KINDS:
            get(f"http://127.0.0.1:{port}/probe?module=http_2xx&target={mock}/v1/models")
        time.sleep(settle)
        return status_mb(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        proc.wait(15)


def median_row(label: str, runs: list[dict[str, float]]) -> str:
    """One line: medians (and ranges) of start-up time, CPU time, RSS and peak RSS."""

    def fmt(key: str, unit: str, digits: int) -> str:
        values = [r[key] for r in runs]
        if any(math.isnan(v) for v in values):  # not measured for this case
            return "-"
        return (
            f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})"
        )

    return (
        f"{label:<16} start {fmt('start', 's', 2):<21} CPU {fmt('cpu', 's', 2):<21} "
        f"RSS {fmt('rss', 'MB', 1):<23} peak {fmt('peak', 'MB', 1)}"
    )


def main() -> None:
    """Measure each case ``--runs`` times and print one line of medians per case."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before RSS")
    args = parser.parse_args()
    print(machine(), f"load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="aiwatch-footprint-") as name:
        tmp = Path(name)
        ENV.clear()
        ENV.update(child_env(tmp / "pycache"))
        mock_port = free_port()
        mock = subprocess.Popen(
            [*AIWATCH, "mock-ai", f"--listen-address=127.0.0.1:{mock_port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=ENV,
        )
        try:
            wait_port(mock_port, seconds=30)
            url = f"http://127.0.0.1:{mock_port}"
            files = {}
            for case, everything in (("run, 3 targets", False), ("run, everything", True)):
                storage = tmp / f"data-{everything}"
                files[case] = tmp / f"aiwatch-{everything}.yml"
                files[case].write_text(config(url, storage, everything=everything))
            check = [*AIWATCH, "check", "config", str(files["run, 3 targets"])]
            cases = {
                "run, 3 targets": lambda: measure_run(
                    files["run, 3 targets"], settle=args.settle, log=tmp / "run.log"
                ),
                "run, everything": lambda: measure_run(
                    files["run, everything"], settle=args.settle, log=tmp / "run.log"
                ),
                "check config": lambda: measure_once(check),
                "--help": lambda: measure_once([*AIWATCH, "--help"]),
            }
            for label, case in cases.items():
                case()  # untimed: compiles the bytecode this case needs
                print(median_row(label, [case() for _ in range(args.runs)]), flush=True)
            rss = blackbox_rss(url, tmp, args.settle)
            if rss is not None:
                print(f"{'blackbox_exporter':<18} RSS {rss:.1f} MB (idle after 3 probes)")
        finally:
            mock.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                mock.wait(10)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
