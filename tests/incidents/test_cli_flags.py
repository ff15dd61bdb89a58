"""Client flags a user gets wrong are named in one line, before anything is sent."""

from pathlib import Path

import pytest

from aiwatch.cli import main

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
