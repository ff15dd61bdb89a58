"""``--web.listen-address`` forms: good ones listen, malformed ones are usage errors (exit 2)."""

from pathlib import Path

import pytest

from aiwatch.app.serve import parse_listen_address
from tests.cli import aiwatch, run_once


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        (":9531", (None, 9531)),
        (":0", (None, 0)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:0", ("::1", 0)),
        ("[::]:9531", ("::", 9531)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_listen_address_forms(address: str, parsed: tuple[str | None, int]) -> None:
    """host:port, :port and bracketed IPv6, as Go's net.SplitHostPort reads them."""
    assert parse_listen_address(address) == parsed


@pytest.mark.parametrize(
    "address", ["", "9531", "bad", ":abc", ":99999", "[::1]", "::1:0", "[::1:0", "::1]:0"]
)
def test_malformed_listen_address_is_refused(address: str) -> None:
    """Unbracketed IPv6, unbalanced brackets and bad ports are errors, never a guess."""
    with pytest.raises(ValueError, match="is not a valid listen address"):
        parse_listen_address(address)


def test_malformed_listen_address_is_a_usage_error(tmp_path: Path) -> None:
    """``aiwatch run --web.listen-address ::1:0`` exits 2 with argparse's usage line."""
    config = tmp_path / "aiwatch.yml"
    config.write_text("targets: []\n")
    result = run_once(config, tmp_path / "data", listen="::1:0")
    assert result.returncode == 2
    assert "argument --web.listen-address: '::1:0' is not a valid listen address" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command", "flag"), [("demo", "--web.listen-address"), ("mock-ai", "--listen-address")]
)
def test_demo_and_mock_ai_refuse_malformed_addresses_as_usage_errors(
    command: str, flag: str
) -> None:
    """Every command that listens reads its address the same way; no traceback, exit 2."""
    result = aiwatch(command, flag, "::1:0", timeout=30)
    assert result.returncode == 2, result.stderr
    assert f"argument {flag}" in result.stderr
    assert "'::1:0' is not a valid listen address" in result.stderr
    assert "Traceback" not in result.stderr
