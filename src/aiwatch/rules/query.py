"""Where rule expressions are evaluated: aiwatch's own store, or a Prometheus HTTP API."""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from aiwatch.promql.engine import Expr, PromQLError, Scalar, instant_query, parse
from aiwatch.promql.limits import Budget, LimitError, QueryCanceledError
from aiwatch.promql.runner import QueryRunner
from aiwatch.promql.storage import Storage
from aiwatch.promql.values import String, Vector
from aiwatch.rules.types import QueriedSample, QueryError, QueryLimitError, Result

DEFAULT_LOOKBACK_MS = 300_000


class LocalQuery:
    """Evaluate rule expressions with aiwatch's PromQL engine over a sample store.

    With a ``runner`` (the daemon) expressions are evaluated in its worker threads under its
    limits; without one (``aiwatch test rules``) on the caller's thread without limits, as
    promtool does.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        lookback_ms: int = DEFAULT_LOOKBACK_MS,
        subquery_step_ms: int = 60_000,
        runner: QueryRunner | None = None,
    ) -> None:
        self.storage = storage
        self.lookback_ms = lookback_ms
        self.subquery_step_ms = subquery_step_ms
        self.runner = runner
        self._parsed: dict[str, Expr] = {}

    def _parse(self, text: str) -> Expr:
        expr = self._parsed.get(text)
        if expr is None:
            try:
                expr = self._parsed[text] = parse(text)
            except PromQLError as err:
                raise QueryError(str(err)) from None
        return expr

    def run(self, text: str, t_ms: int) -> Sequence[QueriedSample]:
        """The expression's value at ``t_ms`` as a vector (a scalar becomes one sample).

        On the caller's thread; with a runner, within its limits.
        """
        budget = Budget(self.runner.limits) if self.runner is not None else None
        try:
            result = instant_query(
                self._parse(text),
                self.storage,
                t_ms,
                lookback_ms=self.lookback_ms,
                subquery_step_ms=self.subquery_step_ms,
                budget=budget,
            )
        except LimitError as err:
            raise QueryLimitError(str(err)) from None
        except PromQLError as err:
            raise QueryError(str(err)) from None
        return _as_vector(result)

    async def __call__(self, text: str, t_ms: int) -> Sequence[QueriedSample]:
        """``QueryFunc`` for ``Group.evaluate``: in a worker thread when there is a runner."""
        if self.runner is None:
            return self.run(text, t_ms)
        try:
            result = await self.runner.query(
                self._parse(text),
                self.storage,
                t_ms,
                lookback_ms=self.lookback_ms,
                subquery_step_ms=self.subquery_step_ms,
                lane="rules",
            )
        except QueryCanceledError as err:
            raise QueryError(str(err)) from None  # the daemon is stopping: no limit was hit
        except LimitError as err:
            raise QueryLimitError(str(err)) from None
        except PromQLError as err:
            raise QueryError(str(err)) from None
        return _as_vector(result)

    def for_templates(self, text: str, t_ms: int) -> list[tuple[Mapping[str, str], float]]:
        """The ``query`` template function's view of ``run``."""
        return [(s.labels, s.value) for s in self.run(text, t_ms)]


def _as_vector(result: Vector | Scalar | String) -> Sequence[QueriedSample]:
    if isinstance(result, list):
        return result
    if isinstance(result, Scalar):
        return [Result({}, result.value)]
    msg = "rule result is not a vector or scalar"
    raise QueryError(msg)


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
