"""One daemon per storage path: a ``lock`` file held with ``flock`` while aiwatch runs.

As Prometheus' and Alertmanager's: the operating system drops the lock when the process
ends, however it ends, so a lock file left by a process that died is simply taken over.
The file holds the owner's pid, for the message a second daemon prints.
"""

import contextlib
import fcntl
import logging
import os

log = logging.getLogger("aiwatch.storage")

LOCK_FILE = "lock"


class StorageLocked(Exception):
    """Another live process holds the storage path, or the lock file cannot be used."""


class StorageLock:
    """A held lock; ``release`` (or the process ending) gives it up."""

    def __init__(self, fd: int, path: str) -> None:
        self._fd: int | None = fd
        self.path = path

    def release(self) -> None:
        """Give the lock up (the file stays, so a waiting process never sees it vanish)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _owner(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        return str(int(os.pread(fd, 32, 0).decode().strip()))
    return "unknown"


def acquire(directory: str) -> StorageLock:
    """Lock ``directory`` for this process; ``StorageLocked`` names the owner if it is taken."""
    path = os.path.join(directory, LOCK_FILE)
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        msg = f"cannot lock storage path {directory}: {err.strerror}"
        raise StorageLocked(msg) from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        owner = _owner(fd)
        os.close(fd)
        msg = (
            f"storage path {directory} is in use by another aiwatch (pid {owner}); stop it, "
            "or give this one a folder of its own with --storage.path"
        )
        raise StorageLocked(msg) from err
    previous = _owner(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as err:
        # The lock is held all the same; only the pid in the message of another process is lost.
        log.warning("Cannot write the storage lock file", extra={"file": path, "err": err.strerror})
    if previous not in ("unknown", str(os.getpid())):
        log.info("Took over the lock of a stopped aiwatch", extra={"file": path, "pid": previous})
    return StorageLock(fd, path)
