"""Benchmark: the attacks of a hostile client, each for a bounded time, against a daemon at work.

``aiwatch run`` probes 100 ``openai_chat`` targets on a local ``aiwatch mock-ai`` every 5 s,
plus one target addressed as ``localhost`` (its name is resolved in the same thread pool
that bcrypt used to share), with basic auth (bcrypt cost 10) and a file limit of 1,024
(systemd's default). Each attack runs in its own process for the window while this one asks
``GET /-/healthy`` every 20 ms on a fresh connection. Per attack it prints the answer
time's median, p99 and maximum, the health checks that got no answer, the probes that
succeeded and failed in the window, and what the attacker's requests got.

Attacks: slow headers (1,100 connections trickling header bytes), wrong passwords (200
concurrent clients), PromQL bombs (the three queries that froze the daemon), regex matchers
(catastrophic patterns in ``matcher=`` and ``label_replace``), bad input (surrogates,
integers of 5,000 digits, passwords over 72 bytes, header lines over 8 KB).

Run: ``PYTHONPATH=src python bench/abuse.py [--seconds 10] [--attacks slow_headers,…]``.
Everything listens on loopback ports and stops by itself.
"""

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import bcrypt

from probe_throughput import free_port, machine, percentile, wait_port

TARGETS = 100
PASSWORD = "bench-password"
BOMBS = (
    "sum_over_time(vector(1)[1000d:1s])",
    'max_over_time((max_over_time(({__name__=~".+"})[2h:1s]))[2h:1s])',
    'label_replace(label_replace(vector(1), "y", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "", ""),'
    ' "x", "$1", "y", "(a+)+$")',
)
MATCHERS = ('kind=~"(.|.|.|.|.|.)*X"', 'alertname=~"(a|aa)*b"', 'target=~"(x+x+)+y"')


def auth(password: str = PASSWORD, user: str = "alice") -> dict[str, str]:
    """A basic-auth header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def _until(seconds: float, worker: Callable[[], Awaitable[str]], n: int) -> dict[str, int]:
    """Run ``n`` copies of ``worker`` in a loop for ``seconds``; count what each call returned."""
    counts: collections.Counter[str] = collections.Counter()
    deadline = time.monotonic() + seconds

    async def loop() -> None:
        while time.monotonic() < deadline:
            try:
                counts[await worker()] += 1
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                counts[type(err).__name__] += 1

    await asyncio.gather(*(loop() for _ in range(n)))
    return dict(counts)


async def slow_headers(base: str, seconds: float) -> dict[str, int]:
    """1,100 connections that send one header line every 0.5 s, reconnecting when dropped."""
    host, port = base.removeprefix("http://").split(":")

    async def one() -> str:
        reader, writer = await asyncio.open_connection(host, int(port))
        started = time.monotonic()
        try:
            writer.write(b"GET /api/v1/targets HTTP/1.1\r\n")
            while time.monotonic() - started < seconds:
                await asyncio.sleep(0.5)
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
                if reader.at_eof():
                    return "dropped"
            return "held for the whole window"
        except OSError:
            return "dropped"
        finally:
            writer.close()

    return await _until(seconds, one, 1100)


async def wrong_passwords(base: str, seconds: float) -> dict[str, int]:
    """200 concurrent clients, each trying a new wrong password as soon as it is answered."""
    tries = iter(range(10**9))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> str:
            headers = auth(f"wrong-{next(tries)}")
            async with session.get(base + "/api/v1/incidents", headers=headers) as resp:
                return str(resp.status)

        return await _until(seconds, one, 200)


async def promql_bombs(base: str, seconds: float) -> dict[str, int]:
    """The three queries, each sent again as soon as it is answered."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        bombs = iter(BOMBS * 10**6)

        async def one() -> str:
            params = {"query": next(bombs)}
            url = base + "/api/v1/query"
            async with session.get(url, params=params, headers=auth()) as resp:
                return str(resp.status)

        return await _until(seconds, one, len(BOMBS))


async def regex_matchers(base: str, seconds: float) -> dict[str, int]:
    """Catastrophic patterns as incident matchers, four clients at a time."""
    async with aiohttp.ClientSession() as session:
        patterns = iter(MATCHERS * 10**6)

        async def one() -> str:
            params = {"matcher": next(patterns)}
            url = base + "/api/v1/incidents"
            async with session.get(url, params=params, headers=auth()) as resp:
                return str(resp.status)

        return await _until(seconds, one, 4)


async def bad_input(base: str, seconds: float) -> dict[str, int]:
    """Inputs that used to be 500s (and a header line over 8 KB), four clients at a time."""
    host, port = base.removeprefix("http://").split(":")
    requests = [
        ("POST", "/api/v2/alerts", '[{"labels": {"alertname": "A\\ud800"}}]', auth()),
        ("GET", "/api/v1/incidents?limit=" + "9" * 5000, None, auth()),
        ("GET", "/api/v1/incidents", None, auth("x" * 100)),
        ("RAW", "", None, {}),
    ]
    cycle = iter(requests * 10**6)

    async def oversized() -> str:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /-/ready HTTP/1.1\r\nAuthorization: Basic " + b"A" * 9000 + b"\r\n\r\n")
        line = await reader.readline()
        writer.close()
        return line.split(b" ")[1].decode() if line else "no answer"

    async with aiohttp.ClientSession() as session:

        async def one() -> str:
            method, path, body, headers = next(cycle)
            if method == "RAW":
                return await oversized()
            async with session.request(method, base + path, data=body, headers=headers) as resp:
                return str(resp.status)

        return await _until(seconds, one, 4)


ATTACKS: dict[str, Callable[[str, float], Awaitable[dict[str, int]]]] = {
    "idle": lambda _base, seconds: asyncio.sleep(seconds, result={}),
    "slow_headers": slow_headers,
    "wrong_passwords": wrong_passwords,
    "promql_bombs": promql_bombs,
    "regex_matchers": regex_matchers,
    "bad_input": bad_input,
}


def setup(tmp: Path, mock: str) -> tuple[Path, Path]:
    """The config (100 targets on the mock, one more by host name) and the web config."""
    host_port = mock.removeprefix("http://")
    targets = "".join(
        f"  - {{name: t{i:03d}, kind: openai_chat, url: '{mock}/v1', model: m}}\n"
        for i in range(TARGETS)
    )
    targets += (
        f"  - {{name: by-name, kind: openai_chat, url: 'http://localhost:"
        f"{host_port.split(':')[1]}/v1', model: m}}\n"
    )
    config = tmp / "aiwatch.yml"
    config.write_text(
        "global:\n  probe_interval: 5s\n  probe_timeout: 5s\n  evaluation_interval: 5s\n"
        f"web:\n  admin_users: [alice]\ntargets:\n{targets}"
    )
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    web = tmp / "web.yml"
    web.write_text(f"basic_auth_users:\n  alice: {hashed}\n")
    return config, web


async def poll_healthy(base: str, seconds: float) -> tuple[list[float], int]:
    """Answer times of ``/-/healthy`` every 20 ms (fresh connections) and the unanswered count."""
    times, lost = [], 0
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=5)
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(base + "/-/healthy") as resp,
            ):
                await resp.read()
            times.append(time.monotonic() - started)
        except (aiohttp.ClientError, TimeoutError):
            lost += 1
        await asyncio.sleep(max(0.0, 0.02 - (time.monotonic() - started)))
    return times, lost


async def probes(base: str) -> dict[str, float]:
    """``aiwatch_probes_total`` by result."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(base + "/metrics", headers=auth()) as resp,
    ):
        text = await resp.text()
    out: dict[str, float] = collections.defaultdict(float)
    for line in text.splitlines():
        if line.startswith("aiwatch_probes_total{"):
            result = line.split('result="', 1)[1].split('"', 1)[0]
            out[result] += float(line.rsplit(" ", 1)[1])
    return out


def run_attack(name: str, base: str, seconds: float) -> subprocess.Popen[str]:
    """This script in attacker mode, in its own process (its load is not the poller's)."""
    argv = [sys.executable, __file__, "--attacker", name, "--url", base, "--seconds", str(seconds)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


async def measure(name: str, base: str, seconds: float) -> str:
    """One attack's line of the table."""
    before = await probes(base)
    attacker = run_attack(name, base, seconds)
    await asyncio.sleep(0.5)  # let the attack build up
    times, lost = await poll_healthy(base, seconds - 0.5)
    out, _ = await asyncio.to_thread(attacker.communicate, timeout=seconds + 180)
    await asyncio.sleep(1)
    after = await probes(base)
    ok = after["success"] - before["success"]
    failed = after["failure"] - before["failure"]
    ms = [t * 1000 for t in times]
    answers = json.loads(out or "{}")
    return (
        f"{name:<16} {percentile(ms, 0.5):7.1f} {percentile(ms, 0.99):7.1f} {max(ms):8.1f}"
        f" {lost:5d} {ok:7.0f} {failed:7.0f}   {answers}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--attacks", default=",".join(ATTACKS))
    parser.add_argument("--attacker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attacker:
        print(json.dumps(asyncio.run(ATTACKS[args.attacker](args.url, args.seconds))))
        return
    print(f"# {machine()}; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="aiwatch-abuse-") as name:
        tmp = Path(name)
        mock_port, port = free_port(), free_port()
        aiwatch = [sys.executable, "-m", "aiwatch"]
        with contextlib.ExitStack() as stack:
            mock = subprocess.Popen(
                [*aiwatch, "mock-ai", "--listen-address", f"127.0.0.1:{mock_port}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(mock.wait, 10)
            stack.callback(mock.terminate)
            wait_port(mock_port, seconds=30)
            config, web = setup(tmp, f"http://127.0.0.1:{mock_port}")
            log = (tmp / "aiwatch.log").open("wb")
            daemon = subprocess.Popen(
                [*aiwatch, "run", "--config.file", str(config), "--web.config.file", str(web),
                 "--web.listen-address", f"127.0.0.1:{port}", "--storage.path", str(tmp / "d")],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            resource.prlimit(daemon.pid, resource.RLIMIT_NOFILE, (1024, 1024))
            stack.callback(daemon.wait, 20)
            stack.callback(daemon.terminate)
            wait_port(port, seconds=60)
            time.sleep(6)  # a first round of probes
            base = f"http://127.0.0.1:{port}"
            print(f"# {TARGETS + 1} targets every 5 s, window {args.seconds:g} s per attack")
            print("attack           p50 ms  p99 ms   max ms  lost  probes  failed   attacker got")
            for attack in args.attacks.split(","):
                print(asyncio.run(measure(attack, base, args.seconds)), flush=True)
            print(f"# load average after: {os.getloadavg()[0]:.2f}")
            lines = (tmp / "aiwatch.log").read_text(errors="replace").splitlines()
            print(f"# daemon log: {len(lines)} lines, of which warnings and errors:")
            for line in lines:
                if "level=warn" in line or "level=error" in line:
                    print("#   " + line[:200])


if __name__ == "__main__":
    main()
