"""Server-sent events: a decoder (bytes in, the ``data`` of each complete event out) and the
reading of a streamed answer with it."""

import json
from collections.abc import Callable
from typing import Any

import aiohttp

from aiwatch.probes.errors import ProbeFailure
from aiwatch.probes.exchange import Measurement


class SSEDecoder:
    """Incremental decoder for ``text/event-stream`` (the subset streaming AI APIs use).

    Lines end in LF, CRLF or CR; ``:`` starts a comment; an event's ``data:`` lines are joined
    with ``\\n``; a blank line dispatches the event; ``event:``, ``id:`` and ``retry:`` are read
    past, since OpenAI-compatible streams carry everything in ``data``.
    """

    __slots__ = ("_buffer", "_data")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        """The events completed by ``chunk`` (possibly none: events may span chunks)."""
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            # A CR at the very end may be the first half of a CRLF split across chunks.
            keep_cr = buffer.endswith(b"\r")
            buffer = buffer.replace(b"\r\n", b"\n")
            if keep_cr:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r", b"\n")
            if keep_cr:
                buffer += b"\r"
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        events: list[str] = []
        for raw in lines:
            self._line(raw.decode("utf-8", errors="replace"), events)
        return events

    def close(self) -> list[str]:
        """At the end of the stream: an event whose blank line never came, if any."""
        events: list[str] = []
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r").decode("utf-8", errors="replace"), events)
            self._buffer = b""
        self._line("", events)
        return events

    def _line(self, line: str, events: list[str]) -> None:
        if not line:
            if self._data:
                events.append("\n".join(self._data))
                self._data = []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)


async def read_events(
    response: aiohttp.ClientResponse,
    m: Measurement,
    limit: int,
    on_event: Callable[[str], bool],
) -> bool:
    """Feed each event's data of a ``text/event-stream`` answer to ``on_event`` as it arrives,
    until it returns True (the API's last event); False when the stream ended before that.

    Bounded by ``limit`` bytes (``invalid_response``); a broken stream is a ``stream_error``.
    """
    content_type = response.headers.get("Content-Type", "")
    if not content_type.lower().startswith("text/event-stream"):
        msg = f"asked for a stream but got Content-Type {content_type or 'none'!r}"
        raise ProbeFailure("invalid_response", msg)
    decoder = SSEDecoder()
    size = 0
    try:
        async for chunk in response.content.iter_any():
            m.got_bytes(chunk)
            size += len(chunk)
            if size > limit:
                msg = f"stream larger than max_body_bytes ({limit})"
                raise ProbeFailure("invalid_response", msg)
            if any(on_event(data) for data in decoder.feed(chunk)):
                return True
    except aiohttp.ClientPayloadError as err:
        raise ProbeFailure("stream_error", f"stream broken: {err}") from None
    return any(on_event(data) for data in decoder.close())


def event_object(data: str) -> dict[str, Any]:
    """An event's data as a JSON object, or an ``invalid_response`` failure."""
    try:
        document = json.loads(data)
    except ValueError:
        msg = f"invalid JSON in a stream event: {data[:200]!r}"
        raise ProbeFailure("invalid_response", msg) from None
    if not isinstance(document, dict):
        msg = f"stream event is not a JSON object: {data[:200]!r}"
        raise ProbeFailure("invalid_response", msg)
    return document
