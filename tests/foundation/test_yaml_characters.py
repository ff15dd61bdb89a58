"""Control characters (a binary file, a stray NUL) are located problems, never a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from aiwatch.config import ConfigError, parse_config


def test_control_character_in_config_is_located() -> None:
    """A ``\\x01`` inside a value is reported at its line and column."""
    with pytest.raises(ConfigError) as info:
        parse_config("global:\n  external_url: 'http://a\x01'\n", "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:2:26: (root): invalid YAML: unacceptable character #x0001: "
        "special characters are not allowed"
    ]


@pytest.mark.parametrize("what", ["config", "rules"])
def test_check_on_a_binary_file_exits_1_without_traceback(tmp_path: Path, what: str) -> None:
    """``aiwatch check config|rules`` on a file starting with NUL bytes: one line, exit 1."""
    path = tmp_path / "binary.yml"
    path.write_bytes(b"\x00\x01binary")
    result = subprocess.run(
        [sys.executable, "-m", "aiwatch", "check", what, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{path}:1:1: (root): invalid YAML: unacceptable character #x0000" in result.stderr
