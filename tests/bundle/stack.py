"""Real processes for the end-to-end tests: mock-ai, ``aiwatch run``, Prometheus, a receiver."""

import contextlib
import functools
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.bundle.grafana import REPO

PROMETHEUS = Path("/usr/bin/prometheus")
ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_json(url: str, *, method: str = "GET", body: Any = None, timeout: float = 5) -> Any:
    """Call a JSON HTTP API on loopback; the decoded answer (errors raise HTTPError)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def http_text(url: str, *, timeout: float = 5) -> str:
    """GET a text page."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text: str = response.read().decode()
        return text


def wait_for(
    check: Callable[[], Any], *, timeout: float, interval: float = 0.25, what: str = ""
) -> Any:
    """Poll ``check`` until it returns something truthy; the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (OSError, urllib.error.URLError, ValueError):
            value = None
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@dataclass
class Process:
    """A child process whose output goes to a log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        """The end of its log, for failure messages."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start(name: str, args: list[str], *, workdir: Path) -> Process:
    """Start ``args`` with stdout and stderr in ``workdir/name.log``."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    return Process(name, proc, log)


def aiwatch(*args: str) -> list[str]:
    """The command line of ``aiwatch ARGS`` with this interpreter."""
    return [sys.executable, "-m", "aiwatch", *args]


class Receiver:
    """A local HTTP endpoint that accepts any POST (Apprise json:// notifications) and keeps it."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with contextlib.suppress(ValueError):
                    received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def fast_alert_rules(path: Path, *, for_: str = "2s") -> Path:
    """prometheus/alerts.yml with every ``for`` shortened, so a test sees alerts fire in
    seconds; everything else (expressions, labels, annotations) is the bundled file's."""
    document = yaml.safe_load((REPO / "prometheus/alerts.yml").read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = for_
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def e2e_aiwatch_config(
    path: Path,
    *,
    mock_port: int,
    rule_files: list[Path],
    receiver_port: int,
    storage: Path,
) -> Path:
    """config/docker.yml adapted to local ports (mock-ai, the notification receiver) and a
    1 s rhythm, plus a Bayesian experiment fed by observations."""
    document = yaml.safe_load((REPO / "config/docker.yml").read_text())
    document["global"].update(probe_interval="1s", probe_timeout="1s", evaluation_interval="1s")
    for target in document["targets"]:
        target["url"] = target["url"].replace("mock-ai:9532", f"127.0.0.1:{mock_port}")
        target["interval"] = "1s"
        target["timeout"] = "1s"
        # Random errors would make the error-ratio alert flap near its threshold; the test
        # degrades the endpoint on purpose instead.
        target.get("request", {}).get("mock", {}).pop("error_rate", None)
    document["rule_files"] = [str(p) for p in rule_files]
    for route in document["notifications"]["routes"]:
        route["apprise"] = [
            url.replace("notifications:8080", f"127.0.0.1:{receiver_port}")
            for url in route["apprise"]
        ]
    document["experiments"].append(
        {
            "name": "reply-style",
            "hypothesis": "a friendlier reply style is rated higher",
            "control": "plain",
            "variants": [{"name": "plain"}, {"name": "friendly"}],
            "metrics": [{"name": "user_rating", "source": "observations", "kind": "mean"}],
            "method": "bayesian",
            "min_samples": 50,
        }
    )
    document["storage"] = {"path": str(storage)}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def e2e_prometheus_config(
    path: Path,
    *,
    aiwatch_port: int,
    prometheus_port: int,
    alertmanager_port: int | None,
    rule_files: list[Path],
) -> Path:
    """prometheus/prometheus.yml with local ports, 1 s scrapes and evaluations."""
    document = yaml.safe_load((REPO / "prometheus/prometheus.yml").read_text())
    document["global"].update(scrape_interval="1s", evaluation_interval="1s")
    document["rule_files"] = [str(p) for p in rule_files]
    if alertmanager_port is None:
        document.pop("alerting", None)
    else:
        static = document["alerting"]["alertmanagers"][0]["static_configs"][0]
        static["targets"] = [f"127.0.0.1:{alertmanager_port}"]
    ports = {"aiwatch": aiwatch_port, "prometheus": prometheus_port}
    for job in document["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass
class Stack:
    """The running processes and their URLs."""

    workdir: Path
    mock_url: str
    aiwatch_url: str
    prometheus_url: str
    alertmanager_url: str | None
    receiver: Receiver
    processes: list[Process] = field(default_factory=list)

    def logs(self) -> str:
        """Every process's last log lines."""
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Prometheus' instant query result (a list of series)."""
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        answer = http_json(url)
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result


@contextlib.contextmanager
def running_stack(workdir: Path) -> Iterator[Stack]:
    """mock-ai, ``aiwatch run``, a real Prometheus and (when installed) a real Alertmanager
    with the bundled config, on free loopback ports."""
    mock_port, aiwatch_port, prometheus_port = free_port(), free_port(), free_port()
    alertmanager_port = free_port() if ALERTMANAGER.exists() else None
    with Receiver() as receiver:
        rules = fast_alert_rules(workdir / "alerts.yml")
        config = e2e_aiwatch_config(
            workdir / "aiwatch.yml",
            mock_port=mock_port,
            # The recording rules too, so that the dashboards can read aiwatch alone.
            rule_files=[REPO / "prometheus/recording.yml", rules],
            receiver_port=receiver.port,
            storage=workdir / "data",
        )
        prometheus_config = e2e_prometheus_config(
            workdir / "prometheus.yml",
            aiwatch_port=aiwatch_port,
            prometheus_port=prometheus_port,
            alertmanager_port=alertmanager_port,
            rule_files=[REPO / "prometheus/recording.yml", rules],
        )
        stack = Stack(
            workdir=workdir,
            mock_url=f"http://127.0.0.1:{mock_port}",
            aiwatch_url=f"http://127.0.0.1:{aiwatch_port}",
            prometheus_url=f"http://127.0.0.1:{prometheus_port}",
            alertmanager_url=(
                f"http://127.0.0.1:{alertmanager_port}" if alertmanager_port is not None else None
            ),
            receiver=receiver,
        )
        try:
            stack.processes.append(
                start(
                    "mock-ai",
                    aiwatch("mock-ai", "--listen-address", f"127.0.0.1:{mock_port}"),
                    workdir=workdir,
                )
            )
            stack.processes.append(
                start(
                    "aiwatch",
                    aiwatch(
                        "run",
                        f"--config.file={config}",
                        f"--web.listen-address=127.0.0.1:{aiwatch_port}",
                        f"--storage.path={workdir / 'data'}",
                    ),
                    workdir=workdir,
                )
            )
            stack.processes.append(
                start(
                    "prometheus",
                    [
                        str(PROMETHEUS),
                        f"--config.file={prometheus_config}",
                        f"--storage.tsdb.path={workdir / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{prometheus_port}",
                        "--web.enable-lifecycle",
                    ],
                    workdir=workdir,
                )
            )
            if stack.alertmanager_url:
                stack.processes.append(
                    start(
                        "alertmanager",
                        [
                            str(ALERTMANAGER),
                            f"--config.file={REPO / 'alertmanager/alertmanager.yml'}",
                            f"--storage.path={workdir / 'alertmanager'}",
                            f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                            "--cluster.listen-address=",
                        ],
                        workdir=workdir,
                    )
                )
            ready = [
                f"{stack.mock_url}/v1/models",
                f"{stack.aiwatch_url}/-/ready",
                f"{stack.prometheus_url}/-/ready",
            ]
            if stack.alertmanager_url:
                ready.append(f"{stack.alertmanager_url}/-/ready")
            for url in ready:
                if not wait_for(functools.partial(http_text, url), timeout=30):
                    msg = f"{url} did not come up\n{stack.logs()}"
                    raise RuntimeError(msg)
            yield stack
        finally:
            for process in reversed(stack.processes):
                process.stop()


def environment_has_prometheus() -> bool:
    """Whether the real Prometheus binary the end-to-end tests need is installed."""
    return PROMETHEUS.exists() and os.access(PROMETHEUS, os.X_OK)
