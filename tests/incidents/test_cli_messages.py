"""What the incident and silence commands say when there is nothing to show or to do."""

import asyncio

import pytest

from aiwatch.cli import main

from .conftest import Serve


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_empty_lists_say_so(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    """With no incident and no silence, the tables are replaced by one sentence, not a
    lone header line."""
    served = await serve()
    code, out, _ = await _cli(capsys, "incidents", "list", "--url", served.url)
    assert (code, out) == (0, "no incidents\n")
    code, out, _ = await _cli(capsys, "silences", "list", "--url", served.url)
    assert (code, out) == (0, "no silences\n")


async def test_expiring_an_expired_silence_says_so_and_exits_1(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second ``silences expire`` of one silence names it as already expired on stderr
    and exits 1 (as amtool does); the first one expires it and exits 0."""
    served = await serve()
    code, _, err = await _cli(capsys, "silences", "add", 'target="x"', "--url", served.url)
    assert code == 0, err
    code, out, err = await _cli(capsys, "silences", "expire", "1", "--url", served.url)
    assert code == 0, err
    assert "expired" in out
    assert err == ""
    code, out, err = await _cli(capsys, "silences", "expire", "1", "--url", served.url)
    assert code == 1
    assert out == ""
    assert "silence 1 was already expired" in err
