"""``aiwatch demo`` owns its port before it does anything, and ends with its incidents resolved."""

import http.server
import re
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from tests.cli import aiwatch


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Another daemon on the demo's port: answers everything 200 and remembers each request."""

    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        body = b'{"status":"success","data":{}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def occupied() -> Iterator[tuple[int, list[str]]]:
    """A loopback port held by a server that records what it is sent."""
    seen: ClassVar[list[str]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_demo_on_a_busy_port_fails_first_and_sends_nothing(
    occupied: tuple[int, list[str]],
) -> None:
    """With the port held by another server, the demo exits 1 saying so, prints no banner
    or narration, and sends that server no request (no readiness poll, no observations)."""
    port, seen = occupied
    result = aiwatch(
        "demo",
        f"--web.listen-address=127.0.0.1:{port}",
        "--duration=8s",
        "--degrade-after=1s",
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert seen == []
    assert "/metrics" not in result.stdout
    assert "[demo" not in result.stdout
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "another aiwatch" in result.stderr


@pytest.mark.timeout(240)
def test_demo_resolves_every_incident_it_opens_before_it_stops() -> None:
    """A demo stopped 75 s after an outage at 2 s has resolved each incident it opened:
    the outage lasts 25 s and the error ratio looks back 30 s, so a two-minute demo
    (outage at 30 s) ends with nothing firing. With a 45 s outage and a 1 m window the
    error-ratio incident was still firing at the end."""
    result = aiwatch(
        "demo",
        "--web.listen-address=127.0.0.1:0",
        "--duration=75s",
        "--degrade-after=2s",
        timeout=150,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    firing = set(re.findall(r"incident #(\d+) \w+ is firing", output))
    resolved = set(re.findall(r"incident #(\d+) \w+ is resolved", output))
    assert len(firing) == 2, output
    assert resolved == firing, output
