"""A group's rule expressions evaluated in a forked child, off the event loop's interpreter lock.

The child sees the store as it was at the fork (copy-on-write). It evaluates the group's
expressions in order at the group's timestamp, appends each rule's output (recorded series,
``ALERTS``, staleness markers) to *its own copy* of the store so later rules of the group read
them as they would in the parent, and sends each rule's query result back as soon as it has
it. The parent replays those results through ``Group.evaluate``: the alert state machine, the
templates and the writes to the real store run there exactly as with a query in a thread.
"""

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import cast

from aiwatch.promql.forking import ChildDiedError, Forker
from aiwatch.promql.limits import QueryCanceledError, QueryTimeoutError
from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules.alerting import AlertingRule
from aiwatch.rules.group import Group
from aiwatch.rules.query import LocalQuery
from aiwatch.rules.types import (
    QueriedSample,
    QueryError,
    QueryFunc,
    QueryLimitError,
    Result,
)

log = logging.getLogger(__name__)

_GRACE_S = 1.0
"""How long past the query timeout the parent waits for a rule's result before SIGKILL."""

# What the child sends per rule: ("ok", [(labels, value), ...]) or (kind, message) with kind
# "query", "limit" or "internal" (an engine bug; the parent logs it as a thread's would be).
Outcome = tuple[str, object]


class ReplayedError(Exception):
    """An unexpected exception of the child, shown as the child saw it (``repr``)."""

    def __repr__(self) -> str:
        return str(self.args[0])


def outcomes(group: Group, local: LocalQuery, t_ms: int) -> Iterator[Outcome]:
    """In the child: each rule's query result, in order, after writing its output locally."""
    storage = local.storage
    if isinstance(storage, MemoryStorage):
        storage.log = None  # the write-ahead log is the parent's; the child's copy stays here
    logging.disable(logging.CRITICAL)  # the parent logs what matters; no duplicate lines
    for index, rule in enumerate(group.rules):
        try:
            samples = local.run(rule.spec.expr, t_ms)
        except QueryLimitError as err:
            yield ("limit", str(err))
            continue
        except QueryError as err:
            yield ("query", str(err))
            continue
        except Exception as err:  # an engine bug: the parent reports it as a thread would
            yield ("internal", repr(err))
            continue
        yield ("ok", [(dict(s.labels), s.value) for s in samples])
        try:
            if isinstance(rule, AlertingRule):
                out = rule.evaluate(t_ms, samples, limit=group.limit, query=local.for_templates)
            else:
                out = rule.evaluate(t_ms, samples, limit=group.limit)
        except Exception:  # the parent finds the same error and reports it
            continue
        if isinstance(storage, MemoryStorage):
            group.write(index, rule, out, t_ms, storage)


@asynccontextmanager
async def group_query(query: QueryFunc, group: Group, t_ms: int) -> AsyncIterator[QueryFunc]:
    """What ``group`` should query at ``t_ms``: a forked child's results when ``query`` is a
    ``LocalQuery`` whose runner forks, else ``query`` itself."""
    runner = query.runner if isinstance(query, LocalQuery) else None
    if runner is None or runner.forker is None or not group.rules:
        yield query
        return
    assert isinstance(query, LocalQuery)
    async with (
        runner.rules_slot(),
        replayed(runner.forker, group, query, t_ms, timeout_s=runner.limits.timeout_s) as q,
    ):
        yield q


@asynccontextmanager
async def replayed(
    forker: Forker, group: Group, local: LocalQuery, t_ms: int, *, timeout_s: float
) -> AsyncIterator[QueryFunc]:
    """A ``QueryFunc`` answering the group's rules, in order, with a child's results.

    A rule whose result takes longer than ``timeout_s`` (plus a grace) fails with the query
    timeout and the child is killed; when the child dies, the rule and the rules after it
    fail with an error saying so (and one log line).
    """
    storage = local.storage
    hold = storage.fork_lock() if isinstance(storage, MemoryStorage) else None
    stream = forker.stream(
        lambda: outcomes(group, local, t_ms), hold=hold, step_timeout_s=timeout_s + _GRACE_S
    )
    failure: Exception | None = None

    async def query(_text: str, _t_ms: int) -> Sequence[QueriedSample]:
        nonlocal failure
        if failure is None:
            try:
                outcome = await anext(stream)
            except StopAsyncIteration:
                failure = QueryError("evaluation process sent fewer results than rules")
            except QueryTimeoutError as err:
                failure = QueryError("not evaluated: the evaluation process was killed")
                raise QueryLimitError(str(err)) from None
            except QueryCanceledError as err:
                failure = QueryError(str(err))
            except ChildDiedError as err:
                log.error(
                    "Rule evaluation process died",
                    extra={"group": group.name, "err": str(err)},
                )
                failure = QueryError(str(err))
            except OSError as err:  # fork or pipe refused: no memory, too many processes
                log.error(
                    "Cannot start a rule evaluation process",
                    extra={"group": group.name, "err": str(err)},
                )
                failure = QueryError(f"cannot start an evaluation process: {err}")
            else:
                return _answer(outcome)
        assert failure is not None
        raise type(failure)(*failure.args)

    try:
        yield query
    finally:
        await stream.aclose()


def _answer(outcome: object) -> Sequence[QueriedSample]:
    kind, payload = cast(Outcome, outcome)
    if kind == "ok":
        pairs = cast(list[tuple[dict[str, str], float]], payload)
        return [Result(labels, value) for labels, value in pairs]
    if kind == "limit":
        raise QueryLimitError(payload)
    if kind == "query":
        raise QueryError(payload)
    raise ReplayedError(payload)
