"""One daemon per storage path: a second ``aiwatch run`` on it exits 1 naming the owner."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiwatch.storage import lock
from tests.cli import run_argv, run_once
from tests.daemons import LoggedProcess, free_port, wait_ready


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config with nothing to probe."""
    path = tmp_path / "aiwatch.yml"
    path.write_text("targets: []\n")
    return path


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[LoggedProcess]]:
    """Daemons a test starts; killed afterwards."""
    procs: list[LoggedProcess] = []
    yield procs
    for proc in procs:
        proc.kill()


def start(config: Path, data: Path, procs: list[LoggedProcess]) -> LoggedProcess:
    """``aiwatch run`` on ``data``, once ready."""
    port = free_port()
    proc = LoggedProcess(
        run_argv(config, f"127.0.0.1:{port}", data), data.parent / f"run-{port}.log"
    )
    procs.append(proc)
    wait_ready(f"http://127.0.0.1:{port}", exited=proc.proc.poll, log=proc.log)
    return proc


def test_a_second_daemon_on_the_same_storage_path_exits_1(
    tmp_path: Path, config: Path, started: list[LoggedProcess]
) -> None:
    """While one aiwatch runs on DIR, another exits 1 with 'storage path DIR is in use by
    another aiwatch (pid N)', N the first one's pid; the first keeps running."""
    data = tmp_path / "data"
    first = start(config, data, started)
    second = run_once(config, data)
    assert second.returncode == 1
    expected = f"storage path {data} is in use by another aiwatch (pid {first.proc.pid})"
    assert expected in second.stderr + second.stdout
    assert first.proc.poll() is None


def test_the_lock_of_a_killed_daemon_is_taken_over(
    tmp_path: Path, config: Path, started: list[LoggedProcess]
) -> None:
    """After SIGKILL the lock file stays, naming a dead pid; the next daemon starts and
    writes its own pid into it."""
    data = tmp_path / "data"
    first = start(config, data, started)
    first.kill()
    assert (data / lock.LOCK_FILE).read_text().strip() == str(first.proc.pid)
    second = start(config, data, started)
    assert (data / lock.LOCK_FILE).read_text().strip() == str(second.proc.pid)


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(
    tmp_path: Path, config: Path, started: list[LoggedProcess]
) -> None:
    """A lock file naming a process that no longer exists does not stop aiwatch."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / lock.LOCK_FILE).write_text(dead.stdout)
    proc = start(config, data, started)
    assert (data / lock.LOCK_FILE).read_text().strip() == str(proc.proc.pid)


def test_any_live_holder_of_the_lock_stops_aiwatch(tmp_path: Path, config: Path) -> None:
    """The lock is the file lock, not the pid in it: a process holding it (here the test
    itself) keeps aiwatch out, and releasing it lets aiwatch in."""
    data = tmp_path / "data"
    held = lock.acquire(str(data))
    try:
        refused = run_once(config, data)
        assert refused.returncode == 1
        assert f"in use by another aiwatch (pid {os.getpid()})" in refused.stderr
    finally:
        held.release()
    again = lock.acquire(str(data))
    assert again.path == str(data / lock.LOCK_FILE)
    again.release()


def test_demo_uses_its_own_storage_beside_a_running_daemon(
    tmp_path: Path, config: Path, started: list[LoggedProcess]
) -> None:
    """``aiwatch demo`` started in the folder of a running daemon (whose storage is the
    default ``data/`` there) keeps to its own temporary storage: it runs and exits 0, and
    the daemon's lock still names the daemon."""
    data = tmp_path / "data"
    daemon = start(config, data, started)
    port = free_port()
    demo = subprocess.run(
        [sys.executable, "-m", "aiwatch", "demo", f"--web.listen-address=127.0.0.1:{port}",
         "--duration=3s"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "in use by another aiwatch" not in demo.stdout + demo.stderr
    assert (data / lock.LOCK_FILE).read_text().strip() == str(daemon.proc.pid)
    assert daemon.proc.poll() is None
