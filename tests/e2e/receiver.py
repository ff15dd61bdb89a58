"""A real HTTP endpoint for Apprise's ``json://`` notifications, served from a thread.

The end-to-end tests block (``urllib``, ``time.sleep``) while daemons run, so the receiver
cannot live on their event loop; a ``ThreadingHTTPServer`` answers on its own.
"""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Receiver:
    """Records every JSON payload posted to it, in arrival order."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                with receiver._lock:
                    receiver.received.append(payload)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                del args

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "hook") -> str:
        """The Apprise URL that posts here."""
        return f"json://127.0.0.1:{self.port}/{path}"

    def titles(self) -> list[str]:
        """The titles received so far."""
        with self._lock:
            return [str(p.get("title", "")) for p in self.received]

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started receiver, stopped after the test."""
    rec = Receiver()
    yield rec
    rec.close()
