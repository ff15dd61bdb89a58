"""``aiwatch run`` says what it does: a start-up summary and one line per state change."""

import time
from pathlib import Path

from tests.cli import run_argv
from tests.daemons import LoggedProcess, free_port, wait_ready

RULES = """\
groups:
  - name: health
    interval: 1s
    rules:
      - alert: EndpointDown
        expr: aiwatch_probe_success == 0
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.target }} is down"}
"""


def _lines(log: str, msg: str, target: str) -> list[str]:
    return [line for line in log.splitlines() if f'msg="{msg}"' in line and target in line]


def test_failing_target_logs_one_down_line_and_one_incident_line(tmp_path: Path) -> None:
    """Over a dozen failed probes, the broken target is logged down once, its alert fires
    once and one incident opens; the start-up summary names the config, the targets by
    kind and the rules, and warns that the alerts reach nobody."""
    (tmp_path / "rules.yml").write_text(RULES)
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "global: {evaluation_interval: 1s}\n"
        "targets:\n"
        f"  - {{name: broken, kind: http, url: 'http://127.0.0.1:{free_port()}/', "
        "interval: 500ms, timeout: 400ms}\n"
        "rule_files: [rules.yml]\n"
    )
    port = free_port()
    daemon = LoggedProcess(
        run_argv(config, f"127.0.0.1:{port}", tmp_path / "data"), tmp_path / "log"
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", exited=daemon.proc.poll, log=daemon.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _lines(daemon.log(), "Incident opened", ""):
            time.sleep(0.2)
        time.sleep(6)  # a dozen more probes and several evaluations: still no repeat
    finally:
        daemon.terminate()
    log = daemon.log_path.read_text()
    assert len(_lines(log, "Target down", "target=broken")) == 1, log
    assert len(_lines(log, "Alert firing", "alertname=EndpointDown")) == 1, log
    assert len(_lines(log, "Incident opened", "target=broken")) == 1, log
    (summary,) = _lines(log, "Loaded configuration", "")
    assert f"file={config}" in summary
    assert 'targets_by_kind="http=1"' in summary
    assert "web_config=off" in summary
    assert "shard=0/1" in summary
    assert _lines(log, "Rules loaded", "alerting_rules=1")
    assert "nobody will be told" in log
