"""Experiments managed over the API: create, change a draft, delete, and the blue-green switch.

A created experiment is checked exactly as the config file's experiments are (the loaded
config's targets and data source); every problem comes back at once with its JSON path.
Config-defined experiments are read-only here (409). ``PATCH`` takes a JSON merge patch
(RFC 7386) of the stored document.
"""

from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from aiohttp import web

from aiwatch.app.keys import STATE, TRACKER
from aiwatch.config.documents import Problems, check_experiment
from aiwatch.experiments.tracker import Conflict
from aiwatch.experiments.views import describe, live_of
from aiwatch.web.envelope import ApiError, fail, ok, read_json

AfterChange = Callable[[], Awaitable[None]]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def invalid(problems: Problems) -> NoReturn:
    """400 with every problem, each with its JSON path, in ``problems``."""
    raise ApiError(
        400,
        "bad_data",
        "; ".join(f"{path}: {message}" for path, message in problems),
        details={"problems": [{"path": p, "message": m} for p, m in problems]},
    )


def _checked(request: web.Request, document: Any) -> Any:
    experiment, problems = check_experiment(document, request.app[STATE].current)
    if experiment is None:
        invalid(problems)
    return experiment


async def handle_create(request: web.Request) -> web.Response:
    """POST /api/v1/experiments: a new experiment (a draft unless ``state`` says otherwise)."""
    document = await read_json(request)
    if isinstance(document, dict):
        document.setdefault("state", "draft")
    experiment = _checked(request, document)
    try:
        live = await request.app[TRACKER].define(experiment, document)
    except Conflict as err:
        fail(409, "bad_data", str(err))
    return ok(describe(live), status=201)


async def handle_patch(request: web.Request) -> web.Response:
    """PATCH /api/v1/experiments/{name}: change a draft API-defined experiment."""
    live = live_of(request)
    patch = await read_json(request)
    if live.source != "api" or live.document is None:
        fail(409, "bad_data", f"experiment {live.config.name!r} is defined in the config file")
    document = merge_patch(live.document, patch)
    if isinstance(document, dict) and document.get("name") != live.config.name:
        invalid([("$.name", "an experiment cannot be renamed; create a new one")])
    experiment = _checked(request, document)
    try:
        live = await request.app[TRACKER].redefine(experiment, document)
    except Conflict as err:
        fail(409, "bad_data", str(err))
    return ok(describe(live))


def deleter(after: AfterChange) -> Callable[[web.Request], Awaitable[web.Response]]:
    """DELETE /api/v1/experiments/{name}: archive a draft or stopped API-defined one."""

    async def handle_delete(request: web.Request) -> web.Response:
        live = live_of(request)
        try:
            archive_id = await request.app[TRACKER].delete(live.config.name)
        except Conflict as err:
            fail(409, "bad_data", str(err))
        await after()
        return ok({"name": live.config.name, "archived": archive_id})

    return handle_delete


def switcher(after: AfterChange) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST /api/v1/experiments/{name}/switch: a blue-green experiment's traffic moved."""

    async def handle_switch(request: web.Request) -> web.Response:
        live = live_of(request)
        try:
            live = await request.app[TRACKER].switch(live.config.name)
        except Conflict as err:
            fail(409, "bad_data", str(err))
        await after()
        return ok(describe(live))

    return handle_switch
