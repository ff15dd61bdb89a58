"""``aiwatch mock-ai --script`` naming a file it cannot read: the flag, the file, the reason."""

from pathlib import Path

import pytest

from tests.cli import aiwatch


@pytest.mark.parametrize(
    ("name", "reason"), [("missing.yml", "No such file or directory"), ("", "Is a directory")]
)
def test_unreadable_script_names_flag_file_and_reason(
    tmp_path: Path, name: str, reason: str
) -> None:
    """Not Python's ``[Errno 2] No such file or directory: 'missing.yml'``."""
    script = tmp_path / name if name else tmp_path
    result = aiwatch(
        "mock-ai", "--listen-address", "127.0.0.1:0", "--script", str(script), timeout=30
    )
    assert result.returncode == 1
    assert result.stderr == f"mock-ai: cannot read --script {script}: {reason}\n"
