"""``aiwatch demo --web.listen-address 127.0.0.1:0`` picks a real port and tells the story."""

import re
import subprocess

from tests.bundle.stack import aiwatch


def test_demo_on_port_0_prints_reachable_urls_and_runs_its_script() -> None:
    """Port 0 becomes a free port before the URLs are printed and the script polls the daemon.

    It used to print ``http://127.0.0.1:0/metrics`` and wait for ``127.0.0.1:0`` forever, so
    the scripted outage never started.
    """
    result = subprocess.run(
        aiwatch("demo", "--web.listen-address=127.0.0.1:0", "--duration=6s", "--degrade-after=1s"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    ports = set(re.findall(r"http://127\.0\.0\.1:(\d+)/api/v1/", output))
    assert len(ports) == 1, output
    assert ports != {"0"}, output
    assert "model mock-gpt (target chat-primary) answers HTTP 500" in output, output
