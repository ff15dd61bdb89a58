"""The notifications component: Alertmanager forwarding (and the outbox sender)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from aiwatch.notify.forward import AlertmanagerForwarder
from aiwatch.rules.web import ALERT_SINKS
from aiwatch.web.app import STATE

ALERTMANAGER_FORWARDER = web.AppKey("alertmanager_forwarder", AlertmanagerForwarder)
"""An ``AlertSink``: the rules engine's events to every ``alertmanager.forward_to``."""


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    session = aiohttp.ClientSession()
    forwarder = asyncio.create_task(
        app[ALERTMANAGER_FORWARDER].run(session), name="aiwatch-alertmanager"
    )
    yield
    await _stop(forwarder)
    await session.close()


def setup(app: web.Application) -> None:
    """Add notifications; registers forwarding as a sink of the rules engine."""
    state = app[STATE]
    forwarder = AlertmanagerForwarder(config=lambda: state.current)
    app[ALERTMANAGER_FORWARDER] = forwarder
    app[ALERT_SINKS].append(forwarder)
    app.cleanup_ctx.append(_lifecycle)
