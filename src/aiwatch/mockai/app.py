"""The mock OpenAI-compatible endpoint: an aiohttp app whose behaviour tests and demos script."""

import asyncio
import functools
import json
import uuid
from typing import Any

from aiohttp import web

from aiwatch.mockai import replies
from aiwatch.mockai.anthropic import Messages
from aiwatch.mockai.behavior import Behavior, build, error_answer, validate
from aiwatch.mockai.exchange import (
    MOCK,
    STALL_SECONDS,
    Clock,
    MockState,
    bad,
    endless_answer,
    handle,
    headers,
    prepare,
    raw_answer,
)
from aiwatch.mockai.gemini import GEMINI_METHODS, Gemini
from aiwatch.mockai.images import Images, image_file
from aiwatch.mockai.responses import Responses

DEFAULT_MODELS = ("mock-gpt", "mock-embedding")


def make_mock_app(
    *,
    seed: int = 0,
    behavior: dict[str, Any] | None = None,
    models: dict[str, dict[str, Any]] | None = None,
    api_key: str | None = None,
) -> web.Application:
    """The mock endpoint as an app; serve it under any host and port (tests use port 0).

    ``behavior`` is the default layer and ``models`` per-model layers (both as in
    ``POST /_mock/behavior``); with ``api_key`` set, other bearer tokens get a 401.
    """
    state = MockState(seed=seed, api_key=api_key)
    state.default.update(validate(behavior or {}))
    for name, layer in (models or {}).items():
        state.models[name] = validate(layer)
    app = web.Application()
    app[MOCK] = state
    app.router.add_post("/v1/chat/completions", _chat)
    app.router.add_post("/v1/embeddings", _embeddings)
    app.router.add_get("/v1/models", _models)
    app.router.add_post("/v1/messages", functools.partial(handle, api=Messages()))
    app.router.add_post("/v1/responses", functools.partial(handle, api=Responses()))
    app.router.add_post("/v1/images/generations", functools.partial(handle, api=Images()))
    app.router.add_get("/_mock/images/{name}", image_file)
    for version in ("v1", "v1beta"):
        app.router.add_post(
            f"/{version}/models/{{model:[^/:]+}}:{{method:{GEMINI_METHODS}}}",
            functools.partial(handle, api=Gemini()),
        )
    app.router.add_get("/_mock/behavior", _get_behavior)
    app.router.add_post("/_mock/behavior", _set_behavior)
    app.router.add_delete("/_mock/behavior", _clear_behavior)
    app.router.add_get("/_mock/stats", _stats)
    app.router.add_get("/_mock/requests", _requests)
    app.router.add_post("/_mock/reset", _reset)
    return app


async def _chat(request: web.Request) -> web.StreamResponse:
    state = request.app[MOCK]
    prepared = await prepare(request, "chat")
    if isinstance(prepared, web.Response):
        return prepared
    body, b = prepared
    clock = Clock(b, state.rng)
    state.in_flight += 1
    try:
        if b.raw_body is not None:
            return await raw_answer(request, b, clock)
        if b.answers_error():
            await clock.until(b.latency + clock.jitter)
            status, error = error_answer(b)
            state.stats[f"status:{status}"] += 1
            return web.json_response(error, status=status, headers=headers(b))
        state.stats["status:200"] += 1
        if body.get("stream"):
            return await _stream(request, body, b, clock)
        pieces = b.reply_pieces()
        ttft = b.latency if b.time_to_first_token is None else b.time_to_first_token
        generation = (len(pieces) - 1) / b.tokens_per_second if b.tokens_per_second else 0.0
        await clock.until(max(b.latency, ttft + max(generation, 0.0)) + clock.jitter)
        if b.endless_body:
            return await endless_answer(request, b)
        ident = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        return web.json_response(replies.completion(b, body, ident=ident), headers=headers(b))
    finally:
        state.in_flight -= 1


async def _stream(
    request: web.Request, body: dict[str, Any], b: Behavior, clock: Clock
) -> web.StreamResponse:
    """Stream the reply as OpenAI does: a role chunk, content chunks, finish, usage, [DONE]."""
    await clock.until(b.latency + clock.jitter)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **headers(b)}
    )
    await response.prepare(request)
    ident = f"chatcmpl-{uuid.uuid4().hex[:12]}"
    held: list[bytes] = []

    async def send(data: str) -> None:
        event = replies.sse_event(data, split=b.split_data_lines, comment=b.sse_comments)
        if b.buffer_stream:
            held.append(event)
        else:
            await response.write(event)

    def chunk(**kwargs: Any) -> str:
        return json.dumps(replies.chunk(b, body, ident=ident, **kwargs))

    await send(chunk(delta={"role": "assistant", "content": ""}))
    ttft = b.latency if b.time_to_first_token is None else b.time_to_first_token
    first = max(ttft, b.latency) + clock.jitter
    pieces = b.reply_pieces()
    # Faults "after N chunks" with N at or past the last chunk strike before the finish chunk.
    for i in range(len(pieces) + 1):
        if i < len(pieces):
            await clock.until(first + (i / b.tokens_per_second if b.tokens_per_second else 0.0))
        if b.stall_after is not None and min(b.stall_after, len(pieces)) == i:
            await asyncio.sleep(STALL_SECONDS)
        if b.stream_error_after is not None and min(b.stream_error_after, len(pieces)) == i:
            _, error = error_answer(build({"fault": "server_error", "error": b.error}))
            await send(json.dumps(error))
            await response.write(b"".join(held))
            await response.write_eof()
            return response
        if b.malformed_after is not None and min(b.malformed_after, len(pieces)) == i:
            await response.write(b'data: {"choices": [{"delta": {"content": "oops\n\n')
        if i < len(pieces):
            await send(chunk(delta={"content": pieces[i]}))
    await send(chunk(finish=True))
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") and not b.omit_usage:
        await send(chunk(usage_only=True))
    if not b.omit_done:
        await send("[DONE]")
    if held:
        await response.write(b"".join(held))
    await response.write_eof()
    return response


async def _embeddings(request: web.Request) -> web.StreamResponse:
    state = request.app[MOCK]
    prepared = await prepare(request, "embeddings")
    if isinstance(prepared, web.Response):
        return prepared
    body, b = prepared
    clock = Clock(b, state.rng)
    state.in_flight += 1
    try:
        if b.raw_body is not None:
            return await raw_answer(request, b, clock)
        await clock.until(b.latency + clock.jitter)
        if b.answers_error():
            status, error = error_answer(b)
            state.stats[f"status:{status}"] += 1
            return web.json_response(error, status=status, headers=headers(b))
        state.stats["status:200"] += 1
        return web.json_response(replies.embeddings(b, body), headers=headers(b))
    finally:
        state.in_flight -= 1


async def _models(request: web.Request) -> web.Response:
    state = request.app[MOCK]
    names = dict.fromkeys([*DEFAULT_MODELS, *state.models])
    data = [{"id": n, "object": "model", "created": 0, "owned_by": "aiwatch"} for n in names]
    return web.json_response({"object": "list", "data": data})


async def _get_behavior(request: web.Request) -> web.Response:
    state = request.app[MOCK]
    return web.json_response({"default": state.default, "models": state.models})


async def _set_behavior(request: web.Request) -> web.Response:
    """Replace the default layer, or with ``?model=NAME`` that model's layer."""
    state = request.app[MOCK]
    try:
        layer = validate(await request.json())
    except ValueError as err:
        return bad(400, f"bad mock behaviour: {err}", "mock_behavior")
    model = request.query.get("model")
    if model is None:
        state.default.clear()
        state.default.update(layer)
    else:
        state.models[model] = layer
    return web.json_response({"default": state.default, "models": state.models})


async def _clear_behavior(request: web.Request) -> web.Response:
    state = request.app[MOCK]
    state.default.clear()
    state.models.clear()
    return web.json_response({"default": {}, "models": {}})


async def _stats(request: web.Request) -> web.Response:
    state = request.app[MOCK]
    grouped: dict[str, Any] = {"requests": state.stats["requests"], "in_flight": state.in_flight}
    for prefix in ("path", "model", "kind", "status"):
        grouped[f"by_{prefix}"] = {
            k.split(":", 1)[1]: v for k, v in state.stats.items() if k.startswith(prefix + ":")
        }
    return web.json_response(grouped)


async def _requests(request: web.Request) -> web.Response:
    return web.json_response(list(request.app[MOCK].recent))


async def _reset(request: web.Request) -> web.Response:
    state = request.app[MOCK]
    seed: Any = None
    if request.can_read_body:
        try:
            seed = (await request.json()).get("seed")
        except (ValueError, AttributeError):
            return bad(400, 'the body must be a JSON object like {"seed": 1}')
    if seed is not None and not isinstance(seed, int):
        return bad(400, "seed must be an integer")
    state.reset(seed)
    return web.json_response({"seed": state.seed})
