"""A server-sent events decoder: bytes in, the ``data`` of each complete event out."""


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
