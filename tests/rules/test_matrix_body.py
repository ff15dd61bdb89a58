"""The range query answer written in one pass equals the envelope ``json.dumps`` would write."""

import json
import math
import random
from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from aiwatch.golang.strconv import format_float
from aiwatch.promql.ranges import Matrix
from aiwatch.rules.query_api import matrix_body, seconds

SPECIAL = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-7, 1e21, 5e-324, 1.0, -2.5, 0.1 + 0.2]


def reference(matrix: Matrix) -> str:
    """What the handler wrote before: lists of points and ``json.dumps`` of the envelope."""
    result = [
        {
            "metric": dict(labels),
            "values": [
                [seconds(t), format_float(v, "f")] for t, v in zip(times, values, strict=True)
            ],
        }
        for labels, times, values in matrix
    ]
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


values = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(
                st.sampled_from(["__name__", "target", "le", "q\u00e9", 'a"b']),
                st.text(max_size=5),
                max_size=3,
            ),
            st.lists(st.tuples(st.integers(0, 2_000_000_000_000), values), max_size=8),
        ),
        max_size=5,
    )
)
def test_the_written_answer_equals_json_dumps_of_the_points(
    series: list[tuple[dict[str, str], list[tuple[int, float]]]],
) -> None:
    """Any labels (quotes, non-ASCII), timestamps with and without milliseconds, and values
    (NaN, ±Inf, ±0, the smallest subnormal, 1e21) come out byte for byte as before."""
    matrix: Matrix = []
    for labels, pairs in series:
        points = sorted(dict(pairs).items())
        times = array("q", [t for t, _ in points])
        vals = array("d", [v for _, v in points])
        matrix.append((tuple(sorted(labels.items())), times, vals))
    assert matrix_body(matrix) == reference(matrix)


def test_repeated_values_and_steps_are_written_each_time_they_occur() -> None:
    """Values and step times shared by many series (the cached texts) are written at every
    point, and -0.0 after 0.0 keeps its sign."""
    rng = random.Random(3)
    times = array("q", range(1_700_000_000_000, 1_700_000_060_000, 15_500))
    matrix: Matrix = [
        (
            (("__name__", "m"), ("target", f"t{i}")),
            times,
            array("d", [rng.choice([0.0, -0.0, 0.25, 3.0]) for _ in times]),
        )
        for i in range(50)
    ]
    body = matrix_body(matrix)
    assert body == reference(matrix)
    assert '"-0"' in body
    assert body.count("[1700000015.5,") == 50
