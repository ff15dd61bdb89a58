"""``aiwatch run``: start up, serve until a signal, shut down within a bounded time."""

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiohttp import web

from aiwatch.app.build import COMPONENTS, make_app
from aiwatch.app.errors import StartupError
from aiwatch.app.keys import READY
from aiwatch.app.summary import log_summary
from aiwatch.config import ConfigError, check_config
from aiwatch.runtime import ConfigState, Options
from aiwatch.storage import lock as storage_lock
from aiwatch.web.connections import AcceptErrorLog, ConnectionLimits, GuardedSite

log = logging.getLogger("aiwatch.daemon")

SHUTDOWN_TIMEOUT = 10.0


def parse_listen_address(address: str) -> tuple[str | None, int]:
    """``host:port`` (``:9531`` for all interfaces, ``[::1]:0`` for IPv6) to (host, port)."""
    host, sep, port = address.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]") and len(host) >= 2
    if bracketed:
        host = host[1:-1]
    # As Go's net.SplitHostPort: an IPv6 host needs its brackets, and brackets only go around it.
    if (
        not sep
        or not port.isascii()
        or not port.isdigit()
        or int(port) > 65535
        or "[" in host
        or "]" in host
        or (":" in host and not bracketed)
    ):
        msg = f"{address!r} is not a valid listen address (want host:port, :port or [ipv6]:port)"
        raise ValueError(msg)
    return (host or None), int(port)


def storage_problem(path: str) -> str | None:
    """Why ``path`` cannot hold aiwatch's state (created if missing), or None when it can.

    Checked before anything starts, so a bad path is one clear line rather than a warning from
    each component and then a database error.
    """
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        return "not a directory"
    except OSError as err:
        return f"cannot create it: {err.strerror}"
    if not os.path.isdir(path):
        return "not a directory"
    if not os.access(path, os.W_OK | os.X_OK):
        return "not writable"
    return None


def _os_reason(err: OSError) -> str:
    """The system's words for ``err``: ``Address already in use``.

    asyncio wraps a failed bind as "error while attempting to bind on address ('127.0.0.1',
    9531): address already in use", which repeats the address the message already names.
    """
    if err.errno is not None and err.errno > 0:  # resolver errors have negative numbers
        return os.strerror(err.errno)
    return err.strerror or str(err)


def print_problems(err: ConfigError) -> None:
    """Every config problem on its own line on stderr, and one log line."""
    for problem in err.problems:
        log.error("Invalid config", extra={"problem": str(problem)})


def run(
    options: Options, *, ssl_context_factory: Callable[[], ssl.SSLContext | None] | None = None
) -> int:
    """Run the daemon until SIGTERM/SIGINT; exit code 1 for a bad config."""
    try:
        config, warnings = check_config(options.config_file)
    except ConfigError as err:
        print_problems(err)
        if not os.path.exists(options.config_file):
            log.error(
                "No config file there: give its path with --config.file",
                extra={"file": options.config_file, "working_directory": os.getcwd()},
            )
        return 1
    try:
        host, port = parse_listen_address(options.listen_address)
    except ValueError as err:
        log.error("Invalid flag", extra={"flag": "--web.listen-address", "err": str(err)})
        return 1
    if not options.storage_path:
        options = replace(options, storage_path=config.storage_path or "data/")
    problem = storage_problem(options.storage_path)
    if problem is not None:
        log.error(
            "Cannot use the storage path", extra={"path": options.storage_path, "err": problem}
        )
        return 1
    log_summary(config, options)
    for warning in warnings:
        log.warning("Config warning", extra={"warning": str(warning)})
    state = ConfigState(config, options)
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        return asyncio.run(
            serve(
                state,
                host=host,
                port=port,
                ssl_context=ssl_context_factory() if ssl_context_factory else None,
            )
        )
    except StartupError as err:
        log.error("Start-up failed", extra={"err": str(err)})
        return 1


GC_THRESHOLDS = (20_000, 50, 20)
"""Python's cyclic collector runs far less often than by default (700, 10, 10).

A daemon with thousands of targets always has a few hundred thousand objects in flight
(timers, requests, connections). Young collections every 700 allocations promote them,
and the promotions set off full collections that walk the whole sample store: at 5,000
targets about 13 in 100 s, up to 0.7 s each, during which nothing else runs. With these
thresholds there was one in the same time (see ``bench/daemon_loop.py``). Reference
counting still frees everything that is not in a cycle at once."""


SWITCH_INTERVAL_S = 0.0001
"""How long a thread waiting for the interpreter lock waits before it asks for it (5 ms by default).

Queries run in worker threads (``promql.runner``). While one computes, every system call of
the event loop thread (each send, receive and poll of thousands of probes) gives the lock to
the worker, and the loop waits a whole switch interval to get it back: at 5,000 targets the
loop fell hundreds of milliseconds behind while a rule ran. A short interval bounds that
wait; it costs the worker a little only while the loop has work."""


async def serve(
    state: ConfigState,
    *,
    host: str | None,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    sock: socket.socket | None = None,
) -> int:
    """Start-up, serve until stopped, shutdown: one place owns the lifecycle.

    With ``sock`` (already bound and listening, as ``aiwatch demo`` holds its port before
    it does anything else) the daemon serves on it instead of binding ``host:port``.
    """
    try:
        # Before anything opens a file there: two daemons on one path would corrupt it.
        lock = storage_lock.acquire(state.options.storage_path or "data/")
    except storage_lock.StorageLocked as err:
        raise StartupError(str(err)) from err
    try:
        return await _serve(state, host=host, port=port, ssl_context=ssl_context, sock=sock)
    finally:
        lock.release()


async def _serve(
    state: ConfigState,
    *,
    host: str | None,
    port: int,
    ssl_context: ssl.SSLContext | None,
    sock: socket.socket | None,
) -> int:
    app = make_app(state, components=COMPONENTS)
    options = state.options
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, keepalive_timeout=options.read_timeout
    )
    asyncio.get_running_loop().set_exception_handler(AcceptErrorLog())
    try:
        await runner.setup()
    except Exception as err:
        # Stop what did start (cleanup runs only the contexts that were entered).
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runner.cleanup(), timeout=SHUTDOWN_TIMEOUT)
        raise StartupError(str(err)) from err
    try:
        site: web.BaseSite = (
            GuardedSite(runner, host, port, limits=_limits(state), ssl_context=ssl_context)
            if sock is None
            else web.SockSite(runner, sock, ssl_context=ssl_context, shutdown_timeout=2.0)
        )
        try:
            await site.start()
        except OSError as err:
            reason = _os_reason(err)
            raise StartupError(f"cannot listen on {host or ''}:{port}: {reason}") from err
        for address in _bound_addresses(runner):
            log.info("Listening", extra={"address": address, "tls": ssl_context is not None})
        app[READY][0] = True
        reason = await _wait_for_stop(state)
        log.info("Shutting down", extra={"reason": reason})
        app[READY][0] = False
    finally:
        try:
            await asyncio.wait_for(runner.cleanup(), timeout=SHUTDOWN_TIMEOUT)
        except TimeoutError:
            log.error(
                "Shutdown timed out; exiting anyway", extra={"timeout_seconds": SHUTDOWN_TIMEOUT}
            )
    log.info("Stopped")
    return 0


def _limits(state: ConfigState) -> ConnectionLimits:
    options = state.options
    return ConnectionLimits(
        max_connections=options.max_connections,
        read_header_timeout=options.read_header_timeout,
        read_timeout=options.read_timeout,
    )


def _bound_addresses(runner: web.AppRunner) -> list[str]:
    out = []
    for server in runner.sites:
        srv: Any = getattr(server, "_server", None)
        for sock in getattr(srv, "sockets", None) or []:
            addr = sock.getsockname()
            out.append(f"[{addr[0]}]:{addr[1]}" if ":" in addr[0] else f"{addr[0]}:{addr[1]}")
    return out


async def _wait_for_stop(state: ConfigState) -> str:
    """Block until SIGTERM or SIGINT; SIGHUP reloads the config meanwhile."""
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[str] = loop.create_future()
    reloads: set[asyncio.Task[Any]] = set()

    def on_stop(name: str) -> None:
        if not stop.done():
            stop.set_result(f"received {name}")

    def on_hup() -> None:
        log.info("Received SIGHUP; reloading configuration")
        task = loop.create_task(state.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    with _signal_handlers(
        loop,
        {
            signal.SIGTERM: lambda: on_stop("SIGTERM"),
            signal.SIGINT: lambda: on_stop("SIGINT"),
            signal.SIGHUP: on_hup,
        },
    ):
        return await stop


@contextlib.contextmanager
def _signal_handlers(
    loop: asyncio.AbstractEventLoop, handlers: dict[signal.Signals, Callable[[], None]]
) -> Any:
    for sig, handler in handlers.items():
        loop.add_signal_handler(sig, handler)
    try:
        yield
    finally:
        for sig in handlers:
            loop.remove_signal_handler(sig)
