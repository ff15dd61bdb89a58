"""Serve the mock endpoint from the command line until interrupted."""

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from aiwatch.mockai.app import make_mock_app
from aiwatch.mockai.behavior import validate


def load_script(path: str) -> dict[str, Any]:
    """A behaviour script: YAML or JSON with ``default`` and ``models`` layers, maybe ``seed``."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        msg = f"{path}: not UTF-8 text"
        raise ValueError(msg) from None
    except yaml.YAMLError as err:
        msg = f"{path}: invalid YAML: {' '.join(str(err).split())}"
        raise ValueError(msg) from None
    if not isinstance(document, dict) or set(document) - {"default", "models", "seed"}:
        msg = f"{path}: want a mapping with keys default, models, seed"
        raise ValueError(msg)
    seed = document.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        msg = f"{path}: seed must be an integer"
        raise ValueError(msg)
    try:
        validate(document.get("default") or {})
        models = document.get("models") or {}
        if not isinstance(models, dict):
            raise ValueError("models must map model names to behaviours")
        for layer in models.values():
            validate(layer)
    except ValueError as err:
        msg = f"{path}: {err}"
        raise ValueError(msg) from None
    return document


class ListenError(Exception):
    """The address cannot be listened on (taken, not local, no such host)."""


def split_address(address: str) -> tuple[str | None, int]:
    """``host:port`` (``[::1]:0``, ``:8080``) as a host and port; no host (None) means all."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        msg = f"{address!r} is not host:port"
        raise ValueError(msg)
    return host.strip("[]") or None, int(port)


async def serve(*, address: str, script: dict[str, Any]) -> None:
    """Serve until SIGINT or SIGTERM; print the bound URL first so callers can find port 0."""
    host, port = split_address(address)
    app = make_mock_app(
        seed=int(script.get("seed", 0)),
        behavior=script.get("default"),
        models=script.get("models"),
    )
    # Stalled streams never finish on their own: give in-flight requests 1 s on shutdown.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()
        msg = f"cannot listen on {address}: {err.strerror}"
        raise ListenError(msg) from None
    bound_host, bound_port = runner.addresses[0][:2]
    if ":" in bound_host:
        bound_host = f"[{bound_host}]"
    print(f"mock-ai listening on http://{bound_host}:{bound_port}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        print("mock-ai stopped", file=sys.stderr, flush=True)
