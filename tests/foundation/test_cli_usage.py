"""An unknown flag is a usage error (exit 2) shown with the usage of the command it was for."""

import pytest

from tests.cli import aiwatch


@pytest.mark.parametrize(
    ("argv", "usage", "unknown"),
    [
        (["run", "--web.listen-adress=:1"], "usage: aiwatch run ", "--web.listen-adress=:1"),
        (["check", "config", "--foo", "a.yml"], "usage: aiwatch check config ", "--foo"),
        (["incidents", "ack", "1", "--nope"], "usage: aiwatch incidents ack ", "--nope"),
        (["schema", "extra"], "usage: aiwatch schema ", "extra"),
    ],
)
def test_unknown_argument_shows_the_commands_usage(
    argv: list[str], usage: str, unknown: str
) -> None:
    """``aiwatch run --typo`` shows run's flags, not ``usage: aiwatch [-h] COMMAND``."""
    result = aiwatch(*argv)
    assert result.returncode == 2
    assert result.stderr.startswith(usage), result.stderr
    command = usage.removeprefix("usage: ").strip()
    assert f"{command}: error: unrecognized arguments: {unknown}" in result.stderr


def test_demo_duration_of_zero_is_a_usage_error() -> None:
    """``demo --duration 0s`` used to SIGTERM itself before its handlers were installed,
    dying with 143 after printing 'Ctrl-C to stop'."""
    result = aiwatch("demo", "--duration", "0s")
    assert result.returncode == 2
    assert "argument --duration: '0s' must be greater than 0" in result.stderr
