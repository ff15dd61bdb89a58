"""Apprise delivery, off the event loop: each send runs in its own thread under a deadline.

Apprise is synchronous. A plain daemon thread (not an executor) runs each send, so a
notifier that hangs can neither block the loop nor hold the process open at exit.

Apprise is imported by the functions that use it, never at the top: it and its plugins take
about 20 MB and half a second, which a daemon without notification routes never needs.
"""

import asyncio
import contextlib
import logging
import os
import re
import threading
from dataclasses import dataclass

from aiwatch.config.model import Route
from aiwatch.config.yamlpos import format_path
from aiwatch.notify.messages import Message

log = logging.getLogger("aiwatch.notify")

DEFAULT_TIMEOUT = 15.0

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


class RedactURLs(logging.Filter):
    """Masks every URL in Apprise's own log lines.

    Apprise logs the URLs it is given (``Unparseable URL slack://T…/token``, and at debug
    level the webhook it posts to), and an Apprise URL is a secret: its path or query often
    holds the token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with its URLs replaced; never drop the record."""
        text = record.getMessage()
        if _URL.search(text):
            record.msg = _URL.sub("<secret URL>", text)
            record.args = ()
        return True


_APPRISE_LOG = logging.getLogger("apprise")
if not any(isinstance(f, RedactURLs) for f in _APPRISE_LOG.filters):
    _APPRISE_LOG.addFilter(RedactURLs())


@dataclass(frozen=True)
class Destination:
    """One place a route sends to: an Apprise URL, or an Apprise config file with tags.

    ``key`` names it stably (``url0``, ``config``) so a retry can skip destinations that
    already got the message, without the secret URL ever being stored.
    """

    key: str
    url: str | None = None
    config_path: str | None = None
    tags: tuple[str, ...] = ()


def destinations(route: Route, *, base: str = "") -> list[Destination]:
    """Where ``route`` sends, in order; a relative ``apprise_config`` is under ``base``."""
    out = [Destination(key=f"url{i}", url=u.reveal()) for i, u in enumerate(route.apprise)]
    if route.apprise_config:
        path = os.path.join(base, route.apprise_config)
        out.append(Destination(key="config", config_path=path, tags=route.tags))
    return out


@dataclass(frozen=True)
class RouteProblem:
    """Why a route can never deliver, at the key of the route it concerns (``apprise``, 1)."""

    key: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return f"{format_path(self.key)}: {self.message}"


def route_problems(route: Route, *, base: str = "") -> list[RouteProblem]:
    """What keeps ``route`` from ever delivering: bad URLs (by position), unusable config.

    Runs Apprise's own parsing, so it is blocking; the messages never contain a URL.
    """
    import apprise

    problems = []
    asset = apprise.AppriseAsset(async_mode=False)
    for i, url in enumerate(route.apprise):
        if apprise.Apprise.instantiate(url.reveal(), asset=asset) is None:
            problems.append(RouteProblem(("apprise", i), "not a valid Apprise URL"))
    if route.apprise_config:
        path = os.path.join(base, route.apprise_config)
        if not os.access(path, os.R_OK) or not os.path.isfile(path):
            problems.append(RouteProblem(("apprise_config",), f"cannot read {path}"))
            return problems
        client = apprise.Apprise(asset=asset)
        config = apprise.AppriseConfig(asset=asset)
        config.add(path)
        client.add(config)
        tag = list(route.tags) if route.tags else apprise.common.MATCH_ALL_TAG
        if not list(client.find(tag=tag)):
            message = (
                f"no service in it has the tags {', '.join(route.tags)}"
                if route.tags
                else "it holds no valid Apprise URL"
            )
            problems.append(RouteProblem(("apprise_config",), message))
    return problems


def notify_blocking(destination: Destination, message: Message) -> str | None:
    """Send one message now, in the calling thread; None on success, else why not."""
    # In this thread, without Apprise's own deadline: its deadlines run the send in its
    # thread pools, which the interpreter joins at exit, so a hanging service would hold
    # up shutdown. ``deliver``'s time limit applies instead, and this thread is a daemon.
    import apprise

    asset = apprise.AppriseAsset(async_mode=False, service_timeout=0)
    client = apprise.Apprise(asset=asset)
    if destination.url is not None and not client.add(destination.url):
        return "invalid Apprise URL"
    if destination.config_path is not None:
        config = apprise.AppriseConfig(asset=asset)
        if not config.add(destination.config_path):
            return f"cannot read Apprise config {destination.config_path}"
        client.add(config)
    if len(client) == 0:
        return "no Apprise services (empty config or no tag match)"
    result = client.notify(
        title=message.title,
        body=message.body,
        notify_type=message.notify_type,
        tag=list(destination.tags) if destination.tags else apprise.common.MATCH_ALL_TAG,
    )
    return None if bool(result) else "Apprise reported a failed delivery"


async def deliver(
    destination: Destination,
    message: Message,
    *,
    time_limit: float = DEFAULT_TIMEOUT,
) -> str | None:
    """Send in a daemon thread, waiting at most ``time_limit``; None on success, else why."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str | None] = loop.create_future()

    def settle(result: str | None) -> None:
        if not done.done():
            done.set_result(result)

    def work() -> None:
        try:
            result = notify_blocking(destination, message)
        except Exception as err:  # Apprise plugins raise more than they document
            log.exception("Apprise raised", extra={"destination": destination.key})
            result = f"Apprise raised {type(err).__name__}"
        with contextlib.suppress(RuntimeError):  # the loop closed while we sent
            loop.call_soon_threadsafe(settle, result)

    threading.Thread(target=work, name="aiwatch-apprise", daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.shield(done), time_limit)
    except TimeoutError:
        return f"timed out after {time_limit:g}s"


def warm_up() -> None:
    """Load Apprise's plugins now (about half a second), not on the first alert."""
    import apprise

    apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False)).add("json://localhost")
