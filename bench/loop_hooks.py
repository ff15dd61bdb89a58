"""Timing hooks for ``bench/daemon_loop.py --diag``, loaded into the daemon as ``sitecustomize``.

In an ``aiwatch run`` process (and only there) they time every cyclic garbage collection of the
main thread, every event-loop callback that takes over ``LONG_S`` and every turn of the loop
whose callbacks together take over ``LONG_S`` of CPU, in wall time and in the thread's own
CPU time (which a busy machine does not inflate), and write them as JSON to
``$AIWATCH_LOOP_HOOKS`` when the daemon exits. Forked children leave by ``os._exit`` and write
nothing.
"""

import asyncio.base_events
import asyncio.events
import atexit
import gc
import json
import os
import sys
import threading
import time
from typing import Any

LONG_S = 0.015


def _task_name(callback: Any) -> str:
    """What a callback runs: a task's coroutine chain down to where it waits, or its repr."""
    owner = getattr(callback, "__self__", None)
    if owner is None or not hasattr(owner, "get_coro"):
        return repr(callback)[:100]
    coro = owner.get_coro()
    names = [getattr(coro, "__qualname__", "?")]
    for _ in range(12):
        coro = getattr(coro, "cr_await", None)
        if coro is None or not hasattr(coro, "cr_frame"):
            break
        names.append(getattr(coro, "__qualname__", "?"))
    return ">".join(names)


def install(out: str) -> None:
    """Time collections and long callbacks; write them to ``out`` at exit."""
    events: list[tuple[float, str, str, float, float]] = []
    started: dict[str, float] = {}
    main = threading.main_thread()

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if threading.current_thread() is not main:
            return
        if phase == "start":
            started["wall"], started["cpu"] = time.perf_counter(), time.thread_time()
            return
        wall = time.perf_counter() - started.get("wall", time.perf_counter())
        cpu = time.thread_time() - started.get("cpu", time.thread_time())
        events.append((time.time(), "gc", str(info["generation"]), wall, cpu))

    run = asyncio.events.Handle._run

    def timed_run(self: asyncio.events.Handle) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        run(self)
        wall = time.perf_counter() - wall
        if wall > LONG_S:
            cpu = time.thread_time() - cpu
            events.append((time.time(), "callback", _task_name(self._callback), wall, cpu))

    iterate = asyncio.base_events.BaseEventLoop._run_once

    def timed_iteration(self: asyncio.base_events.BaseEventLoop) -> None:
        # One turn of the loop: its wait for I/O (idle, no CPU), then every callback that was
        # ready; a request that arrives meanwhile waits for the whole turn's CPU.
        wall, cpu = time.perf_counter(), time.thread_time()
        iterate(self)
        cpu = time.thread_time() - cpu
        if cpu > LONG_S:
            wall = time.perf_counter() - wall
            events.append((time.time(), "iteration", "", wall, cpu))

    def write() -> None:
        with open(out, "w") as fh:
            json.dump(events, fh)

    gc.callbacks.append(on_gc)
    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    asyncio.base_events.BaseEventLoop._run_once = timed_iteration  # type: ignore[method-assign]
    atexit.register(write)


if "run" in sys.argv[1:3] and os.environ.get("AIWATCH_LOOP_HOOKS"):
    install(os.environ["AIWATCH_LOOP_HOOKS"])
