"""Who may call what: reads are open, state changes are for admins (loopback without web config)."""

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from aiwatch.web.envelope import fail

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback(remote: str | None) -> bool:
    """Whether the peer address is on the loopback network (127.0.0.0/8 or ::1)."""
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Without a web config, state-changing routes answer only to loopback clients."""
    if request.method not in _READ_METHODS and not is_loopback(request.remote):
        fail(
            403,
            "forbidden",
            "admin routes answer only to loopback clients when no --web.config.file is set",
        )
    return await handler(request)
