"""Screenshots of the pages for the docs: ``python -m tests.pages.screenshots [DIR]``.

Starts ``aiwatch mock-ai`` and a daemon with basic auth (tests/pages/browser.py), lets one
model fail so an incident opens, waits for the experiment to gather samples, and saves the
overview, an incident, an experiment and the status page at desktop width and at 360 px
into DIR (default ``docs/img``) as ``page-NAME-desktop.png`` and ``page-NAME-phone.png``.
"""

import sys
import tempfile
import time
from pathlib import Path

from tests.pages.browser import MISSING, Stack, chromium, http, wait_for

SIZES = {"desktop": (1280, 900), "phone": (360, 780)}


def _pages(stack: Stack) -> dict[str, str]:
    (incident,) = [i for i in stack.incidents() if i["labels"].get("target") == "chat-primary"]
    pages = {
        "overview": "/",
        "incident": f"/incidents/{incident['id']}",
        "experiment": "/experiments/captions-model-v2",
    }
    if http("GET", stack.url + "/status", user="alice")[0] == 200:
        pages["status"] = "/status"
    return pages


def _shoot(stack: Stack, out: Path) -> list[Path]:
    saved = []
    pages = _pages(stack)
    for size, (width, height) in SIZES.items():
        driver = chromium(width=width, height=height, user="alice")
        try:
            for name, path in pages.items():
                driver.get(stack.url + path)
                time.sleep(0.5)  # let the live-update script connect, fonts settle
                full = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(width, min(max(int(full) + 140, height), 4000))
                target = out / f"page-{name}-{size}.png"
                driver.save_screenshot(str(target))
                driver.set_window_size(width, height)
                saved.append(target)
        finally:
            driver.quit()
    return saved


def main(argv: list[str]) -> int:
    """Take the screenshots; print where they went."""
    if MISSING:
        print(MISSING, file=sys.stderr)
        return 1
    out = Path(argv[0] if argv else "docs/img")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            # A slower control makes the candidate win on latency, as the hypothesis hopes.
            http("POST", stack.mock + "/_mock/behavior?model=mock-gpt", body={"latency": 0.04})
            wait_for("samples", lambda: len(stack.incidents()) == 0, timeout=5)
            time.sleep(8)
            stack.fail_model("mock-gpt")
            wait_for("an incident", stack.incidents, timeout=30)
            time.sleep(2)
            for path in _shoot(stack, out):
                print(path)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
