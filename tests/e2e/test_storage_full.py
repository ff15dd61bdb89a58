"""A full disk while an endpoint recovers: the resolve waits and happens once space is back.

The storage path is a small tmpfs mounted for the test (root only; CI runs as root). It is
filled up while ``EndpointDown`` fires, the endpoint recovers, and the space is freed: the
incident resolves and the ``resolved`` message goes out without a restart, and ``/-/ready``
says not ready for as long as the storage cannot be written.
"""

import contextlib
import errno
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import Stack, http, wait_for
from tests.e2e.receiver import Receiver, receiver
from tests.e2e.test_restarts import incidents, timeline, write_config

__all__ = ["receiver"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs under ``tmp_path``, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem is full; returns it."""
    filler = disk / "filler"
    # The file's close can meet the full disk too (what its buffer still held), and the
    # daemon's own writes decide where the space runs out.
    try:
        with filler.open("wb") as fh:
            while True:
                fh.write(bytes(1 << 16))
                fh.flush()
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
    return filler


def ready(url: str) -> tuple[int, str]:
    """``GET /-/ready``: status and text."""
    try:
        with urllib.request.urlopen(url + "/-/ready", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_a_resolve_that_failed_on_a_full_disk_is_applied_when_space_returns(
    stack: Stack, tmp_path: Path, receiver: Receiver, small_disk: Path
) -> None:
    """Disk full while the endpoint recovers: the alert resolves, the store cannot take it
    and /-/ready answers 503; once space is freed the incident resolves (by the rule), its
    ``resolved`` message is sent, and /-/ready answers 200 again — no restart."""
    mock = stack.mock_ai()
    config = write_config(tmp_path, mock, receiver)
    url, proc = stack.daemon(config, storage=small_disk / "data")
    http("POST", mock + "/_mock/behavior", {"fault": "server_error"})
    (first,) = wait_for(lambda: incidents(url), timeout=20, what="an incident", log=proc.log)
    wait_for(receiver.titles, timeout=20, what="the firing message", log=proc.log)
    sent = len(receiver.titles())

    filler = fill(small_disk)
    try:
        wait_for(lambda: ready(url)[0] == 503, timeout=10, what="not ready", log=proc.log)
        assert "storage" in ready(url)[1]
        http("DELETE", mock + "/_mock/behavior")
        wait_for(
            lambda: "Cannot apply alert events" in proc.log(),
            timeout=20,
            what="the resolve to fail on the full disk",
            log=proc.log,
        )
        _, alerts = http("GET", url + "/api/v1/alerts")
        assert alerts["data"]["alerts"] == []
        assert incidents(url)[0]["state"] == "firing"
        assert ready(url)[0] == 503
        time.sleep(2)
        assert len(receiver.titles()) == sent
    finally:
        with contextlib.suppress(OSError):
            filler.unlink()

    wait_for(
        lambda: incidents(url)[0]["state"] == "resolved",
        timeout=20,
        what="the incident to resolve once space is back",
        log=proc.log,
    )
    (done,) = incidents(url)
    assert (done["id"], done["resolved_by"]) == (first["id"], "rule")
    assert timeline(url, first["id"]) == ["fired", "resolved"]
    wait_for(
        lambda: len(receiver.titles()) == sent + 1,
        timeout=20,
        what="the resolved message",
        log=proc.log,
    )
    wait_for(lambda: ready(url)[0] == 200, timeout=10, what="ready again", log=proc.log)
    assert proc.proc.poll() is None
