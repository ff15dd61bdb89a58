"""What every page shares: templates, links under the external URL, who is looking, CSRF."""

import functools
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from aiohttp import web

from aiwatch import __version__
from aiwatch.app.keys import PAGES, STATE
from aiwatch.web.auth import may_change_state, request_user
from aiwatch.web.envelope import fail

if TYPE_CHECKING:
    import jinja2


def prefix(request: web.Request) -> str:
    """The path of the external URL (``/aiwatch`` behind a proxy at that path), or ""."""
    url = request.app[STATE].current.external_url
    return urlsplit(url).path.rstrip("/") if url else ""


def csrf_token(request: web.Request) -> str:
    """The form token of these credentials: an HMAC under this process's secret.

    A page of another site can neither read it nor compute it, so a POST it makes the
    browser send carries none; the token changes with the credentials and each restart.
    """
    credentials = request.headers.get("Authorization", "").encode()
    return hmac.new(request.app[PAGES].secret, credentials, hashlib.sha256).hexdigest()


async def form(request: web.Request) -> Mapping[str, str]:
    """The POSTed form's text fields, once its CSRF token is checked (403 otherwise)."""
    data = await request.post()
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    sent = fields.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), csrf_token(request).encode()):
        fail(403, "forbidden", "missing or wrong CSRF token: reload the page and submit again")
    return fields


def actor(request: web.Request, fields: Mapping[str, str]) -> str:
    """Who acts: the basic-auth user, else the form's ``by`` (no users: loopback admins)."""
    by = request_user(request) or fields.get("by", "").strip()
    if not by:
        fail(400, "bad_data", "say who you are (the 'by' field)")
    return by[:200]


def see_other(request: web.Request, path: str) -> NoReturn:
    """After a POST: back to a page (303), under the external URL's path."""
    raise web.HTTPSeeOther(prefix(request) + path)


def page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """Render ``template`` with what every page needs besides ``context``."""
    admin = may_change_state(request)
    shared = {
        "base": prefix(request),
        "user": request_user(request),
        "admin": admin,
        "csrf": csrf_token(request) if admin else "",
        "version": __version__,
        "path": request.path,
        "now": time.time(),
    }
    text = environment().get_template(template).render(shared | context)
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def when(ts: float | None) -> str:
    """A Unix time as ``2026-12-06 21:14:03 UTC``; "" for none."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(ts: float | None, now: float | None = None) -> str:
    """How long ago, roughly: ``42s``, ``7m``, ``3h``, ``2d``."""
    if ts is None:
        return ""
    seconds = max((time.time() if now is None else now) - ts, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def millis(seconds: float | None) -> str:
    """Seconds as ``123 ms`` or ``1.25 s``; "—" for none."""
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def lift(value: float, difference: str = "relative") -> str:
    """A lift as an experiment states it: ``+12.5%`` when relative, ``+0.031`` when absolute."""
    if difference != "relative":
        return f"{value:+.3g}"
    percent = value * 100
    return f"{percent:+.0f}%" if abs(percent) >= 100 else f"{percent:+.3g}%"


@functools.cache
def environment() -> "jinja2.Environment":
    """The templates packaged with aiwatch, autoescaped, with the pages' filters.

    Made when the first page is asked for: a daemon nobody browses never loads Jinja2."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aiwatch.pages", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(when=when, ago=ago, millis=millis, lift=lift)
    return env
