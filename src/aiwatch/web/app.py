"""The daemon's own HTTP surface: core routes, the error envelope, ``/metrics`` streaming."""

import asyncio
import logging
import platform
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from aiwatch import __version__, metrics
from aiwatch.app.keys import READINESS, READY, REGISTRY, RENDERERS, STATE
from aiwatch.persistence import SLICE_S
from aiwatch.runtime import ConfigState
from aiwatch.web.envelope import ApiError, body_limit, fail, ok

log = logging.getLogger("aiwatch.web")

EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"


class SelfCollector:
    """``aiwatch_build_info`` and the config-reload gauges, read live from the state."""

    def __init__(self, state: ConfigState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        """Yield the self metrics (called by prometheus-client at each scrape)."""
        info = GaugeMetricFamily(
            metrics.BUILD_INFO.name, metrics.BUILD_INFO.help, labels=["version", "python_version"]
        )
        info.add_metric([__version__, platform.python_version()], 1.0)
        yield info
        yield GaugeMetricFamily(
            metrics.CONFIG_RELOAD_OK.name,
            metrics.CONFIG_RELOAD_OK.help,
            value=1.0 if self._state.last_reload_successful else 0.0,
        )
        yield GaugeMetricFamily(
            metrics.CONFIG_RELOAD_TS.name,
            metrics.CONFIG_RELOAD_TS.help,
            value=self._state.last_reload_success_timestamp,
        )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error leaves as the JSON envelope; no traceback reaches a client."""
    try:
        return await handler(request)
    except ApiError:
        raise
    except web.HTTPRequestEntityTooLarge:
        fail(413, "bad_data", f"request body too large (limit {body_limit(request)} bytes)")
    except web.HTTPNotFound:
        fail(404, "not_found", f"no route {request.method} {request.path}")
    except web.HTTPMethodNotAllowed as err:
        allowed = sorted(err.allowed_methods)
        message = f"method {request.method} not allowed here (allowed: {', '.join(allowed)})"
        error = ApiError(405, "bad_data", message)
        error.headers["Allow"] = ",".join(allowed)  # RFC 9110: a 405 must say what is allowed
        raise error from None
    except web.HTTPException as err:
        if err.status < 400:
            raise
        fail(err.status, "bad_data", err.reason)
    except Exception:
        log.exception("Unhandled error", extra={"path": request.path})
        fail(500, "internal", "internal error; see the aiwatch log")


# Large pages go out in pieces of about this size, each written with flow control and
# followed by a turn of the event loop: the probe series are rendered as the page is written
# (no copy of the page is kept between scrapes), so a scrape of thousands of targets never
# renders, copies or holds the loop for more than one piece at a time.
_WRITE_CHUNK = 256 * 1024


def render_metrics(app: web.Application) -> Iterator[bytes]:
    """The whole ``/metrics`` page as pieces, rendered as they are asked for: the
    registry, then each feature's renderer."""
    yield generate_latest(app[REGISTRY])
    for render in app[RENDERERS]:
        yield from render()


async def metrics_chunks(app: web.Application) -> AsyncIterator[bytes]:
    """``render_metrics`` joined into chunks of about ``_WRITE_CHUNK`` bytes (or what
    ``SLICE_S`` of rendering made, as a self-scrape slice), with a turn of the event loop
    before each next chunk."""
    batch: list[bytes] = []
    size = 0
    deadline = time.perf_counter() + SLICE_S
    for part in render_metrics(app):
        batch.append(part)
        size += len(part)
        if size >= _WRITE_CHUNK or time.perf_counter() >= deadline:
            yield b"".join(batch)
            batch, size = [], 0
            await asyncio.sleep(0)
            deadline = time.perf_counter() + SLICE_S
    if batch:
        yield b"".join(batch)


async def handle_metrics(request: web.Request) -> web.StreamResponse:
    """GET /metrics, streamed in chunks."""
    chunks = metrics_chunks(request.app)
    first = await anext(chunks, b"")  # a failure here is still a 500, not a cut page
    response = web.StreamResponse(headers={"Content-Type": EXPOSITION})
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def handle_healthy(_: web.Request) -> web.Response:
    """GET /-/healthy: the process is up."""
    return web.Response(text="aiwatch is Healthy.\n")


async def handle_ready(request: web.Request) -> web.Response:
    """GET /-/ready: the config is loaded and the server serves."""
    if not request.app[READY][0]:
        return web.Response(status=503, text="aiwatch is not ready.\n")
    problems = [p for check in request.app[READINESS] if (p := check()) is not None]
    if problems:
        return web.Response(status=503, text=f"aiwatch is not ready: {'; '.join(problems)}\n")
    return web.Response(text="aiwatch is Ready.\n")


async def handle_reload(request: web.Request) -> web.Response:
    """POST /-/reload: load the config again; a bad one is reported and the old one kept."""
    error = await request.app[STATE].reload()
    if error is not None:
        # A 500 as in Prometheus (the request was fine; the file on disk is not), so its
        # errorType is the one that goes with 500.
        fail(500, "internal", "invalid config, previous one kept:\n" + str(error))
    return ok({"reloaded": True})


async def handle_status_config(request: web.Request) -> web.Response:
    """GET /api/v1/status/config: the loaded config, secrets shown as ``<secret>``."""
    config = request.app[STATE].current
    return ok({"file": config.path, "config": config.raw})


def add_routes(router: web.UrlDispatcher) -> None:
    """The daemon's own routes: ``/metrics``, health, readiness, reload and its config."""
    router.add_get("/metrics", handle_metrics)
    router.add_get("/-/healthy", handle_healthy)
    router.add_get("/-/ready", handle_ready)
    router.add_post("/-/reload", handle_reload)
    router.add_get("/api/v1/status/config", handle_status_config)
