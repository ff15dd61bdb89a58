"""A real Prometheus whose ``alerting.alertmanagers`` points at aiwatch opens an incident."""

import asyncio
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.daemons import free_port

from .conftest import Serve

PROMETHEUS = shutil.which("prometheus")

RULES = """\
groups:
  - name: ingest
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        for: 0s
        labels: {severity: critical}
        annotations: {summary: "fires from the first evaluation"}
"""


@pytest.mark.skipif(PROMETHEUS is None, reason="needs the prometheus binary")
async def test_prometheus_alert_opens_an_incident(serve: Serve, tmp_path: Path) -> None:
    """Prometheus 2.x sends its firing alert to POST /api/v2/alerts; aiwatch opens an incident."""
    assert PROMETHEUS is not None
    served = await serve()
    aiwatch = urlparse(served.url).netloc
    (tmp_path / "rules.yml").write_text(RULES)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  evaluation_interval: 1s\n"
        "alerting:\n  alertmanagers:\n    - api_version: v2\n"
        f"      static_configs:\n        - targets: ['{aiwatch}']\n"
        f"rule_files: ['{tmp_path / 'rules.yml'}']\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{free_port()}",
        "--rules.alert.resend-delay=1s",
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        found: list[dict[str, object]] = []
        for _ in range(120):
            status, body = await served.call("GET", "/api/v1/incidents")
            assert status == 200
            found = body["data"]
            if found:
                break
            await asyncio.sleep(0.25)
        assert found, (tmp_path / "prometheus.log").read_text()[-2000:]
        incident = found[0]
        assert incident["alertname"] == "AlwaysFiring"
        assert incident["severity"] == "critical"
        assert incident["state"] == "firing"
        assert incident["annotations"] == {"summary": "fires from the first evaluation"}
        assert "/graph?g0.expr=" in str(incident["generator_url"])
        await asyncio.sleep(2.5)  # resends of the same alert update, never duplicate
        status, body = await served.call("GET", "/api/v1/incidents")
        assert [i["id"] for i in body["data"]] == [incident["id"]]
    finally:
        proc.terminate()
        await proc.wait()
        log.close()
