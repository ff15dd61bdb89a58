"""Benchmark: probes per second and CPU per probe, aiwatch against blackbox_exporter.

A local nginx (started here on a loopback port with its own temporary config) serves a small
JSON document. Against it the benchmark measures, in one run:

* blackbox_exporter (Debian's ``prometheus-blackbox-exporter``, temporary config, loopback),
  driven through ``/probe?module=http_2xx`` at the paced rate: its CPU per 1,000 probes is the
  reference;
* a bare aiohttp client loop (one kept-alive session, status check only) at the same rate,
  for context;
* aiwatch's scheduler with the real probes (timings, ``expect`` checks on status and body,
  the metrics series), N targets of kind ``http`` with kept-alive connections, at the paced
  rate (interval = N / rate) and at full load (offered far above what it can do).

Each measured process runs alone in its own child process; CPU is that process' user + system
time over the measurement window (after a warm-up in which every target connects once).
Scheduling lag is how late a probe starts after its due time. Peak RSS is the child's VmHWM.

With ``--stream`` the targets are streaming ``openai_chat`` targets instead (``stall_timeout``
set, so every measure of the stream is on): the endpoint answers a canned OpenAI-style stream
of ``STREAM_CHUNKS`` content chunks without usage, so each probe times every chunk into the
inter-chunk histogram and counts its output tokens from the chunks; blackbox_exporter fetches
the same stream with ``http_2xx``.

Run: ``PYTHONPATH=src python bench/probe_throughput.py [--sizes 100,1000,5000] [--rate 500]
[--stream]``.
If nginx is missing it falls back to an aiohttp static server (and says so).
"""

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BODY = '{"ok":true,"model":"bench"}'
STREAM_CHUNKS = 16
STREAM_PATH = "v1/chat/completions"


def _stream_body() -> str:
    """An OpenAI-style chat stream: a role chunk, content chunks, a finish chunk, [DONE]."""

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        doc = {"id": "b", "object": "chat.completion.chunk", "model": "bench", "choices": [choice]}
        return "data: " + json.dumps(doc, separators=(",", ":")) + "\n\n"

    parts = [chunk({"role": "assistant", "content": ""})]
    parts += [chunk({"content": " pong"}) for _ in range(STREAM_CHUNKS)]
    parts += [chunk({}, "stop"), "data: [DONE]\n\n"]
    return "".join(parts)


STREAM = _stream_body()


def _nginx_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, *, seconds: float = 10.0) -> None:
    """Block until something accepts connections on the loopback port."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def start_endpoint(tmp: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """nginx serving ``BODY`` (or the aiohttp fallback); the process, URL and a description."""
    port = free_port()
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx:
        conf = tmp / "nginx.conf"
        temp = {k: tmp / k for k in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        conf.write_text(
            f"""daemon off; master_process off; worker_processes 1;
pid {tmp}/nginx.pid; error_log {tmp}/nginx-error.log warn; worker_rlimit_nofile 20000;
events {{ worker_connections 16000; }}
http {{
  access_log off; keepalive_requests 10000000; keepalive_timeout 600s;
  client_body_temp_path {temp["body"]}; proxy_temp_path {temp["proxy"]};
  fastcgi_temp_path {temp["fastcgi"]}; uwsgi_temp_path {temp["uwsgi"]};
  scgi_temp_path {temp["scgi"]};
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{BODY}'; }}
    location = /{STREAM_PATH} {{
      default_type text/event-stream; return 200 {_nginx_string(STREAM)};
    }}
  }}
}}
"""
        )
        proc = subprocess.Popen([nginx, "-c", str(conf), "-e", str(tmp / "nginx-error.log")])
        version = subprocess.run(
            [nginx, "-v"], capture_output=True, text=True, check=False
        ).stderr.strip()
        description = f"{version} (1 worker, keep-alive)"
    else:
        proc = subprocess.Popen([sys.executable, __file__, "--static", str(port)])
        description = "aiohttp static server (nginx is not installed: FALLBACK)"
    wait_port(port)
    return proc, f"http://127.0.0.1:{port}/", description


def start_blackbox(tmp: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    """Debian's blackbox_exporter with an http_2xx module on a loopback port."""
    binary = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
    if binary is None:
        return None
    conf = tmp / "blackbox.yml"
    conf.write_text(
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n"
        "    http:\n      valid_status_codes: [200]\n      preferred_ip_protocol: ip4\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc, port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``values``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.floor(q * len(ordered)))]


async def drive_blackbox(
    pid: int, port: int, url: str, *, rate: float, seconds: float
) -> dict[str, Any]:
    """Ask blackbox_exporter for ``rate`` probes per second; its CPU over the window."""
    import aiohttp

    probe = f"http://127.0.0.1:{port}/probe"
    params = {"target": url, "module": "http_2xx"}
    failures = 0

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        async with session.get(probe, params=params) as resp:
            if "\nprobe_success 1" not in await resp.text():
                failures += 1

    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def paced(duration: float) -> int:
            loop = asyncio.get_running_loop()
            start, n, tasks = loop.time(), 0, set()
            while (due := start + n / rate) < start + duration:
                await asyncio.sleep(max(0.0, due - loop.time()))
                task = asyncio.create_task(one(session))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
            await asyncio.gather(*tasks)
            return n

        await paced(2.0)  # warm-up
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        n = await paced(seconds)
        cpu, elapsed = cpu_seconds(pid) - cpu0, time.monotonic() - t0
    return {
        "probes": n,
        "rate": n / elapsed,
        "cpu_per_1000": cpu / n * 1000,
        "failures": failures,
        "rss_mb": peak_rss_mb(pid),
    }


def run_child(*args: str) -> dict[str, Any]:
    """Run one measurement in a fresh process; its JSON answer."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_targets(url: str, targets: int, interval: float, *, stream: bool) -> list[Any]:
    """``targets`` http targets, or streaming chat targets at the canned stream."""
    from aiwatch.config.model import Expect, Target

    if not stream:
        expect = Expect(status=(200,), contains='"ok":true')
        return [
            Target(
                name=f"bench-{i:05d}",
                kind="http",
                url=url,
                interval=interval,
                timeout=5.0,
                labels={"team": "bench"},
                expect=expect,
            )
            for i in range(targets)
        ]
    return [
        Target(
            name=f"bench-{i:05d}",
            kind="openai_chat",
            url=url + STREAM_PATH.removesuffix("/chat/completions"),
            interval=interval,
            timeout=5.0,
            model="bench",
            stream=True,
            stall_timeout=2.0,
            labels={"team": "bench"},
            expect=Expect(status=(200,), contains="pong"),
        )
        for i in range(targets)
    ]


async def child_aiwatch(
    *, url: str, targets: int, interval: float, warmup: float, seconds: float, stream: bool
) -> dict[str, Any]:
    """aiwatch's scheduler + probes + series for ``targets`` targets on ``interval``."""
    from aiwatch.probes.scheduler import Scheduler
    from aiwatch.probes.series import ProbeSeries

    config = bench_targets(url, targets, interval, stream=stream)
    series = ProbeSeries()
    scheduler = Scheduler(series=series, record_lag=True)
    await scheduler.update(config)
    scheduler.start()

    def totals() -> tuple[int, int, int]:
        ran = sum(s.probes["success"] + s.probes["failure"] for s in series.targets.values())
        failed = sum(s.probes["failure"] for s in series.targets.values())
        return ran, failed, sum(s.skipped for s in series.targets.values())

    await asyncio.sleep(warmup)
    assert scheduler.lags is not None
    scheduler.lags.clear()
    (ran0, failed0, skipped0), cpu0, t0 = totals(), time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    (ran1, failed1, skipped1), cpu1, t1 = totals(), time.process_time(), time.monotonic()
    lags = list(scheduler.lags)
    await scheduler.stop()
    ran = ran1 - ran0
    return {
        "probes": ran,
        "rate": ran / (t1 - t0),
        "cpu_per_1000": (cpu1 - cpu0) / max(ran, 1) * 1000,
        "failures": failed1 - failed0,
        "skipped": skipped1 - skipped0,
        "lag_p50_ms": percentile(lags, 0.5) * 1000,
        "lag_p99_ms": percentile(lags, 0.99) * 1000,
        "rss_mb": peak_rss_mb(),
    }


async def child_bare(*, url: str, rate: float, warmup: float, seconds: float) -> dict[str, Any]:
    """A bare aiohttp client loop at ``rate``: GET, read, status check; one kept-alive session."""
    import aiohttp

    failures = 0

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        async with session.get(url) as resp:
            await resp.read()
            if resp.status != 200:
                failures += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def paced(duration: float) -> int:
            loop = asyncio.get_running_loop()
            start, n, tasks = loop.time(), 0, set()
            while (due := start + n / rate) < start + duration:
                await asyncio.sleep(max(0.0, due - loop.time()))
                task = asyncio.create_task(one(session))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
            await asyncio.gather(*tasks)
            return n

        await paced(warmup)
        cpu0, t0 = time.process_time(), time.monotonic()
        n = await paced(seconds)
        cpu, elapsed = time.process_time() - cpu0, time.monotonic() - t0
    return {
        "probes": n,
        "rate": n / elapsed,
        "cpu_per_1000": cpu / n * 1000,
        "failures": failures,
        "rss_mb": peak_rss_mb(),
    }


def child_main(args: list[str]) -> None:
    """Entry of a measurement child: print its result as one JSON line."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode, url, *numbers = args
    values = [float(v) for v in numbers]
    if mode in {"aiwatch", "aiwatch-stream"}:
        targets, interval, warmup, seconds = values
        coro = child_aiwatch(
            url=url,
            targets=int(targets),
            interval=interval,
            warmup=warmup,
            seconds=seconds,
            stream=mode == "aiwatch-stream",
        )
    else:
        rate, warmup, seconds = values
        coro = child_bare(url=url, rate=rate, warmup=warmup, seconds=seconds)
    print(json.dumps(asyncio.run(coro)))


def static_main(port: int) -> None:
    """The fallback endpoint: aiohttp answering ``BODY``."""
    from aiohttp import web

    async def answer(_: web.Request) -> web.Response:
        return web.Response(text=BODY, content_type="application/json")

    async def stream(_: web.Request) -> web.Response:
        return web.Response(text=STREAM, content_type="text/event-stream")

    app = web.Application()
    app.router.add_get("/", answer)
    app.router.add_route("*", "/" + STREAM_PATH, stream)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def machine() -> str:
    """nproc, CPU model and Python version."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def row(label: str, r: dict[str, Any], ref: float | None) -> str:
    """One line of the results table."""
    ratio = f"{r['cpu_per_1000'] / ref:6.2f}" if ref else "     -"
    lag = f"{r['lag_p99_ms']:8.1f}" if "lag_p99_ms" in r else "       -"
    return (
        f"{label:<34} {r['rate']:8.0f} {r['cpu_per_1000']:10.3f} {ratio} {lag} "
        f"{r['rss_mb']:8.1f} {r['failures']:5d} {r.get('skipped', 0):8d}"
    )


def verdict(n: int, paced: dict[str, Any], ref: float | None) -> str:
    """The paced run of ``n`` targets against the targets of the benchmark."""

    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    parts = []
    if ref:
        ratio = paced["cpu_per_1000"] / ref
        parts.append(f"CPU ratio {ratio:.2f} <= 0.75 {mark(ratio <= 0.75)}")
    lag = paced["lag_p99_ms"]
    parts.append(f"p99 lag {lag:.1f} ms < 50 ms {mark(lag < 50)}")
    if n >= 5000:
        parts.append(f"RSS {paced['rss_mb']:.0f} MB < 150 MB {mark(paced['rss_mb'] < 150)}")
    return f"{n} targets @ paced rate: " + "; ".join(parts)


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window")
    parser.add_argument("--offered", type=float, default=5000.0, help="full-load offered rate")
    parser.add_argument("--stream", action="store_true", help="streaming chat targets")
    args = parser.parse_args()
    mode = "aiwatch-stream" if args.stream else "aiwatch"
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        endpoint, url, description = start_endpoint(tmp)
        print(f"endpoint: {description} at {url}")
        fetched = url + STREAM_PATH if args.stream else url
        if args.stream:
            print(f"targets: streaming openai_chat, {STREAM_CHUNKS} content chunks, no usage")
        blackbox = start_blackbox(tmp)
        try:
            header = (
                f"{'run':<34} {'probes/s':>8} {'CPU-s/1k':>10} {'ratio':>6} {'p99 lag':>8} "
                f"{'RSS MB':>8} {'fail':>5} {'skipped':>8}"
            )
            ref = None
            lines = []
            if blackbox is not None:
                bb = asyncio.run(
                    drive_blackbox(
                        blackbox[0].pid, blackbox[1], fetched, rate=args.rate, seconds=args.seconds
                    )
                )
                ref = bb["cpu_per_1000"]
                lines.append(row(f"blackbox_exporter @{args.rate:g}/s", bb, None))
            else:
                print("blackbox_exporter is not installed: no reference ratio")
            print(header)
            for line in lines:
                print(line, flush=True)
            bare = run_child("bare", fetched, str(args.rate), "2", str(args.seconds))
            print(row(f"bare aiohttp loop @{args.rate:g}/s", bare, ref), flush=True)
            verdicts = []
            for n in sizes:
                warmup = n / args.rate + 2.0
                paced = run_child(
                    mode, url, str(n), str(n / args.rate), str(warmup), str(args.seconds)
                )
                print(row(f"aiwatch {n} targets @{args.rate:g}/s", paced, ref), flush=True)
                verdicts.append(verdict(n, paced, ref))
                interval = n / args.offered
                full = run_child(
                    mode, url, str(n), str(interval), str(interval + 3.0), str(args.seconds)
                )
                print(row(f"aiwatch {n} targets, full load", full, ref), flush=True)
            print(
                "ratio = CPU per probe / blackbox_exporter's at the paced rate; "
                "lag = probe start minus due time"
            )
            for line in verdicts:
                print(line)
        finally:
            if blackbox is not None:
                blackbox[0].terminate()
                blackbox[0].wait()
            endpoint.terminate()
            endpoint.wait()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--static":
        static_main(int(sys.argv[2]))
    else:
        main()
