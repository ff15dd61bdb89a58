"""``POST /-/reload`` answers in the API envelope whose errorType matches its HTTP status."""

import json
from collections.abc import Callable
from pathlib import Path

from tests.daemons import DaemonProcess

StartDaemon = Callable[..., DaemonProcess]


def test_failed_reload_is_a_500_internal_error(tmp_path: Path, start_daemon: StartDaemon) -> None:
    """An invalid config on disk: 500 with errorType internal (not bad_data, which means 400)."""
    config = tmp_path / "aiwatch.yml"
    config.write_text("global:\n  probe_interval: 1h\ntargets: []\n")
    daemon = start_daemon(config)
    config.write_text("global:\n  probe_interval: often\ntargets: []\n")
    status, body = daemon.post("/-/reload")
    assert status == 500
    answer = json.loads(body)
    assert answer["status"] == "error"
    assert answer["errorType"] == "internal"
    assert "invalid config, previous one kept" in answer["error"]
    assert "'often' is not a valid duration" in answer["error"]
