"""Encoded chunks give back every sample bit for bit, and a chunked series reads as a plain one."""

import math
import struct
from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from aiwatch.promql import STALE_NAN, LabelMatcher, MemoryStorage, chunks
from aiwatch.promql.series import HEAD

_FLOAT_BITS = st.integers(0, 2**64 - 1).map(lambda b: struct.unpack("<d", struct.pack("<Q", b))[0])
VALUES = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, math.inf, -math.inf, math.nan, STALE_NAN, 2.0**62, 2.0**70]),
    st.integers(-(2**40), 2**40).map(float),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    _FLOAT_BITS,  # every NaN payload too
)
STEPS = st.one_of(st.just(15_000), st.integers(1, 20), st.integers(1, 2**40))


def _bits(values: "array[float] | list[float]") -> bytes:
    return array("d", values).tobytes()


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(-(2**50), 2**50),
    steps=st.lists(STEPS, min_size=0, max_size=chunks.CHUNK - 1),
    values=st.lists(VALUES, min_size=chunks.CHUNK, max_size=chunks.CHUNK),
    deflate=st.booleans(),
)
def test_chunk_round_trip_is_bit_exact(
    start: int, steps: list[int], values: list[float], *, deflate: bool
) -> None:
    """Irregular timestamps and any float (NaN payloads, the stale marker, -0.0, infinities)
    come back exactly, deflated or not."""
    times = array("q", [start])
    for step in steps:
        times.append(times[-1] + step)
    kept = array("d", values[: len(times)])
    chunk = chunks.encode(times, kept, deflate=deflate)
    assert chunks.count(chunk) == len(times)
    assert chunks.decode_times(chunk) == times
    assert chunks.decode_values(chunk).tobytes() == kept.tobytes()


def test_regular_constant_and_counter_chunks_are_small() -> None:
    """A regular 0/1 gauge takes a few bytes per chunk, a jittered counter about 1 per sample."""
    times = array("q", range(0, 15_000 * chunks.CHUNK, 15_000))
    assert len(chunks.encode(times, array("d", [1.0] * chunks.CHUNK))) < 40
    jittered = array("q", (t + (t // 15_000 * 7) % 5 for t in times))
    counter = array("d", (float(i // 3) for i in range(chunks.CHUNK)))
    assert len(chunks.encode(jittered, counter)) < 1.5 * chunks.CHUNK


@settings(max_examples=100, deadline=None)
@given(
    samples=st.lists(st.tuples(st.integers(1, 40_000), VALUES), min_size=1, max_size=6 * HEAD),
    replace=st.sets(st.integers(0, 6 * HEAD)),
    windows=st.lists(st.tuples(st.integers(-1, 250), st.integers(0, 250)), max_size=6),
    cuts=st.lists(st.integers(0, 300), max_size=3),
)
def test_chunked_series_reads_like_the_samples_appended(
    samples: list[tuple[int, float]],
    replace: set[int],
    windows: list[tuple[int, int]],
    cuts: list[int],
) -> None:
    """Sealed and merged chunks, replaced newest samples and retention cuts: every window
    (with and without stale markers), dump and count agree with a plain list of samples."""
    store = MemoryStorage()
    expected: list[tuple[int, float]] = []
    t = 0
    for i, (step, value) in enumerate(samples):
        t += step
        store.append({"__name__": "s"}, t, value)
        expected.append((t, value))
        if i in replace:
            store.append({"__name__": "s"}, t, -value)
            expected[-1] = (t, -value)
    scale = max(1, t // 250)
    for cut in cuts:
        store.drop_before(cut * scale)
        expected = [(ts, v) for ts, v in expected if ts >= cut * scale]
    assert store.sample_count() == len(expected)
    matchers = [LabelMatcher("__name__", "=", "s")]
    for a, b in windows:
        mint, maxt = min(a, b) * scale, max(a, b) * scale
        inside = [(ts, v) for ts, v in expected if mint <= ts <= maxt]
        for drop_stale in (False, True):
            want = [(ts, v) for ts, v in inside if not (drop_stale and _is_stale(v))]
            got = store.select(matchers, mint, maxt, drop_stale=drop_stale)
            if not want:
                assert got == []
                continue
            [(_, times, values)] = got
            assert list(times) == [ts for ts, _ in want]
            assert _bits(values) == _bits([v for _, v in want])


def _is_stale(value: float) -> bool:
    return struct.pack("<d", value) == struct.pack("<d", STALE_NAN)
