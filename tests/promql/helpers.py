"""Small builders shared by the PromQL unit tests."""

from collections.abc import Iterable, Mapping

from aiwatch.promql import MemoryStorage, Scalar, instant_query


def store_with(series: Mapping[str, Iterable[tuple[int, float]]]) -> MemoryStorage:
    """A store from ``{'name{a="b"}': [(t_seconds, value), ...]}``."""
    store = MemoryStorage()
    for metric, samples in series.items():
        labels = parse_metric(metric)
        for t_s, value in samples:
            store.append(labels, int(t_s * 1000), value)
    return store


def parse_metric(metric: str) -> dict[str, str]:
    """``name{a="b",c="d"}`` to a label dict (values without commas or quotes)."""
    name, _, rest = metric.partition("{")
    labels = {"__name__": name} if name else {}
    for pair in rest.rstrip("}").split(","):
        if pair:
            key, _, value = pair.partition("=")
            labels[key.strip()] = value.strip().strip('"')
    return labels


def query(store: MemoryStorage, expr: str, t_s: float) -> dict[tuple[tuple[str, str], ...], float]:
    """An instant query's result as ``{sorted label pairs: value}``."""
    result = instant_query(expr, store, int(t_s * 1000))
    assert isinstance(result, list), result
    return {tuple(sorted(s.labels.items())): s.value for s in result}


def scalar(store: MemoryStorage, expr: str, t_s: float) -> float:
    """A scalar query's value."""
    result = instant_query(expr, store, int(t_s * 1000))
    assert isinstance(result, Scalar), result
    return result.value


def one(store: MemoryStorage, expr: str, t_s: float) -> float:
    """The value of a query expected to return exactly one element."""
    result = query(store, expr, t_s)
    assert len(result) == 1, result
    return next(iter(result.values()))
