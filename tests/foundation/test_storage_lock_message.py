"""Two daemons on one storage folder: the second stops at once and says what to do."""

from pathlib import Path

from tests.cli import run_argv, run_once
from tests.daemons import LoggedProcess, free_port, wait_ready


def test_second_daemon_on_one_storage_path_names_the_path_the_owner_and_the_fix(
    tmp_path: Path,
) -> None:
    """The second ``aiwatch run`` on a storage folder in use exits 1 with one line naming
    the folder, the other daemon's pid, and the flag that gives it a folder of its own."""
    config = tmp_path / "aiwatch.yml"
    config.write_text("targets: []\n")
    storage = tmp_path / "data"
    port = free_port()
    first = LoggedProcess(run_argv(config, f"127.0.0.1:{port}", storage), tmp_path / "first.log")
    try:
        wait_ready(f"http://127.0.0.1:{port}", exited=first.proc.poll, log=first.log)
        second = run_once(config, storage)
    finally:
        first.terminate()
    assert second.returncode == 1, second.stderr
    errors = [line for line in second.stderr.splitlines() if "level=error" in line]
    assert len(errors) == 1, second.stderr
    assert str(storage) in errors[0]
    assert f"pid {first.proc.pid}" in errors[0]
    assert "--storage.path" in errors[0]
