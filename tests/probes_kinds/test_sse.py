"""The SSE decoder on its own: line endings, comments, multi-line data, split chunks."""

from hypothesis import given, settings
from hypothesis import strategies as st

from aiwatch.probes.sse import SSEDecoder


def feed_all(chunks: list[bytes]) -> list[str]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    return events + decoder.close()


def test_events_split_anywhere_across_chunks_decode_the_same() -> None:
    """Feeding a stream byte by byte gives the same events as feeding it whole."""
    stream = (
        b': hi\r\ndata: {"a": 1}\r\n\r\nevent: x\nid: 3\ndata: one\ndata: two\n\ndata: [DONE]\n\n'
    )
    whole = feed_all([stream])
    assert whole == ['{"a": 1}', "one\ntwo", "[DONE]"]
    assert feed_all([stream[i : i + 1] for i in range(len(stream))]) == whole


def test_utf8_split_inside_a_character_survives() -> None:
    """A multi-byte character cut between two chunks is decoded intact."""
    data = "data: héllo ✓\n\n".encode()
    cut = data.index("✓".encode()) + 1
    assert feed_all([data[:cut], data[cut:]]) == ["héllo ✓"]


def test_cr_only_line_endings_and_no_space_after_colon() -> None:
    """Bare CR ends lines too, and "data:x" (no space) keeps its whole value."""
    assert feed_all([b"data:x\r\rdata:  y\r\r"]) == ["x", " y"]


def test_comment_only_stream_has_no_events_and_close_flushes_a_tail() -> None:
    """Comments produce nothing; an event missing its blank line is delivered at close."""
    decoder = SSEDecoder()
    assert decoder.feed(b": keep-alive\n\n: again\n\ndata: tail") == []
    assert decoder.close() == ["tail"]


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """Events (data values without CR/LF) and a wire encoding with mixed line endings."""
    text = st.text(
        alphabet=st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]),
        max_size=20,
    )
    events = draw(st.lists(st.lists(text, min_size=1, max_size=3), max_size=6))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    wire = ""
    for lines in events:
        if draw(st.booleans()):
            wire += f": comment{eol}"
        wire += "".join(f"data: {line}{eol}" for line in lines) + eol
    return ["\n".join(lines) for lines in events], wire.encode()


@settings(max_examples=200, deadline=None)
@given(stream=streams(), data=st.data())
def test_any_chunking_of_any_stream_gives_its_events(
    stream: tuple[list[str], bytes], data: st.DataObject
) -> None:
    """Whatever the events and wherever the chunks are cut, the decoded events are the same."""
    events, wire = stream
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    assert feed_all(chunks) == events
