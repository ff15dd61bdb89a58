"""The all-steps range engine against the step-wise one: on random series and random
expressions of the shapes it covers, every step holds the instant query's values bit for bit,
and whatever it does not cover (or would answer with an error) it leaves to the steps."""

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiwatch.promql import rangevec
from aiwatch.promql.engine import instant_query
from aiwatch.promql.limits import Budget, QueryLimits, TooManySamplesError, Unlimited
from aiwatch.promql.ranges import range_query
from aiwatch.promql.storage import STALE_NAN, Labels, MemoryStorage, labels_of
from aiwatch.promql.syntax import parse_any
from aiwatch.promql.values import PromQLError

START_MS, END_MS, STEP_MS = 300_000, 900_000, 15_000
VALUES = st.one_of(
    st.integers(-3, 40).map(float),
    st.sampled_from([0.1, 1e16, 3.3333333333333335, -0.0, 0.0, 7e-17, 1 / 3]),
    st.sampled_from([math.nan, math.inf, -math.inf, STALE_NAN]),
)


@st.composite
def stores(draw: st.DrawFn) -> MemoryStorage:
    """A few counters, gauges and bucket series with irregular times, resets, NaN, ±Inf,
    stale markers and gaps."""
    store = MemoryStorage()
    names = [("c", {"k": "a"}), ("c", {"k": "b"}), ("g", {"k": "a"}), ("g", {"k": "c"})]
    names += [("h", {"k": k, "le": le}) for k in "ab" for le in ("0.5", "1", "+Inf")]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=8, unique_by=repr))
    if draw(st.booleans()):
        chosen.append(("h", {"k": "a", "le": "1.0"}))
    for name, labels in chosen:
        t_ms = draw(st.integers(0, 60_000))
        counter = name in ("c", "h") and draw(st.booleans())
        value = 0.0
        for _ in range(draw(st.integers(0, 50))):
            t_ms += draw(st.sampled_from([1000, 5000, 15_000, 15_000, 30_000, 400_000]))
            if counter:
                value = value + draw(st.integers(0, 9)) if draw(st.integers(0, 9)) else 1.0
                sample = value
            else:
                sample = draw(VALUES)
            store.append({"__name__": name, **labels}, t_ms, sample)
    return store


SELECTORS = st.sampled_from(["c", 'g{k!="b"}', '{__name__=~"c|g"}', "g offset 1m", "h"])
RANGES = st.sampled_from(["30s", "1m", "5m"])
SCALARS = st.sampled_from(["2", "0", "-1.5", "time()", "(3 - 1)", "1e16"])


def vectors(depth: int) -> st.SearchStrategy[str]:
    """Instant-vector expressions of the covered shapes, nested ``depth`` deep at most."""
    leaf = st.one_of(
        SELECTORS,
        st.builds(
            "{}({}[{}]{})".format,
            st.sampled_from(["rate", "increase", "delta", "irate", "idelta"]),
            st.sampled_from(["c", "g", "h", '{__name__=~"c|g"}']),
            RANGES,
            st.sampled_from(["", "", " offset 2m"]),
        ),
    )
    if depth == 0:
        return leaf
    inner = vectors(depth - 1)
    ops = st.sampled_from(["+", "-", "*", "/", ">", "<=", "==", "!=", "> bool", "< bool"])
    return st.one_of(
        leaf,
        st.builds(
            "{}{}({})".format,
            st.sampled_from(["sum", "avg", "min", "max", "count"]),
            st.sampled_from(["", " by (k)", " without (k)", " by (k, le)", " by (__name__)"]),
            inner,
        ),
        st.builds("({}) {} {}".format, inner, ops, SCALARS),
        st.builds("{} {} ({})".format, SCALARS, ops, inner),
        st.builds(
            "({}) {} {} ({})".format,
            inner,
            ops,
            st.sampled_from(["", "on (k)", "ignoring (le)", "on ()"]),
            inner,
        ),
        st.builds(
            "histogram_quantile({}, {})".format,
            st.sampled_from(["0.5", "0.95", "0", "1", "2", "-1", "time() / 1000"]),
            st.sampled_from(["h", "sum by (k, le) (rate(h[1m]))", "rate(h[5m])", "h * 0"]),
        ),
    )


def _bits(value: float) -> int | str:
    return "NaN" if math.isnan(value) else struct.unpack("<Q", struct.pack("<d", value))[0]


def _steps(expr: str, store: MemoryStorage) -> dict[int, dict[Labels, int | str]] | str:
    """The instant query at each step (the step-wise engine's definition), or its error."""
    tree = parse_any(expr)
    out: dict[int, dict[Labels, int | str]] = {}
    try:
        for t_ms in range(START_MS, END_MS + 1, STEP_MS):
            value = instant_query(tree, store, t_ms, budget=Unlimited())
            if isinstance(value, list):
                out[t_ms] = {labels_of(s.labels): _bits(s.value) for s in value}
            else:
                out[t_ms] = {(): _bits(value.value)}  # type: ignore[union-attr]
    except PromQLError as err:
        return str(err)
    return {t: found for t, found in out.items() if found}


def _all_steps(expr: str, store: MemoryStorage) -> dict[int, dict[Labels, int | str]] | None:
    """The all-steps engine's answer by step, or None when it leaves the query to the steps."""
    try:
        matrix = rangevec.range_query(
            parse_any(expr),
            store,
            range(START_MS, END_MS + 1, STEP_MS),
            lookback_ms=300_000,
            budget=Unlimited(),
        )
    except rangevec.Unsupported:
        return None
    out: dict[int, dict[Labels, int | str]] = {}
    for labels, times, values in matrix:
        for t_ms, value in zip(times, values, strict=True):
            assert labels not in out.get(t_ms, {})
            out.setdefault(t_ms, {})[labels] = _bits(value)
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store=stores(), expr=st.one_of(vectors(2), SCALARS))
def test_all_steps_equal_the_instant_query_at_each_step_bit_for_bit(
    store: MemoryStorage, expr: str
) -> None:
    """Covered expressions give exactly the step-wise values (same bits, same series, same
    steps); where the step-wise engine fails, the all-steps engine leaves the query to it."""
    assert rangevec.supported(parse_any(expr)), expr
    want = _steps(expr, store)
    got = _all_steps(expr, store)
    if isinstance(want, str):
        assert got is None, (expr, want)
        return
    if got is not None:
        assert got == want, expr


@pytest.mark.parametrize(
    "expr",
    [
        "sum by (k) (rate(c[1m]))",
        "histogram_quantile(0.9, sum by (k, le) (rate(h[1m])))",
        "time() - max by (k) (g)",
        "sum(increase(c[5m])) / sum(increase(c[5m]))",
        "1 / g",
    ],
)
def test_dashboard_shapes_are_evaluated_all_steps_at_once(expr: str) -> None:
    """The dashboards' shapes are covered (not left to the steps) on ordinary data, and the
    range query answers with the step-wise values."""
    store = MemoryStorage()
    for t_ms in range(0, 1_000_000, 15_000):
        for k in "ab":
            store.append({"__name__": "c", "k": k}, t_ms, float(t_ms // 7000))
            store.append({"__name__": "g", "k": k}, t_ms, 1.5 + t_ms % 11)
            for le, share in (("0.5", 0.25), ("1", 0.5), ("+Inf", 1.0)):
                store.append({"__name__": "h", "k": k, "le": le}, t_ms, t_ms * share // 1000)
    assert _all_steps(expr, store) == _steps(expr, store)
    assert _all_steps(expr, store)


def test_uncovered_expressions_fall_back_to_the_steps() -> None:
    """Functions and operators outside the covered set are not claimed by the engine, and a
    range query with them still answers."""
    for expr in ("topk(1, g)", "g and c", "abs(g)", "max_over_time(g[1m])", "g @ 100", "-g"):
        assert not rangevec.supported(parse_any(expr)), expr
    store = MemoryStorage()
    for t_ms in range(0, 1_000_000, 15_000):
        store.append({"__name__": "g"}, t_ms, float(t_ms))
    matrix = range_query(
        parse_any("abs(g)"),
        store,
        START_MS,
        END_MS,
        STEP_MS,
        lookback_ms=300_000,
        subquery_step_ms=60_000,
        budget=Unlimited(),
    )
    assert len(matrix[0][1]) == (END_MS - START_MS) // STEP_MS + 1


def test_the_sample_limit_holds_for_all_steps_at_once() -> None:
    """As the step-wise engine: the points held so far plus one step's samples; a limit
    above that passes, one below fails with the sample-limit error."""
    store = MemoryStorage()
    for t_ms in range(0, 100_000, 1000):
        store.append({"__name__": "x"}, t_ms, t_ms / 1000)

    def run(limit: int) -> object:
        return range_query(
            parse_any("rate(x[10s])"),
            store,
            20_000,
            40_000,
            1000,
            lookback_ms=300_000,
            subquery_step_ms=60_000,
            budget=Budget(QueryLimits(max_samples=limit)),
        )

    assert run(40)
    with pytest.raises(TooManySamplesError):
        run(25)
