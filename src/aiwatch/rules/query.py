"""Where rule expressions are evaluated: aiwatch's own store, or a Prometheus HTTP API."""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from aiwatch.promql.engine import Expr, PromQLError, Scalar, instant_query, parse
from aiwatch.promql.storage import Storage
from aiwatch.rules.types import QueriedSample, QueryError, QueryFunc, Result

DEFAULT_LOOKBACK_MS = 300_000


class LocalQuery:
    """Evaluate rule expressions with aiwatch's PromQL engine over a sample store."""

    def __init__(
        self,
        storage: Storage,
        *,
        lookback_ms: int = DEFAULT_LOOKBACK_MS,
        subquery_step_ms: int = 60_000,
    ) -> None:
        self.storage = storage
        self.lookback_ms = lookback_ms
        self.subquery_step_ms = subquery_step_ms
        self._parsed: dict[str, Expr] = {}

    def run(self, text: str, t_ms: int) -> Sequence[QueriedSample]:
        """The expression's value at ``t_ms`` as a vector (a scalar becomes one sample)."""
        try:
            expr = self._parsed.get(text)
            if expr is None:
                expr = self._parsed[text] = parse(text)
            result = instant_query(
                expr,
                self.storage,
                t_ms,
                lookback_ms=self.lookback_ms,
                subquery_step_ms=self.subquery_step_ms,
            )
        except PromQLError as err:
            raise QueryError(str(err)) from None
        if isinstance(result, list):
            return result
        if isinstance(result, Scalar):
            return [Result({}, result.value)]
        msg = "rule result is not a vector or scalar"
        raise QueryError(msg)

    async def __call__(self, text: str, t_ms: int) -> Sequence[QueriedSample]:
        """``QueryFunc`` for ``Group.evaluate``."""
        return self.run(text, t_ms)

    def for_templates(self, text: str, t_ms: int) -> list[tuple[Mapping[str, str], float]]:
        """The ``query`` template function's view of ``run``."""
        return [(s.labels, s.value) for s in self.run(text, t_ms)]


def _number(text: Any) -> float:
    value = str(text)
    special = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}
    return special[value] if value in special else float(value)


def parse_api_result(body: Any) -> list[Result]:
    """Samples out of a Prometheus ``/api/v1/query`` response; ``QueryError`` otherwise."""
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", "unknown error") if isinstance(body, dict) else "bad response"
        raise QueryError(f"datasource: {error}")
    data = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result") or []
    try:
        if kind == "vector":
            return [Result(dict(item["metric"]), _number(item["value"][1])) for item in result]
        if kind == "scalar":
            return [Result({}, _number(result[1]))]
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise QueryError(f"datasource: malformed {kind} result: {err}") from None
    raise QueryError("rule result is not a vector or scalar")


class DatasourceQuery:
    """Evaluate rule expressions on a Prometheus server (``datasource.url``)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        timeout_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
        auth: aiohttp.BasicAuth | None = None,
    ) -> None:
        self.session = session
        self.endpoint = url.rstrip("/") + "/api/v1/query"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.headers = dict(headers or {})
        self.auth = auth

    async def __call__(self, text: str, t_ms: int) -> Sequence[QueriedSample]:
        """``QueryFunc``: ``GET /api/v1/query?query=…&time=…``."""
        params = {"query": text, "time": f"{t_ms / 1000:.3f}"}
        try:
            async with self.session.get(
                self.endpoint,
                params=params,
                timeout=self.timeout,
                headers=self.headers,
                auth=self.auth,
            ) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise QueryError(f"datasource: {type(err).__name__}: {err}") from None
        return parse_api_result(body)


def local_query_func(storage: Storage, **options: int) -> QueryFunc:
    """A ``QueryFunc`` over ``storage`` (keyword options as for ``LocalQuery``)."""
    return LocalQuery(storage, **options)
