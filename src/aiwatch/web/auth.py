"""Who may call what: basic auth from ``--web.config.file``, admins from ``web.admin_users``.

Without basic-auth users, reads are open and state-changing routes answer only to loopback
clients. With them, every route but ``/-/healthy`` (and a public status page) needs a valid
user, and every route that is not GET or HEAD needs one listed in ``web.admin_users``.
Either way, a state-changing request that a browser sent for a page of another site is
refused (cross-site request forgery), whoever it comes from.
"""

import asyncio
import base64
import binascii
import concurrent.futures
import hashlib
import ipaddress
import logging
import os
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from aiwatch.app.keys import STATE
from aiwatch.web.envelope import ApiError, fail
from aiwatch.web.tls import WebConfig, WebConfigError, bcrypt_cost, load_web_config

log = logging.getLogger("aiwatch.web")

_READ_METHODS = frozenset({"GET", "HEAD"})
OPEN_PATHS = frozenset({"/-/healthy"})
"""Answered without credentials: container health checks carry none."""
OPEN_PREFIX = "/static/"
"""The pages' style sheet and script, read without credentials (a public page needs them)."""
READ_POSTS = frozenset(
    {
        "/api/v1/query",
        "/api/v1/query_range",
        "/api/v1/format_query",
        "/api/v1/series",
        "/api/v1/labels",
    }
)
"""POST routes that only read: Prometheus' query API, which Grafana POSTs form-encoded."""
USER_KEY = web.RequestKey("aiwatch_user", str)
CACHE_SECONDS = 60.0
CACHE_SIZE = 1024
REALM = 'Basic realm="aiwatch", charset="UTF-8"'
_SALT = os.urandom(16)
"""Remembered credentials are keyed by a salted digest, unknown outside this process."""
MAX_PASSWORD_BYTES = 72
"""bcrypt reads at most this many bytes of a password."""


def is_read_post(path: str) -> bool:
    """A POST that only reads: the query API, or an experiment's verdict (which release
    controllers' webhooks POST to)."""
    if path in READ_POSTS:
        return True
    return path.startswith("/api/v1/experiments/") and path.endswith("/verdict")


def is_loopback(remote: str | None) -> bool:
    """Whether the peer address is on the loopback network (127.0.0.0/8 or ::1)."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    # A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d, which is not loopback to 3.11.
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def cross_site(request: web.Request) -> str | None:
    """Why the request is a browser's for a page of another site; None when it is not.

    Go's ``http.CrossOriginProtection`` rule: browsers send ``Sec-Fetch-Site`` (and older
    ones ``Origin``) on every POST, so a request whose page came from elsewhere is told
    apart from curl, amtool-style clients or Prometheus, which send neither. Without this, a
    web page open on the aiwatch host could post silences or alerts as a loopback client
    (a ``text/plain`` POST needs no CORS preflight).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return None if site in ("same-origin", "none") else f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    try:
        host = urllib.parse.urlsplit(origin).netloc
    except ValueError:
        host = ""
    return None if host and host == request.host else f"Origin: {origin}"


def host_name(host: str) -> str:
    """The name or address of a ``Host`` header, without its port, in lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    name, sep, port = host.rpartition(":")
    return (name if sep and port.isdigit() else host).rstrip(".")


def foreign_host(request: web.Request, allowed: tuple[str, ...]) -> str | None:
    """The request's ``Host`` when it is neither a loopback name or address nor allowed.

    Without basic-auth users a loopback client may change state. A web page that makes its
    own name resolve to 127.0.0.1 (DNS rebinding) is same-origin to the browser, so the
    cross-site check lets it through; its ``Host`` still names the attacker's domain.
    """
    header = request.headers.get("Host")
    if header is None:
        return None  # HTTP/1.0 without Host: no browser sends that
    name = host_name(header)
    if name in allowed or name == "localhost" or name.endswith(".localhost"):
        return None
    if is_loopback(name.strip("[]")):
        return None
    return header


def public_status(request: web.Request, state: Any) -> bool:
    """Whether the request is for the status page or a badge, and ``public: true`` opens them."""
    page = state.current.web.status_page if state is not None else None
    if page is None or not (page.enabled and page.public):
        return False
    return request.path == "/status" or request.path.startswith("/badge/")


def request_user(request: web.Request) -> str | None:
    """The authenticated basic-auth user of the request, None without one."""
    return request.get(USER_KEY)


def may_change_state(request: web.Request) -> bool:
    """Whether ``auth_middleware`` would let this client change state (a page shows its
    buttons only then): an admin user, or a loopback client when there are no users."""
    state = _state(request)
    if state is None:
        return True
    path = state.options.web_config_file
    checker = POLICIES.get(path) if path else None
    if checker is None or not checker.config.users:
        allowed = state.current.web.allowed_hosts
        return is_loopback(request.remote) and foreign_host(request, allowed) is None
    return request_user(request) in state.current.web.admin_users


BCRYPT = concurrent.futures.ThreadPoolExecutor(
    max_workers=max(1, min(4, (os.cpu_count() or 1) // 2)), thread_name_prefix="aiwatch-bcrypt"
)
"""bcrypt's own threads, half the cores (at most 4): a flood of wrong passwords queues here,
never delays DNS look-ups (the loop's default executor) or SQLite reads (the store's pool),
and leaves the other cores to the event loop."""
KNOWN_LANE = concurrent.futures.ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="aiwatch-bcrypt-known"
)
"""Checks of credentials that were valid before in this process: a flood of wrong passwords
cannot make a returning user wait behind it."""
MAX_WAITING_CHECKS = 64
"""Distinct password checks running or queued at once (known credentials aside); beyond,
503 with Retry-After: each costs tens of milliseconds of CPU, so a longer queue only makes
every answer later."""


@dataclass
class Checker:
    """Checks passwords against one web config's bcrypt hashes, caching recent successes.

    A success is remembered for ``CACHE_SECONDS`` under a digest of user, password and hash,
    so steady API use costs one bcrypt per minute per client. Unknown users are checked
    against a dummy hash of the same cost, so the answer time does not say who exists.
    """

    config: WebConfig
    broken: bool = False
    """The file was never readable and valid in this process: refuse every request."""
    cache_seconds: float = CACHE_SECONDS
    _ok: dict[bytes, float] = field(default_factory=dict)
    _known: dict[bytes, None] = field(default_factory=dict)
    """Digests of credentials that were valid (oldest first, at most ``CACHE_SIZE``)."""
    _running: dict[bytes, "asyncio.Future[bool]"] = field(default_factory=dict)
    _dummy: bytes | None = None

    def _dummy_hash(self) -> bytes:
        import bcrypt  # with the first password checked: a daemon without users never needs it

        if self._dummy is None:
            costs = [bcrypt_cost(h) or 10 for h in self.config.users.values()]
            rounds = max(costs, default=10)
            self._dummy = bcrypt.hashpw(os.urandom(16), bcrypt.gensalt(rounds=rounds))
        return self._dummy

    def _check(self, user: str, password: bytes) -> bool:
        import bcrypt  # with the first password checked: a daemon without users never needs it

        hashed = self.config.users.get(user)
        if hashed is None or len(password) > MAX_PASSWORD_BYTES:
            # bcrypt refuses longer passwords (as Go's does); they are simply wrong, after
            # the same work as any wrong password so the answer time tells nothing.
            bcrypt.checkpw(password[:MAX_PASSWORD_BYTES], self._dummy_hash())
            return False
        return bcrypt.checkpw(password, hashed.encode())

    async def verify(self, user: str, password: bytes) -> bool:
        """Whether ``password`` is ``user``'s; bcrypt runs in its own threads, never on the loop."""
        hashed = self.config.users.get(user, "")
        parts = [_SALT, user.encode(), password, hashed.encode()]
        key = hashlib.sha256(b"\0".join(parts)).digest()
        now = time.monotonic()
        until = self._ok.get(key)
        if until is not None and until > now:
            return True
        running = self._running.get(key)
        if running is not None:
            # The same credentials are being checked already (a burst of first requests).
            return await asyncio.shield(running)
        known = key in self._known
        if not known and len(self._running) >= MAX_WAITING_CHECKS:
            err = ApiError(
                503,
                "unavailable",
                f"{MAX_WAITING_CHECKS} password checks are waiting already; retry later",
            )
            err.headers["Retry-After"] = "1"
            raise err
        loop = asyncio.get_running_loop()
        pool = KNOWN_LANE if known else BCRYPT
        task = asyncio.ensure_future(loop.run_in_executor(pool, self._check, user, password))
        self._running[key] = task
        try:
            valid = await asyncio.shield(task)
        finally:
            if task.done():
                self._running.pop(key, None)
            else:
                task.add_done_callback(lambda _: self._running.pop(key, None))
        if valid:
            if len(self._ok) >= CACHE_SIZE:
                self._ok = {k: t for k, t in self._ok.items() if t > now}
                if len(self._ok) >= CACHE_SIZE:
                    self._ok.clear()
            self._ok[key] = now + self.cache_seconds
            self._known.pop(key, None)
            self._known[key] = None
            if len(self._known) > CACHE_SIZE:
                del self._known[next(iter(self._known))]
        return valid


class Policies:
    """The web config as of its file's last change (re-read when it changes, like Prometheus).

    A file that turns unreadable or invalid while running is logged and the last valid one
    kept. One that was never valid here fails closed (``Checker.broken``): treating it as
    "no web config" would serve every route without a password.
    """

    def __init__(self) -> None:
        self._by_path: dict[str, tuple[tuple[int, int], Checker]] = {}

    def get(self, path: str) -> Checker:
        """The checker for ``path`` (a broken one when the file has never been valid)."""
        known = self._by_path.get(path)
        try:
            stat = os.stat(path)
            signature = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            return known[1] if known else Checker(WebConfig(path=path), broken=True)
        if known is not None and known[0] == signature:
            return known[1]
        try:
            checker = Checker(load_web_config(path))
        except WebConfigError as err:
            log.error("Invalid web config; keeping the previous one", extra={"err": str(err)})
            checker = known[1] if known else Checker(WebConfig(path=path), broken=True)
        self._by_path[path] = (signature, checker)
        return checker


POLICIES = Policies()


def _credentials(request: web.Request) -> tuple[str, bytes] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    try:
        return user.decode(), password
    except UnicodeDecodeError:
        return None


def _unauthorized(message: str) -> ApiError:
    err = ApiError(401, "unauthorized", message)
    err.headers["WWW-Authenticate"] = REALM
    return err


def _state(request: web.Request) -> Any:
    return request.app.get(STATE)


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """401 without valid credentials (when users are configured), 403 for non-admins."""
    admin_route = request.method not in _READ_METHODS and not (
        request.method == "POST" and is_read_post(request.path)
    )
    if admin_route and (reason := cross_site(request)) is not None:
        fail(
            403,
            "forbidden",
            f"cross-site request refused ({reason}): a web page of another site cannot "
            "change aiwatch's state",
        )
    state = _state(request)
    path = state.options.web_config_file if state is not None else None
    checker = POLICIES.get(path) if path else None
    if checker is not None and checker.broken:
        fail(
            500,
            "internal",
            "the web config file is unreadable or invalid; aiwatch answers no request "
            "until it is fixed (see its log)",
        )
    if checker is None or not checker.config.users:
        if admin_route and not is_loopback(request.remote):
            fail(
                403,
                "forbidden",
                "admin routes answer only to loopback clients when no basic-auth users "
                "are configured in --web.config.file",
            )
        allowed = state.current.web.allowed_hosts if state is not None else ()
        if admin_route and (host := foreign_host(request, allowed)):
            fail(
                403,
                "forbidden",
                f"Host {host!r} is not a loopback name or address nor in web.allowed_hosts; "
                "without basic-auth users admin routes refuse it (DNS rebinding)",
            )
        return await handler(request)
    public = request.path.startswith(OPEN_PREFIX) or public_status(request, state)
    if not admin_route and (request.path in OPEN_PATHS or public):
        return await handler(request)
    credentials = _credentials(request)
    if credentials is None:
        raise _unauthorized("authentication required (HTTP basic auth)")
    user, password = credentials
    if not await checker.verify(user, password):
        raise _unauthorized("invalid user name or password")
    request[USER_KEY] = user
    if admin_route and user not in state.current.web.admin_users:
        fail(403, "forbidden", f"user {user!r} is not in web.admin_users")
    return await handler(request)
