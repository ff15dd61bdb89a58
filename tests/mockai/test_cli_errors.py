"""``aiwatch mock-ai`` refuses bad scripts and taken ports with one line and exit 1."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def mock_ai(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiwatch", "mock-ai", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("default: [1\n", "invalid YAML"),
        ("seed: x\n", "seed must be an integer"),
        ("seed: true\n", "seed must be an integer"),
        ("models: {m: [1]}\n", "a behaviour must be a JSON object"),
    ],
)
def test_bad_script_is_one_line_and_exit_1(tmp_path: Path, text: str, expected: str) -> None:
    """YAML syntax errors and a non-integer seed are reported like other script mistakes."""
    script = tmp_path / "bad.yml"
    script.write_text(text)
    result = mock_ai("--listen-address", "127.0.0.1:0", "--script", str(script))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"mock-ai: {script}: ")
    assert expected in lines[0]


def test_script_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    """A binary script file is a readable error, not a UnicodeDecodeError."""
    script = tmp_path / "bad.yml"
    script.write_bytes(b"\xff\xfe\x00")
    result = mock_ai("--listen-address", "127.0.0.1:0", "--script", str(script))
    assert result.returncode == 1
    assert result.stderr.strip() == f"mock-ai: {script}: not UTF-8 text"


def test_taken_port_is_one_line_and_exit_1() -> None:
    """Listening on a port another process holds names the address instead of a traceback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = mock_ai("--listen-address", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith(f"mock-ai: cannot listen on 127.0.0.1:{port}: ")
