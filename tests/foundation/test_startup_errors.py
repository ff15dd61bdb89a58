"""``aiwatch run`` with a resource it cannot use: one clear line, exit 1, nothing started."""

import socket
from pathlib import Path

import pytest

from tests.cli import aiwatch_argv, run_cli, run_once


@pytest.mark.parametrize("below", ["", "sub"])
def test_storage_path_that_is_a_file_is_one_clear_error(tmp_path: Path, below: str) -> None:
    """A file where the storage folder should be (or above it) is named before anything starts.

    It used to give a warning per component about the sample snapshot and then
    ``cannot open the incident database …: [Errno 17] File exists``.
    """
    config = tmp_path / "aiwatch.yml"
    config.write_text("targets: []\n")
    storage = tmp_path / "data"
    storage.write_text("not a folder\n")
    result = run_once(config, storage / below if below else storage)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert 'msg="Cannot use the storage path"' in lines[0]
    assert ("not a directory" if not below else "cannot create it: Not a directory") in lines[0]


def test_port_in_use_says_address_already_in_use(tmp_path: Path) -> None:
    """The reason is the system's, once: not asyncio's 'error while attempting to bind on …'."""
    config = tmp_path / "aiwatch.yml"
    config.write_text("targets: []\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_once(config, tmp_path / "data", listen=f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert f'err="cannot listen on 127.0.0.1:{port}: Address already in use"' in result.stderr
    assert "Traceback" not in result.stderr


def test_run_from_another_folder_says_to_give_config_file(tmp_path: Path) -> None:
    """``aiwatch run`` where the default ``config/aiwatch.yml`` does not exist names the
    working directory and the flag to use, not only 'cannot read'."""
    result = run_cli(aiwatch_argv("run", "--storage.path", str(tmp_path / "data")), cwd=tmp_path)
    assert result.returncode == 1
    assert "give its path with --config.file" in result.stderr
    assert f"working_directory={tmp_path}" in result.stderr
