"""A real browser for the pages: Debian's headless chromium driven by Selenium, and a daemon
with basic auth probing ``aiwatch mock-ai``, for the browser tests and the screenshots."""

import base64
import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcrypt

from tests.cli import aiwatch_argv, run_argv
from tests.daemons import LoggedProcess, free_port

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = (
    None
    if CHROMIUM and CHROMEDRIVER
    else "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
)
"""Why the browser tests cannot run here, or None."""

USERS = {"alice": "alice-secret", "bob": "bob-secret"}
"""alice is an admin; bob only reads."""

RULES = """\
groups:
  - name: endpoints
    interval: 500ms
    rules:
      - alert: EndpointDown
        expr: aiwatch_probe_success == 0
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.target }} is down"
          description: "The last probe of {{ $labels.target }} failed."
"""


def config_text(mock: str) -> str:
    """Two chat targets of one feature, an embeddings target, an experiment between the chats."""
    return f"""\
global:
  evaluation_interval: 500ms
rule_files: [rules.yml]
web:
  admin_users: [alice]
  status_page: {{enabled: true, title: Acme AI status}}
targets:
  - {{name: chat-primary, feature: captions, kind: openai_chat, url: {mock}/v1, model: mock-gpt,
     interval: 300ms, timeout: 2s}}
  - {{name: chat-candidate, feature: captions, kind: openai_chat, url: {mock}/v1,
     model: mock-mini, interval: 300ms, timeout: 2s}}
  - {{name: embed, feature: search, kind: openai_embeddings, url: {mock}/v1, model: mock-embedding,
     interval: 300ms, timeout: 2s, slo: {{latency_p95: 20ms, window: 1m}}}}
experiments:
  - name: captions-model-v2
    hypothesis: the mini model captions as reliably, and faster
    control: current
    variants:
      - {{name: current, target: chat-primary, weight: 0.5}}
      - {{name: candidate, target: chat-candidate, weight: 0.5}}
    metrics:
      - {{name: success_rate, source: probe, kind: proportion, field: success, goal: increase}}
      - {{name: latency, source: probe, kind: mean, field: duration, goal: decrease}}
    min_samples: 10
"""


def basic(user: str) -> str:
    """The Authorization header value of ``user``."""
    return "Basic " + base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()


def http(method: str, url: str, *, user: str | None = None, body: Any = None) -> tuple[int, Any]:
    """One request; (status, JSON or text), also for HTTP errors."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if user:
        request.add_header("Authorization", basic(user))
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            raw, status = resp.read(), resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for(what: str, predicate: Callable[[], Any], *, timeout: float = 30.0) -> Any:
    """Poll ``predicate`` every 0.2 s until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Stack:
    """``aiwatch mock-ai`` and ``aiwatch run`` with basic auth, in ``tmp``."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.processes: list[LoggedProcess] = []
        port = free_port()
        self.mock = f"http://127.0.0.1:{port}"
        mock = LoggedProcess(
            aiwatch_argv("mock-ai", "--listen-address", f"127.0.0.1:{port}"), tmp / "mock.log"
        )
        self.processes.append(mock)
        wait_for("mock-ai", lambda: "listening on" in mock.log())
        # Slower than the embed target's objective: it is degraded, not up.
        slow = {"latency": 0.05}
        http("POST", f"{self.mock}/_mock/behavior?model=mock-embedding", body=slow)
        (tmp / "rules.yml").write_text(RULES)
        (tmp / "aiwatch.yml").write_text(config_text(self.mock))
        lines = ["basic_auth_users:"] + [
            f"  {u}: {bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode()}"
            for u, p in USERS.items()
        ]
        (tmp / "web.yml").write_text("\n".join(lines) + "\n")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        argv = run_argv(tmp / "aiwatch.yml", f"127.0.0.1:{port}", tmp / "data")
        argv += ["--web.config.file", str(tmp / "web.yml"), *extra]
        self.daemon = LoggedProcess(argv, tmp / "aiwatch.log")
        self.processes.append(self.daemon)
        wait_for("the daemon", lambda: self.ready() or self.daemon.proc.poll() is not None)
        assert self.daemon.proc.poll() is None, self.daemon.log()

    def ready(self) -> bool:
        """Whether ``/-/ready`` answers 200 to alice."""
        try:
            return http("GET", self.url + "/-/ready", user="alice")[0] == 200
        except urllib.error.URLError:
            return False

    def fail_model(self, model: str) -> None:
        """Make every request for ``model`` answer HTTP 500."""
        status, _ = http("POST", f"{self.mock}/_mock/behavior?model={model}", body={"status": 500})
        assert status == 200

    def heal(self, model: str) -> None:
        """``model`` answers again."""
        http("POST", f"{self.mock}/_mock/behavior?model={model}", body={})

    def incidents(self) -> list[dict[str, Any]]:
        """The incidents, newest first (as alice)."""
        status, body = http("GET", self.url + "/api/v1/incidents?state=open", user="alice")
        assert status == 200, body
        found: list[dict[str, Any]] = body["data"]
        return found

    def stop(self) -> None:
        """Stop the daemon, then the mock."""
        for proc in reversed(self.processes):
            proc.terminate(10.0)


def chromium(*, width: int = 1280, height: int = 900, user: str | None = None) -> Any:
    """A headless chromium whose every request carries ``user``'s basic-auth credentials."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "chromium"
    # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER or "chromedriver"))
    driver.set_page_load_timeout(30)
    if user is not None:
        # Logging in with basic auth is sending the header: chromium's own prompt cannot be
        # answered headless, so the DevTools protocol adds it to every request of the page.
        driver.execute_cdp_cmd("Network.enable", {})
        headers = {"Authorization": basic(user)}
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": headers})
    return driver
