"""Client flags a user gets wrong are named in one line, before anything is sent."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from aiwatch.cli import main
from aiwatch.incidents.cli import PASSWORD_ENV

from .conftest import Serve, write_web_config

NOWHERE = "http://127.0.0.1:1"  # nothing listens: a request would fail differently


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("duration", ["0s", "0", "0m0s"])
def test_zero_silence_duration_is_refused_like_amtool(
    capsys: pytest.CaptureFixture[str], duration: str
) -> None:
    """``-d 0s`` says so, as amtool does, instead of a 400 'endsAt is in the past'."""
    code, err = _cli(capsys, "silences", "add", 'a="b"', "-d", duration, "--url", NOWHERE)
    assert code == 1
    assert err == "aiwatch silences: silence duration must be greater than 0\n"


def test_bad_start_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """``--start yesterday`` names the flag and the format, not Python's isoformat."""
    code, err = _cli(capsys, "silences", "add", 'a="b"', "--start", "yesterday", "--url", NOWHERE)
    assert code == 1
    assert err == (
        "aiwatch silences: --start 'yesterday' is not an RFC 3339 time "
        "(e.g. 2026-11-29T10:00:00Z)\n"
    )


def test_unreadable_password_file_names_file_and_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A missing --password-file is 'FILE: No such file or directory', no errno."""
    missing = tmp_path / "nope"
    code, err = _cli(
        capsys,
        "incidents",
        "list",
        "--url",
        NOWHERE,
        "--user",
        "a",
        "--password-file",
        str(missing),
    )
    assert code == 1
    assert (
        err
        == f"aiwatch incidents: cannot read --password-file {missing}: No such file or directory\n"
    )


@pytest.mark.parametrize(("content", "problem"), [(None, "cannot read"), ("x", "cannot use")])
def test_bad_ca_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, problem: str
) -> None:
    """A missing --ca-file, or one holding no certificate, is named; no ssl traceback."""
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_text(content)
    code, err = _cli(
        capsys, "incidents", "list", "--url", "https://127.0.0.1:1", "--ca-file", str(ca)
    )
    assert code == 1
    assert err.startswith(f"aiwatch incidents: {problem} --ca-file {ca}: ")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("answer", ["{}", "[1, 2]", "<html>a web page</html>"])
async def test_url_of_something_else_says_so(
    capsys: pytest.CaptureFixture[str], aiohttp_server: Callable[..., Any], answer: str
) -> None:
    """A --url that answers 200 with something other than the API's envelope: one line, exit 1.

    ``{}`` used to end in ``KeyError: 'data'`` and a list in a ``TypeError`` traceback.
    """

    async def anything(_: web.Request) -> web.Response:
        return web.Response(text=answer)

    app = web.Application()
    app.router.add_get("/{tail:.*}", anything)
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    for command in (("incidents", "list"), ("experiments", "list"), ("silences", "list")):
        code = await asyncio.to_thread(main, [*command, "--url", url])
        err = capsys.readouterr().err
        assert code == 1
        assert err == (
            f"aiwatch {command[0]}: {url} did not answer with aiwatch's API "
            "(no JSON envelope); is --url right?\n"
        )


async def test_401_without_a_password_says_how_to_give_one(
    serve: Serve,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No --user, or --user with no password anywhere: the 401 says which flag is missing.

    A wrong password gets no hint: the user did give one.
    """
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    served = await serve(admin_users=("alice",), web_config=write_web_config(tmp_path))
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    cases = [
        ((), "; no credentials given: use --user with --password-file or $AIWATCH_PASSWORD"),
        (("--user", "alice"), "; no password given: use --password-file or $AIWATCH_PASSWORD"),
        (("--user", "alice", "--password-file", str(wrong)), ""),
    ]
    for flags, hint in cases:
        code = await asyncio.to_thread(main, ["incidents", "list", "--url", served.url, *flags])
        err = capsys.readouterr().err
        assert code == 1
        assert err.startswith("aiwatch incidents: 401: "), err
        if hint:
            assert err.endswith(hint + "\n"), err
        else:
            assert "given" not in err, err
