"""Work off the interpreter lock: a forked child that streams its results back through a pipe.

A worker thread shares the interpreter lock with the event loop, so a long evaluation still
takes turns with every request. ``os.fork`` gives a child a copy-on-write view of the whole
process (the sample store included) in tens of milliseconds; the child computes, writes each
result as a length-prefixed pickle to a pipe and leaves with ``os._exit``, while the parent
reads the pipe from the event loop without blocking it.

The child inherits only the forking thread: a lock another thread held at the fork stays held
there for ever. Callers therefore hold the locks the child will need around the fork (the
store's), and the child touches nothing else of the parent: no logging, no event loop, no
database, no files. Its cyclic collector is off (the child lives seconds; collecting would
only copy pages). Children are killed with SIGKILL when a step takes longer than allowed, when
the reader stops reading, or when ``close`` is called, and always reaped.

Python 3.12 and later emit a ``DeprecationWarning`` when a process with threads forks (the
daemon has its SQLite and query threads); it is hidden by default, and the hazard it warns
of (a lock held by another thread) is the one handled above. CI runs Debian's 3.11.
"""

import asyncio
import contextlib
import gc
import os
import pickle
import signal
import struct
import sys
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import AbstractContextManager

from aiwatch.promql.limits import (
    CANCELED_MESSAGE,
    TIMEOUT_MESSAGE,
    QueryCanceledError,
    QueryTimeoutError,
)

_HEADER = struct.Struct("<Q")
_REAP_S = 1.0
"""How long a child that closed its pipe may take to exit before it is killed."""

AVAILABLE = hasattr(os, "fork") and sys.platform in ("linux", "darwin")
"""Whether work can be forked here (Linux and macOS); elsewhere callers use threads."""


class ChildDiedError(Exception):
    """The child ended before it sent every result (killed, out of memory, a crash)."""


class StepTimeoutError(QueryTimeoutError):
    """The child took longer than allowed for one result and was killed."""

    def __init__(self) -> None:
        super().__init__(TIMEOUT_MESSAGE)


class Forker:
    """Starts children for ``stream``; ``close`` kills every running child and refuses more."""

    def __init__(self) -> None:
        self._children: set[int] = set()
        self._status: dict[int, int] = {}
        self.closed = False

    def close(self) -> None:
        """Kill the running children (their readers reap them) and refuse new ones."""
        self.closed = True
        for pid in list(self._children):
            self._kill(pid)

    async def stream(
        self,
        work: Callable[[], Iterable[object]],
        *,
        hold: AbstractContextManager[object] | None = None,
        step_timeout_s: float,
    ) -> AsyncGenerator[object, None]:
        """Run ``work()`` in a child and yield each item it produces, in order.

        ``hold`` is entered around the fork in the parent (the child leaves it too, so a lock
        is released on both sides). ``StepTimeoutError`` when the next item takes longer than
        ``step_timeout_s``; ``ChildDiedError`` when the child ends early;
        ``QueryCanceledError`` once ``close`` was called.
        """
        if self.closed:
            raise QueryCanceledError(CANCELED_MESSAGE)
        read_fd, write_fd = os.pipe()
        try:
            with hold if hold is not None else contextlib.nullcontext():
                pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:  # pragma: no cover - the child never returns
            os.close(read_fd)
            _child(write_fd, work)
        os.close(write_fd)
        self._children.add(pid)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=2**31)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
        )
        try:
            while True:
                item = await self._next(reader, pid, step_timeout_s)
                if item is _END:
                    return
                yield item
        finally:
            transport.close()
            await self._reap(pid)
            self._status.pop(pid, None)

    async def _next(self, reader: asyncio.StreamReader, pid: int, timeout_s: float) -> object:
        try:
            async with asyncio.timeout(timeout_s):
                header = await reader.readexactly(_HEADER.size)
                size = _HEADER.unpack(header)[0]
                if size == 0:  # the child's last word: everything was sent
                    return _END
                body = await reader.readexactly(size)
        except asyncio.IncompleteReadError:
            raise await self._died(pid) from None
        except TimeoutError:
            self._kill(pid)
            raise StepTimeoutError from None
        return pickle.loads(body)

    async def _died(self, pid: int) -> Exception:
        if self.closed:
            return QueryCanceledError(CANCELED_MESSAGE)
        # The pipe closes as the child exits, a moment before its exit status is there.
        status = self._wait(pid, block=False)
        for _ in range(100):
            if status is not None:
                break
            await asyncio.sleep(0.005)
            status = self._wait(pid, block=False)
        if status is not None and os.WIFSIGNALED(status):
            how = f"killed by signal {os.WTERMSIG(status)}"
        elif status is not None:
            how = f"exit status {os.waitstatus_to_exitcode(status)}"
        else:
            how = "closed its pipe early"
        return ChildDiedError(f"evaluation process {pid} ended before its results: {how}")

    async def _reap(self, pid: int) -> None:
        """Wait briefly for the child to exit by itself, then kill it; never leave a zombie."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _REAP_S
        while pid in self._children and loop.time() < deadline:
            if self._wait(pid, block=False) is not None:
                break
            await asyncio.sleep(0.005)
        if pid in self._children and pid not in self._status:
            self._kill(pid)
            self._wait(pid, block=True)
        self._children.discard(pid)

    def _wait(self, pid: int, *, block: bool) -> int | None:
        """The child's wait status once it has exited (kept: it can be asked twice)."""
        if pid in self._status:
            return self._status[pid]
        try:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: nothing left to wait for
            done, status = pid, 0
        if done == 0:
            return None
        self._status[pid] = status
        return status

    def _kill(self, pid: int) -> None:
        if pid not in self._status:  # an exited child's pid may already be someone else's
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class _End:
    pass


_END = _End()


def _child(write_fd: int, work: Callable[[], Iterable[object]]) -> None:  # pragma: no cover
    """The child's whole life: compute, send, ``os._exit`` (no clean-up of the parent's)."""
    code = 1
    try:
        gc.disable()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
        with os.fdopen(write_fd, "wb") as out:
            for item in work():
                body = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
                out.write(_HEADER.pack(len(body)))
                out.write(body)
                out.flush()
            out.write(_HEADER.pack(0))
        code = 0
    finally:
        os._exit(code)
