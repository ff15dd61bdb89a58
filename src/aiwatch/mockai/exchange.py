"""What every API of the mock shares: its control state, reading a request into a behaviour,
the clock that paces an answer, and the fault schedule of a stream."""

import asyncio
import json
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from aiwatch.mockai.behavior import Behavior, build, validate

BEHAVIOR_HEADER = "x-mock-behavior"
STALL_SECONDS = 3600.0  # "forever" for a stalled stream; ends when the client goes away
_ENDLESS_PIECE = b" " * 65536


@dataclass
class MockState:
    """The control plane: default and per-model behaviour layers, counters, recent requests."""

    seed: int = 0
    default: dict[str, Any] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_key: str | None = None
    stats: Counter[str] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    in_flight: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def reset(self, seed: int | None = None) -> None:
        """Forget behaviours, counters and recent requests; reseed the RNG."""
        self.seed = self.seed if seed is None else seed
        self.default.clear()
        self.models.clear()
        self.stats.clear()
        self.recent.clear()
        self.rng = random.Random(self.seed)


MOCK: web.AppKey[MockState] = web.AppKey("mock", MockState)


def bad(status: int, message: str, code: str | None = None) -> web.Response:
    """An OpenAI-shaped 400-class answer to a request the mock cannot take."""
    error = {"type": "invalid_request_error", "code": code, "param": None, "message": message}
    return web.json_response({"error": error}, status=status)


def bearer_key(request: web.Request) -> str | None:
    """The key of an OpenAI-style request: ``Authorization: Bearer KEY``."""
    value = request.headers.get("Authorization")
    return value.removeprefix("Bearer ") if value and value.startswith("Bearer ") else None


async def prepare(
    request: web.Request,
    kind: str,
    *,
    model: str | None = None,
    key: Callable[[web.Request], str | None] = bearer_key,
) -> tuple[dict[str, Any], Behavior] | web.Response:
    """Parse the body, layer the behaviour and count the request; or an error answer.

    ``model`` names the model when the API puts it in the path (Gemini); ``key`` reads the
    API key the way the API sends it.
    """
    state = request.app[MOCK]
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise TypeError
    except (ValueError, TypeError):
        return bad(400, "the body must be a JSON object")
    try:
        body_layer = validate(body.pop("mock", {}))
        header = request.headers.get(BEHAVIOR_HEADER)
        header_layer = validate(json.loads(header)) if header else {}
        model = str(body.get("model", "")) if model is None else model
        b = build(state.default, state.models.get(model, {}), body_layer, header_layer)
    except (ValueError, TypeError) as err:
        return bad(400, f"bad mock behaviour: {err}", "mock_behavior")
    _record(state, request, model, body)
    if state.api_key is not None and key(request) != state.api_key:
        b = build({"fault": "invalid_api_key", "latency": b.latency})
    elif b.error_rate:
        # With an error rate, fault/status describe the error sent that often; else a reply.
        if state.rng.random() < b.error_rate:
            erring = b.fault or (None if b.answers_error() else "server_error")
            b = build(as_layer(b), {"fault": erring})
        else:
            b = build(as_layer(b), {"fault": None, "status": 200})
    state.stats[f"kind:{kind}"] += 1
    return body, b


def _record(state: MockState, request: web.Request, model: str, body: dict[str, Any]) -> None:
    state.stats["requests"] += 1
    state.stats[f"path:{request.path}"] += 1
    state.stats[f"model:{model}"] += 1
    state.recent.append(
        {
            "path": request.path,
            "query": dict(request.query),
            "authorization": request.headers.get("Authorization"),
            "authorization_headers": len(request.headers.getall("Authorization", [])),
            # Which client connection carried it: tests tell kept-alive from new ones.
            "client_port": (request.transport.get_extra_info("peername") or ("", 0))[1]
            if request.transport
            else None,
            "headers": dict(request.headers),
            "body": body,
        }
    )


def as_layer(b: Behavior) -> dict[str, Any]:
    """A behaviour as a layer again, to override some keys of it."""
    return {k: getattr(b, k) for k in Behavior.__dataclass_fields__}


def headers(b: Behavior) -> dict[str, str]:
    """The response headers a behaviour asks for: OpenAI's rate-limit headers and its own."""
    out = dict(b.headers)
    if b.ratelimit_remaining_requests is not None:
        out["x-ratelimit-remaining-requests"] = str(b.ratelimit_remaining_requests)
    if b.ratelimit_remaining_tokens is not None:
        out["x-ratelimit-remaining-tokens"] = str(b.ratelimit_remaining_tokens)
    return out


class Clock:
    """Sleeps until points in time measured from the request's arrival."""

    def __init__(self, b: Behavior, rng: random.Random) -> None:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.jitter = rng.uniform(0.0, b.latency_jitter) if b.latency_jitter else 0.0

    async def until(self, offset: float) -> None:
        """Sleep until ``offset`` seconds after the request arrived."""
        delay = self.t0 + offset - self.loop.time()
        if delay > 0:
            await asyncio.sleep(delay)


def first_token_at(b: Behavior, clock: Clock) -> float:
    """Seconds from the request's arrival to the first content chunk."""
    ttft = b.latency if b.time_to_first_token is None else b.time_to_first_token
    return max(ttft, b.latency) + clock.jitter


async def whole_reply(b: Behavior, clock: Clock) -> None:
    """Wait as a non-streamed answer does: for the whole generation."""
    pieces = b.thinking_pieces() + b.reply_pieces()
    ttft = b.latency if b.time_to_first_token is None else b.time_to_first_token
    generation = (len(pieces) - 1) / b.tokens_per_second if b.tokens_per_second else 0.0
    await clock.until(max(b.latency, ttft + max(generation, 0.0)) + clock.jitter)


@dataclass(frozen=True)
class StreamWriter:
    """How one API writes the parts of a stream the fault schedule decides about."""

    piece: Callable[[int, str], Awaitable[None]]
    """Send content chunk ``i`` with its text."""
    error: Callable[[], Awaitable[None]]
    """Send an error event (the stream ends after it)."""
    malformed: Callable[[], Awaitable[None]]
    """Send an event whose JSON is cut short."""


async def play(b: Behavior, clock: Clock, pieces: list[str], out: StreamWriter) -> bool:
    """Send the content chunks at the behaviour's pace with its faults; False once an error
    event ended the stream. An ``…_after`` at or past the last chunk strikes after it."""
    first = first_token_at(b, clock)
    for i in range(len(pieces) + 1):
        if i < len(pieces):
            await clock.until(first + (i / b.tokens_per_second if b.tokens_per_second else 0.0))
        if b.stall_after is not None and min(b.stall_after, len(pieces)) == i:
            await asyncio.sleep(STALL_SECONDS)
        if b.stream_error_after is not None and min(b.stream_error_after, len(pieces)) == i:
            await out.error()
            return False
        if b.malformed_after is not None and min(b.malformed_after, len(pieces)) == i:
            await out.malformed()
        if i < len(pieces):
            await out.piece(i, pieces[i])
    return True


def count_status(request: web.Request, status: int) -> None:
    """Count an answer's status for ``GET /_mock/stats``."""
    request.app[MOCK].stats[f"status:{status}"] += 1


async def raw_answer(request: web.Request, b: Behavior, clock: Clock) -> web.Response:
    """The behaviour's ``raw_body`` with its ``status``, for malformed answers."""
    await clock.until(b.latency + clock.jitter)
    count_status(request, b.status)
    return web.Response(
        text=b.raw_body, status=b.status, content_type="application/json", headers=headers(b)
    )


async def endless_answer(request: web.Request, b: Behavior) -> web.StreamResponse:
    """A JSON body that never ends."""
    response = web.StreamResponse(headers={"Content-Type": "application/json", **headers(b)})
    await response.prepare(request)
    await response.write(b'{"padding": "')
    # Bounded only by the client: it stops reading, the write fails, the handler ends.
    while True:
        await response.write(_ENDLESS_PIECE)


class EventStream:
    """A ``text/event-stream`` answer; with ``buffer_stream`` its events are held and sent in
    one write at the end, as a proxy that buffers the stream does."""

    def __init__(self, response: web.StreamResponse, b: Behavior) -> None:
        self.response = response
        self.held: list[bytes] | None = [] if b.buffer_stream else None

    async def write(self, data: bytes) -> None:
        """Send (or hold) bytes of the stream."""
        if self.held is None:
            await self.response.write(data)
        else:
            self.held.append(data)

    async def end(self) -> web.StreamResponse:
        """Send what was held and end the stream."""
        if self.held:
            await self.response.write(b"".join(self.held))
        await self.response.write_eof()
        return self.response


async def event_stream(request: web.Request, b: Behavior, extra: dict[str, str]) -> EventStream:
    """A prepared ``text/event-stream`` answer with the ``extra`` headers."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **extra}
    )
    await response.prepare(request)
    return EventStream(response, b)


def sse(name: str | None, data: str, b: Behavior) -> bytes:
    """One server-sent event: ``event:`` when named, its ``data:`` (split over two lines with
    ``split_data_lines``) and a keep-alive comment before it with ``sse_comments``."""
    lines = [": keep-alive\n\n"] if b.sse_comments else []
    if name is not None:
        lines.append(f"event: {name}\n")
    # Split after a ", " separator: the line break joining the two lines is JSON whitespace.
    cut = data.find(", ", len(data) // 2) + 1 if b.split_data_lines else 0
    if cut > 0:
        lines.append(f"data: {data[:cut]}\ndata: {data[cut:]}\n\n")
    else:
        lines.append(f"data: {data}\n\n")
    return "".join(lines).encode()


class Api(Protocol):
    """One API the mock speaks, beside OpenAI Chat Completions."""

    kind: str
    """Counted in ``by_kind`` of ``GET /_mock/stats``."""

    def key(self, request: web.Request) -> str | None:
        """The API key as the request presents it."""

    def model(self, request: web.Request, body: dict[str, Any]) -> str:
        """The requested model."""

    def headers(self, b: Behavior) -> dict[str, str]:
        """The response headers (rate limits in the API's own names)."""

    def error(self, b: Behavior) -> tuple[int, dict[str, Any]]:
        """The status and body of an error answer."""

    def streams(self, request: web.Request, body: dict[str, Any]) -> bool:
        """Whether the request asks for a stream."""

    def reply(self, b: Behavior, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        """The whole (non-streamed) answer."""

    async def stream(
        self, request: web.Request, body: dict[str, Any], b: Behavior, clock: Clock
    ) -> web.StreamResponse:
        """Stream the answer."""


async def handle(request: web.Request, api: Api) -> web.StreamResponse:
    """Answer one API request as the behaviour says: raw, error, stream or whole reply."""
    state = request.app[MOCK]
    model = api.model(request, {}) if request.match_info.get("model") else None
    prepared = await prepare(request, api.kind, model=model, key=api.key)
    if isinstance(prepared, web.Response):
        return prepared
    body, b = prepared
    clock = Clock(b, state.rng)
    state.in_flight += 1
    try:
        if b.raw_body is not None:
            return await raw_answer(request, b, clock)
        # An API may answer a fault with a 2xx (Gemini's blocked prompt): its reply shows it.
        if b.answers_error() and not 200 <= (answer := api.error(b))[0] < 300:
            await clock.until(b.latency + clock.jitter)
            count_status(request, answer[0])
            return web.json_response(answer[1], status=answer[0], headers=api.headers(b))
        count_status(request, 200)
        if api.streams(request, body):
            await clock.until(b.latency + clock.jitter)
            return await api.stream(request, body, b, clock)
        await whole_reply(b, clock)
        if b.endless_body:
            return await endless_answer(request, b)
        reply = api.error(b)[1] if b.answers_error() else api.reply(b, request, body)
        return web.json_response(reply, headers=api.headers(b))
    finally:
        state.in_flight -= 1
