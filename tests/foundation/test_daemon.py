"""The daemon as a user runs it: start-up, core routes, reload, secrets, shutdown."""

import json
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli import run_once
from tests.daemons import DaemonProcess

SECRET = "sk-planted-7f3a9c"
URL_PASSWORD = "pw-planted-51c0de"
URL_TOKEN = "tok-planted-94ab1e"
HEADER_TOKEN = "hdr-planted-0b5e"
"""Planted in URLs (a password and a ``?token=``) and in an oversized request header."""

CONFIG = f"""\
global:
  probe_interval: 1h
alertmanager:
  forward_to: ["http://am:{URL_PASSWORD}@127.0.0.1:9/?token={URL_TOKEN}"]
targets:
  - name: health
    kind: http
    url: http://probe:{URL_PASSWORD}@127.0.0.1:9/health?api-version=1&token={URL_TOKEN}
    headers: {{Authorization: "Bearer {SECRET}"}}
  - name: chat
    kind: openai_chat
    url: http://127.0.0.1:9/v1
    model: m
    api_key_file: key.txt
notifications:
  routes:
    - apprise: ["json://127.0.0.1:9/{SECRET}"]
"""

StartDaemon = Callable[..., DaemonProcess]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "key.txt").write_text(SECRET + "\n")
    path = tmp_path / "aiwatch.yml"
    path.write_text(CONFIG)
    return path


def test_core_routes_answer(config: Path, start_daemon: StartDaemon) -> None:
    """/-/healthy, /-/ready and /metrics answer; unknown routes get a JSON 404 envelope."""
    daemon = start_daemon(config)
    assert daemon.get("/-/healthy")[0] == 200
    assert daemon.get("/-/ready")[0] == 200
    status, body = daemon.get("/metrics")
    assert status == 200
    text = body.decode()
    assert 'aiwatch_build_info{python_version="' in text
    assert "aiwatch_config_last_reload_successful 1.0" in text
    assert "process_cpu_seconds_total" in text
    status, body = daemon.get("/no/such/route")
    assert status == 404
    assert json.loads(body) == {
        "status": "error",
        "errorType": "not_found",
        "error": "no route GET /no/such/route",
    }


def test_metrics_pass_promtool(config: Path, start_daemon: StartDaemon, tmp_path: Path) -> None:
    """``promtool check metrics`` finds no problem in the live /metrics output."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (CI installs Debian's prometheus)")
    daemon = start_daemon(config)
    _, body = daemon.get("/metrics")
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == b""


def test_reload_keeps_old_config_when_new_one_is_invalid(
    config: Path, start_daemon: StartDaemon
) -> None:
    """A valid reload applies; an invalid one is a 500 with the problem, the old config stays."""
    daemon = start_daemon(config)
    config.write_text(CONFIG.replace("probe_interval: 1h", "probe_interval: 2h"))
    status, _ = daemon.post("/-/reload")
    assert status == 200
    _, body = daemon.get("/api/v1/status/config")
    assert json.loads(body)["data"]["config"]["global"]["probe_interval"] == "2h"

    config.write_text(CONFIG.replace("probe_interval: 1h", "probe_interval: often"))
    status, body = daemon.post("/-/reload")
    assert status == 500
    error = json.loads(body)
    assert error["status"] == "error"
    assert (
        f"{config}:2:19: global.probe_interval: 'often' is not a valid duration" in (error["error"])
    )
    _, body = daemon.get("/api/v1/status/config")
    assert json.loads(body)["data"]["config"]["global"]["probe_interval"] == "2h"
    _, metrics = daemon.get("/metrics")
    assert b"aiwatch_config_last_reload_successful 0.0" in metrics

    config.write_text(CONFIG)
    assert daemon.post("/-/reload")[0] == 200
    _, metrics = daemon.get("/metrics")
    assert b"aiwatch_config_last_reload_successful 1.0" in metrics


def test_sighup_reloads(config: Path, start_daemon: StartDaemon) -> None:
    """SIGHUP reloads the config file like POST /-/reload."""
    daemon = start_daemon(config)
    config.write_text(CONFIG.replace("probe_interval: 1h", "probe_interval: 3h"))
    daemon.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, body = daemon.get("/api/v1/status/config")
        if json.loads(body)["data"]["config"]["global"]["probe_interval"] == "3h":
            break
        time.sleep(0.1)
    else:
        pytest.fail("SIGHUP did not reload:\n" + daemon.log())


def test_secrets_never_leave_the_process(config: Path, start_daemon: StartDaemon) -> None:
    """A planted secret, a URL's password or ``?token=``, or an oversized ``Authorization``
    header appears in no API output, no /metrics line and no log line; URLs are shown with
    their credentials as ``<secret>``."""
    daemon = start_daemon(config, "--log.level", "debug")
    _, status_config = daemon.get("/api/v1/status/config")
    doc = json.loads(status_config)["data"]["config"]
    assert doc["targets"][0]["headers"] == {"Authorization": "<secret>"}
    assert doc["targets"][0]["url"] == (
        "http://probe:<secret>@127.0.0.1:9/health?api-version=1&token=<secret>"
    )
    assert doc["alertmanager"]["forward_to"] == ["http://am:<secret>@127.0.0.1:9/?token=<secret>"]
    assert doc["targets"][1]["api_key"] == "<secret>"
    assert doc["notifications"]["routes"][0]["apprise"] == ["<secret>"]
    outputs = [status_config, daemon.get("/metrics")[1]]
    for path in ("/api/v1/targets", "/probe?target=health&debug=true"):
        outputs.append(daemon.get(path)[1])
    assert b"GET http://probe:<secret>@127.0.0.1:9/health?api-version=1" in outputs[-1]
    assert _oversized_header(daemon.port) == 400
    config.write_text(CONFIG.replace("probe_interval: 1h", "probe_interval: nope"))
    outputs.append(daemon.post("/-/reload")[1])
    # An error that quotes a URL: forward_to given as one string instead of a list.
    forward = f'"http://am:{URL_PASSWORD}@127.0.0.1:9/?token={URL_TOKEN}"'
    config.write_text(CONFIG.replace(f"[{forward}]", forward))
    status, body = daemon.post("/-/reload")
    assert status == 500
    assert b"http://am:<secret>@127.0.0.1:9/?token=<secret>" in body
    outputs.append(body)
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.proc.wait(15)
    log = daemon.log()
    for planted in (SECRET, URL_PASSWORD, URL_TOKEN, HEADER_TOKEN):
        for output in outputs:
            assert planted.encode() not in output
        assert planted not in log


def _oversized_header(port: int) -> int:
    """Send a request whose ``Authorization`` line is over 8,190 bytes; the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        value = "Basic " + HEADER_TOKEN * 1000
        sock.sendall(f"GET /-/ready HTTP/1.1\r\nHost: x\r\nAuthorization: {value}\r\n\r\n".encode())
        return int(sock.recv(1024).split(b" ", 2)[1])


def test_sigterm_shuts_down_gracefully(config: Path, start_daemon: StartDaemon) -> None:
    """SIGTERM stops the daemon within the bounded time, exit 0, with the reason logged."""
    daemon = start_daemon(config)
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(15) == 0
    assert time.monotonic() - started < 12
    log = daemon.log()
    assert 'msg="Shutting down" reason="received SIGTERM"' in log
    assert "msg=Stopped" in log


def test_json_log_format(config: Path, start_daemon: StartDaemon) -> None:
    """--log.format=json writes one JSON object per line."""
    daemon = start_daemon(config, "--log.format", "json")
    daemon.proc.send_signal(signal.SIGINT)
    assert daemon.proc.wait(15) == 0
    lines = [json.loads(line) for line in daemon.log().splitlines() if line.strip()]
    assert any(line["msg"] == "Listening" for line in lines)
    assert any(line.get("reason") == "received SIGINT" for line in lines)


def test_invalid_config_at_startup_exits_1_without_traceback(tmp_path: Path) -> None:
    """`aiwatch run` with a bad config prints each problem once and exits 1."""
    path = tmp_path / "bad.yml"
    path.write_text("targets:\n  - name: a\n    kind: http\n    url: http://x\n    tmeout: 1s\n")
    result = run_once(path, tmp_path / "d")
    assert result.returncode == 1
    assert f"{path}:5:5: targets[0].tmeout: unknown key 'tmeout'" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_a_clear_error(
    config: Path, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    """A second daemon on a taken port exits 1 with a message naming the address."""
    daemon = start_daemon(config)
    result = run_once(config, tmp_path / "other", listen=f"127.0.0.1:{daemon.port}")
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{daemon.port}" in result.stderr
    assert "Traceback" not in result.stderr
