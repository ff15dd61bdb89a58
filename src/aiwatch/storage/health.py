"""Whether the storage path can be written now: the disk may fill or be remounted read-only."""

import contextlib
import os

PROBE_FILE = ".write-check"
PROBE_BYTES = 4096


def probe(directory: str) -> str | None:
    """Write, sync and remove a small file in ``directory``; why that failed, or None."""
    path = os.path.join(directory, PROBE_FILE)
    try:
        with open(path, "wb") as fh:
            fh.write(bytes(PROBE_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        os.unlink(path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return f"cannot write to the storage path {directory}: {err.strerror or err}"
    return None
