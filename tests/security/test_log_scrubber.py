"""Every log record passes one scrubber: URLs lose their credentials, and the tokens of
configured notification URLs are masked whichever library logs them."""

import subprocess
import sys
from pathlib import Path

TOKEN = "xoxbPlantedToken4f1c9e2a"
PASSWORD = "pw-planted-3e7f"

SCRIPT = """
import http.server, logging, sys, threading
import urllib3
from aiwatch.config import load_config
from aiwatch.logs import setup_logging
from aiwatch.runtime import ConfigState, Options

class Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

setup_logging(level="debug")
ConfigState(load_config(sys.argv[1]), Options(config_file=sys.argv[1]))
server = http.server.HTTPServer(("127.0.0.1", 0), Ok)
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]
# What Apprise's Slack plugin does: urllib3 logs the path it posts to at debug level.
urllib3.PoolManager().request("POST", f"http://127.0.0.1:{port}/services/T0001AAAA/B0002BBBB/{sys.argv[2]}")
logging.getLogger("somelib").warning("retrying %s", sys.argv[3])
server.shutdown()
"""


def test_webhook_tokens_and_url_passwords_are_scrubbed_from_every_logger(tmp_path: Path) -> None:
    """urllib3's debug line ``POST /services/T…/B…/<token>`` and another library's line with
    a URL password reach the log with ``<secret>`` in their place."""
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        f"notifications:\n  routes:\n    - apprise: ['slack://T0001AAAA/B0002BBBB/{TOKEN}']\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config), TOKEN, f"http://u:{PASSWORD}@example.test/x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    log = done.stderr
    assert "POST /services/<secret>/<secret>/<secret>" in log, log
    assert "http://u:<secret>@example.test/x" in log, log
    assert TOKEN not in log
    assert PASSWORD not in log
