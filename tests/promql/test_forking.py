"""Work in a forked child: results stream back in order; dying, hanging and closing are handled."""

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest

from aiwatch.promql.forking import AVAILABLE, ChildDiedError, Forker, StepTimeoutError
from aiwatch.promql.limits import CANCELED_MESSAGE, QueryCanceledError
from tests.daemons import child_processes

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="needs os.fork")


def _children() -> list[tuple[int, str]]:
    """(pid, state) of this process's child processes, zombies included."""
    return child_processes(os.getpid())


def _numbers() -> Iterator[object]:
    yield from ({"n": i, "pid": os.getpid()} for i in range(3))


async def test_items_come_back_in_order_from_another_process_which_is_reaped() -> None:
    """Each item the child yields arrives in order, computed in a process other than this one;
    afterwards no child (not even a zombie) is left."""
    forker = Forker()
    items = [item async for item in forker.stream(_numbers, step_timeout_s=10)]
    assert [item["n"] for item in items] == [0, 1, 2]  # type: ignore[index]
    assert {item["pid"] for item in items} != {os.getpid()}  # type: ignore[index]
    assert _children() == []


def _dies_after_one() -> Iterator[object]:
    yield "first"
    os.kill(os.getpid(), signal.SIGKILL)
    yield "never"


async def test_a_child_that_dies_says_how_and_is_reaped() -> None:
    """A child killed after its first item: the first item arrives, then ``ChildDiedError``
    names the signal; no zombie is left."""
    forker = Forker()
    got: list[object] = []

    async def read() -> None:
        async for item in forker.stream(_dies_after_one, step_timeout_s=10):
            got.append(item)

    with pytest.raises(ChildDiedError, match="killed by signal 9"):
        await read()
    assert got == ["first"]
    assert _children() == []


def _hangs() -> Iterator[object]:
    yield "first"
    time.sleep(60)
    yield "late"


async def test_a_child_slower_than_the_step_timeout_is_killed() -> None:
    """A step over ``step_timeout_s`` raises the query timeout within about that time and
    the child is killed and reaped, not left running for its 60 s."""
    forker = Forker()
    started = time.monotonic()

    async def read() -> None:
        async for _ in forker.stream(_hangs, step_timeout_s=0.5):
            pass

    with pytest.raises(StepTimeoutError, match="query timed out in expression evaluation"):
        await read()
    assert time.monotonic() - started < 5
    assert _children() == []


async def test_close_kills_a_running_child_and_refuses_new_ones() -> None:
    """``close`` while a child computes: its reader gets the cancellation error at once, the
    child is reaped, and a new ``stream`` is refused with the same error."""
    forker = Forker()

    async def read() -> list[object]:
        return [item async for item in forker.stream(_hangs, step_timeout_s=30)]

    task = asyncio.create_task(read())
    await asyncio.sleep(0.3)
    started = time.monotonic()
    forker.close()
    with pytest.raises(QueryCanceledError, match=CANCELED_MESSAGE):
        await task
    assert time.monotonic() - started < 5
    assert _children() == []
    with pytest.raises(QueryCanceledError):
        await anext(forker.stream(_numbers, step_timeout_s=1))


async def test_a_reader_that_stops_early_leaves_no_child() -> None:
    """A reader that stops after the first item (``aclose``): the child is killed and reaped."""
    forker = Forker()
    stream = forker.stream(_hangs, step_timeout_s=30)
    assert await anext(stream) == "first"
    await stream.aclose()
    assert _children() == []
