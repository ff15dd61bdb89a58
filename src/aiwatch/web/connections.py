"""How the HTTP server treats connections: how many may be open, and how long a client may
take to send a request, so that slow or idle clients cannot hold the daemon's sockets.

* ``--web.max-connections`` (default 512, as Prometheus): when that many are open, a new
  connection takes the place of the oldest one that is not inside a request (idle between
  requests, or still sending its headers); when every one is inside a request, the new one
  is closed at once. ``/-/healthy`` therefore keeps answering while slow clients hold the
  rest, and the daemon keeps file descriptors for its probes and its storage.
* ``--web.read-header-timeout`` (default 10s): from a connection's start, or from the first
  byte of its next request, to the end of that request's headers.
* ``--web.read-timeout`` (default 1m): from the end of the headers to the end of the body,
  and how long an idle keep-alive connection stays open.
* ``accept()`` failing for want of file descriptors is logged at most once a second, with
  how many failures there were.
"""

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger("aiwatch.web")


@dataclass(frozen=True)
class ConnectionLimits:
    """The server's connection limits (the ``--web.*`` flags)."""

    max_connections: int = 512
    read_header_timeout: float = 10.0
    read_timeout: float = 60.0


class Guard:
    """The protocol factory of a listening socket: counts connections and enforces limits."""

    def __init__(self, limits: ConnectionLimits, factory: Callable[[], asyncio.Protocol]) -> None:
        self.limits = limits
        self._factory = factory
        self.open = 0
        self.evicted = 0
        self.refused = 0
        self.timed_out = 0
        # Connections not inside a request, oldest first: the ones to drop when full.
        self.waiting: dict[GuardedProtocol, None] = {}

    def __call__(self) -> "GuardedProtocol":
        return GuardedProtocol(self, self._factory())

    def admit(self) -> bool:
        """Make room for one more connection; False when all are busy with requests."""
        if self.open < self.limits.max_connections:
            return True
        if not self.waiting:
            self.refused += 1
            return False
        oldest = next(iter(self.waiting))
        self.evicted += 1
        oldest.drop()
        return True


class GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the header and body deadlines around it."""

    def __init__(self, guard: Guard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._busy = False
        self._reading_headers = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Admit the connection (or close it when every slot is busy) and start its clock."""
        assert isinstance(transport, asyncio.Transport)
        if not self._guard.admit():
            transport.abort()
            return
        self._transport = transport
        self._guard.open += 1
        self._inner.connection_made(transport)
        self._start_headers()

    def data_received(self, data: bytes) -> None:
        """Pass the bytes on; the first byte of a new request starts its header deadline."""
        if self._transport is None:
            return
        if not self._busy and not self._reading_headers:
            self._start_headers()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        """As aiohttp decides."""
        return self._inner.eof_received() if self._transport is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and let aiohttp clean up."""
        if self._transport is None:
            return
        self._cancel_timer()
        self._guard.waiting.pop(self, None)
        self._guard.open -= 1
        self._transport = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        """Flow control, as aiohttp does it."""
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        """Flow control, as aiohttp does it."""
        self._inner.resume_writing()

    def request_started(self, request: web.BaseRequest) -> None:
        """The headers are in: the body has until the read timeout to arrive."""
        self._busy, self._reading_headers = True, False
        self._guard.waiting.pop(self, None)
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().call_later(
            self._guard.limits.read_timeout, self._body_late, request
        )

    def request_finished(self) -> None:
        """The answer is written: idle until the next request's first byte."""
        self._busy = False
        self._cancel_timer()
        if self._transport is not None:
            self._guard.waiting[self] = None

    def drop(self) -> None:
        """Close the connection now (its slot is wanted, or it was too slow)."""
        self._cancel_timer()
        self._guard.waiting.pop(self, None)
        if self._transport is not None:
            self._transport.abort()

    def _start_headers(self) -> None:
        self._reading_headers = True
        self._guard.waiting[self] = None
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().call_later(
            self._guard.limits.read_header_timeout, self._headers_late
        )

    def _headers_late(self) -> None:
        self._timer = None
        if self._reading_headers:
            self._guard.timed_out += 1
            self.drop()

    def _body_late(self, request: web.BaseRequest) -> None:
        self._timer = None
        if self._busy and not request.content.is_eof():
            self._guard.timed_out += 1
            self.drop()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


@web.middleware
async def connection_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Tell the connection's guard that a request's headers are in, and when it is answered."""
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    if isinstance(protocol, GuardedProtocol):
        protocol.request_started(request)
        task = asyncio.current_task()
        # aiohttp writes the answer in this task after the handler returns.
        if task is not None:
            task.add_done_callback(lambda _: protocol.request_finished())
    return await handler(request)


class GuardedSite(web.TCPSite):
    """A TCP site whose connections go through a :class:`Guard`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str | None,
        port: int,
        *,
        limits: ConnectionLimits,
        ssl_context: Any = None,
        shutdown_timeout: float = 2.0,
    ) -> None:
        super().__init__(
            runner, host, port, ssl_context=ssl_context, shutdown_timeout=shutdown_timeout
        )
        self.limits = limits
        self.guard: Guard | None = None

    async def start(self) -> None:
        """Listen, as ``TCPSite.start`` does, with the guard as the protocol factory."""
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self.guard = Guard(self.limits, server)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard,
            self._host,
            self._port,
            ssl=self._ssl_context,
            # asyncio accepts up to ``backlog`` connections each time the socket is ready,
            # before any of them is admitted or evicted: with the system's largest backlog a
            # burst met after a busy moment took hundreds of descriptors at once.
            backlog=ACCEPT_BATCH,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
            # A TLS handshake comes before the headers: the same deadline.
            ssl_handshake_timeout=self.limits.read_header_timeout if self._ssl_context else None,
        )
        for listening in self._server.sockets:
            # As Go's net.Listen: the system's largest queue of connections not yet accepted,
            # so a burst waits in the kernel, not in SYN retries of a second or more. Calling
            # listen() again changes only the queue's length.
            with socket.fromfd(listening.fileno(), listening.family, listening.type) as sock:
                sock.listen(socket.SOMAXCONN)


ACCEPT_BATCH = 64
"""Connections accepted each time the listening socket is ready; the rest wait in the
kernel's queue until the ones accepted have been admitted (or older ones evicted), so the
descriptors in use stay near ``--web.max-connections`` during a burst."""

ACCEPT_ERROR = "socket.accept() out of system resource"


class AcceptErrorLog:
    """A loop exception handler that logs ``accept()`` failures at most once a second.

    When the process runs out of file descriptors, every connection attempt fails in
    ``accept()``; asyncio reports each one (with a traceback). One line a second, with the
    count since the last, says the same without filling the disk.
    """

    def __init__(self, *, interval: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self.count = 0
        self._last: float | None = None

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Count an accept failure (logging now and then); pass anything else on."""
        if context.get("message") != ACCEPT_ERROR:
            loop.default_exception_handler(context)
            return
        self.count += 1
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        exc = context.get("exception")
        log.error(
            "Cannot accept connections: out of file descriptors or memory",
            extra={"failures": self.count, "err": str(exc) if exc else ""},
        )
        self.count = 0
