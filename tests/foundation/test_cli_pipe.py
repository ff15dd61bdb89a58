"""``aiwatch … | head``: a reader that goes away ends the command quietly, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("command", [["schema"], ["check", "config", "{config}"]])
def test_closed_stdout_exits_141_without_traceback(tmp_path: Path, command: list[str]) -> None:
    """Output to a pipe with no reader: exit 128 + SIGPIPE like promtool, nothing on stderr."""
    config = tmp_path / "aiwatch.yml"
    config.write_text("targets: []\n")
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "aiwatch", *(c.format(config=config) for c in command)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert result.stderr == ""
