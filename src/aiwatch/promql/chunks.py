"""Closed chunks of the local sample store: a series' older samples, encoded in a few bytes.

A chunk holds up to ``CHUNK`` samples. Timestamps are stored as the first one, the first
delta and the deltas of deltas (all zero for a perfectly regular series, then not stored),
in the narrowest integer type that holds them, deflated. Values are stored, when every one
is an integer a float represents exactly (counters, bucket counts, 0/1 gauges), as integer
deltas in the narrowest type, deflated; otherwise as the XOR of each value's bits with the
previous value's (as in Gorilla chunks), deflated. The work is done by ``zlib``, ``array``
and Python's big integers (in C), not by a loop over bits.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from itertools import accumulate
from operator import sub

CHUNK = 128
"""Samples a closed chunk holds at most."""

_HEADER = struct.Struct("<BBHqqI")
# times' type code index (0: regular), values' mode, count, first time, first delta,
# length of the times part.
_FIRST_VALUE = struct.Struct("<q")
_TYPECODES = "bhiq"
_CONSTANT, _INTEGERS, _XOR, _XOR_PLAIN = 0, 1, 2, 3
_WBITS = -9
# Raw deflate (no header or checksum on every small chunk) with a 512-byte window at the
# fastest level: on a few hundred bytes it compresses as well as the defaults, in a fraction
# of the time (most of which is setting up the compressor).
_PLAIN = 4  # added to a type code index: the part is stored as is, not deflated


def _narrow(ints: list[int], *, deflate: bool) -> tuple[int, bytes]:
    """The narrowest type code (index) holding every one of ``ints``, and their bytes,
    deflated when asked and smaller so (``_PLAIN`` added to the index otherwise)."""
    for index, code in enumerate(_TYPECODES):
        try:
            raw = array(code, ints).tobytes()  # array() checks the range, in C
        except OverflowError:
            continue
        if deflate:
            packed = zlib.compress(raw, 1, wbits=_WBITS)
            if len(packed) < len(raw):
                return index, packed
        return index + _PLAIN, raw
    raise OverflowError


def _unpack(index: int, part: bytes) -> array[int]:
    ints = array(_TYPECODES[index % _PLAIN])
    ints.frombytes(part if index >= _PLAIN else zlib.decompress(part, _WBITS))
    return ints


def encode(times: array[int], values: array[float], *, deflate: bool = True) -> bytes:
    """One chunk of ``times`` (strictly increasing) and ``values``, 1 to 65,535 samples.

    Without ``deflate`` the parts are only narrowed: quicker, for chunks soon merged.
    """
    n = len(times)
    first_delta = times[1] - times[0] if n > 1 else 0
    deltas = list(map(sub, times[1:], times))
    dods = list(map(sub, deltas[1:], deltas))
    if any(dods):
        index, time_part = _narrow(dods, deflate=deflate)
        time_code = index + 1
    else:
        time_part, time_code = b"", 0
    mode, value_part = _encode_values(values, deflate=deflate)
    header = _HEADER.pack(time_code, mode, n, times[0], first_delta, len(time_part))
    return header + time_part + value_part


def _encode_values(values: array[float], *, deflate: bool) -> tuple[int, bytes]:
    raw = values.tobytes()
    try:
        ints = list(map(int, values))
        exact = array("d", ints).tobytes() == raw
        if exact:
            steps = list(map(sub, ints[1:], ints))
            first = _FIRST_VALUE.pack(ints[0])
            if not any(steps):
                return _CONSTANT, first
            index, packed = _narrow(steps, deflate=deflate)
            return _INTEGERS, first + bytes((index,)) + packed
    except (ValueError, OverflowError, struct.error):  # NaN, infinities, beyond 64 bits
        pass
    bits = int.from_bytes(raw, "little")
    xored = (bits ^ (bits << 64)).to_bytes(len(raw) + 8, "little")[: len(raw)]
    if deflate:
        packed = zlib.compress(xored, 1, wbits=_WBITS)
        if len(packed) < len(xored):
            return _XOR, packed
    return _XOR_PLAIN, xored


def count(chunk: bytes) -> int:
    """How many samples ``chunk`` holds."""
    n: int = _HEADER.unpack_from(chunk)[2]
    return n


def decode_times(chunk: bytes) -> array[int]:
    """The timestamps of ``chunk``."""
    time_code, _, n, first, first_delta, time_len = _HEADER.unpack_from(chunk)
    if time_code == 0:
        return array("q", range(first, first + first_delta * n, first_delta) if n > 1 else [first])
    start = _HEADER.size
    dods = _unpack(time_code - 1, chunk[start : start + time_len])
    deltas = accumulate(dods, initial=first_delta)
    return array("q", accumulate(deltas, initial=first))


def decode_values(chunk: bytes) -> array[float]:
    """The values of ``chunk``, bit for bit as they were appended."""
    _, mode, n, _, _, time_len = _HEADER.unpack_from(chunk)
    start = _HEADER.size + time_len
    if mode < _XOR:
        (first,) = _FIRST_VALUE.unpack_from(chunk, start)
        if mode == _CONSTANT:
            constant: array[float] = array("d", [float(first)]) * n
            return constant
        start += _FIRST_VALUE.size
        steps = _unpack(chunk[start], chunk[start + 1 :])
        return array("d", accumulate(steps, initial=first))
    part = chunk[start:] if mode == _XOR_PLAIN else zlib.decompress(chunk[start:], _WBITS)
    xored = int.from_bytes(part, "little")
    # Prefix XOR over 64-bit words: after the shifts by 1, 2, 4, … words, each word is the
    # XOR of itself and every word before it, which is the original value.
    shift = 64
    while shift < 64 * n:
        xored ^= xored << shift
        shift *= 2
    values = array("d")
    values.frombytes((xored & ((1 << (64 * n)) - 1)).to_bytes(8 * n, "little"))
    return values
