"""The pages in a real browser: log in, acknowledge from the incident page, viewers and
forged POSTs refused, a phone-wide screen, live updates."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pages.browser import MISSING, Stack, chromium, http, wait_for

pytestmark = [
    pytest.mark.skipif(MISSING is not None, reason=MISSING or ""),
    pytest.mark.timeout(240),
]

FORGE = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {method: "POST", body: new URLSearchParams(arguments[1])})
  .then(r => done(r.status), e => done(String(e)));
"""
"""A POST the page's own script could send, as a forged form would: no or a wrong token."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """mock-ai and a daemon with alice (admin) and bob (viewer), chat-primary failing."""
    s = Stack(tmp_path_factory.mktemp("browser"))
    try:
        s.fail_model("mock-gpt")
        wait_for("an incident for chat-primary", s.incidents)
        yield s
    finally:
        s.stop()


def text(driver: Any, element_id: str) -> str:
    """The text of an element, read in one step (a live update may replace the element)."""
    script = "const e = document.getElementById(arguments[0]); return e ? e.innerText : '';"
    return str(driver.execute_script(script, element_id)).strip()


def _incident(stack: Stack) -> dict[str, Any]:
    (found,) = [i for i in stack.incidents() if i["labels"].get("target") == "chat-primary"]
    return found


def test_admin_acknowledges_the_incident_a_failing_target_opened(stack: Stack) -> None:
    """alice opens the incident from the overview, presses Acknowledge: the page and the API
    both say acknowledged by alice."""
    from selenium.webdriver.common.by import By

    incident = _incident(stack)
    driver = chromium(user="alice")
    try:
        driver.get(stack.url + "/")
        rows = driver.find_elements(By.CSS_SELECTOR, 'tr[data-target="chat-primary"]')
        assert rows
        assert rows[0].get_attribute("data-state") == "down"
        driver.find_element(By.LINK_TEXT, f"#{incident['id']}").click()
        assert text(driver, "incident-state") == "firing"
        assert "chat-primary is down" in driver.page_source
        driver.find_element(By.ID, "acknowledge").click()
        wait_for(
            "the page to show acknowledged",
            lambda: text(driver, "incident-state") == "acknowledged",
        )
        assert driver.current_url == f"{stack.url}/incidents/{incident['id']}"
        assert "acknowledged by alice" in text(driver, "live-incident")
        assert not driver.find_elements(By.ID, "acknowledge")
        _, body = http("GET", f"{stack.url}/api/v1/incidents/{incident['id']}", user="bob")
        assert body["data"]["state"] == "acknowledged"
        assert body["data"]["acknowledged_by"] == "alice"
        # A POST without the page's token, even from alice's own browser, is refused.
        url = f"{stack.url}/incidents/{incident['id']}/resolve"
        assert driver.execute_async_script(FORGE, url, {}) == 403
        assert driver.execute_async_script(FORGE, url, {"csrf_token": "f" * 64}) == 403
        _, body = http("GET", f"{stack.url}/api/v1/incidents/{incident['id']}", user="bob")
        assert body["data"]["state"] == "acknowledged"
    finally:
        driver.quit()


def test_viewer_has_no_buttons_and_a_forged_post_is_refused(stack: Stack) -> None:
    """bob sees the incident, its labels and timeline, no button; his POST is 403."""
    from selenium.webdriver.common.by import By

    incident = _incident(stack)
    driver = chromium(user="bob")
    try:
        driver.get(f"{stack.url}/incidents/{incident['id']}")
        assert driver.find_element(By.TAG_NAME, "h1").text.startswith(f"#{incident['id']}")
        assert 'target="chat-primary"' in driver.page_source
        for button in ("acknowledge", "resolve", "comment", "silence"):
            assert not driver.find_elements(By.ID, button), button
        assert not driver.find_elements(By.TAG_NAME, "form")
        url = f"{stack.url}/incidents/{incident['id']}/resolve"
        assert driver.execute_async_script(FORGE, url, {"csrf_token": "x"}) == 403
        _, body = http("GET", f"{stack.url}/api/v1/incidents/{incident['id']}", user="alice")
        assert body["data"]["state"] != "resolved"
    finally:
        driver.quit()


def test_pages_fit_a_phone_screen(stack: Stack) -> None:
    """At 360 px wide no page scrolls sideways (wide tables scroll inside their own box)."""
    driver = chromium(width=360, height=780, user="alice")
    try:
        incident = _incident(stack)
        for path in (
            "/",
            "/incidents",
            f"/incidents/{incident['id']}",
            "/targets/chat-primary",
            "/experiments/captions-model-v2",
            "/silences",
        ):
            driver.get(stack.url + path)
            width = driver.execute_script("return document.documentElement.scrollWidth")
            inner = driver.execute_script("return window.innerWidth")
            assert width <= inner, (path, width, inner)
    finally:
        driver.quit()


def test_target_page_runs_a_debug_probe_for_admins(stack: Stack, tmp_path: Path) -> None:
    """The target page lists the last probes with their error; Probe now shows the debug view."""
    from selenium.webdriver.common.by import By

    driver = chromium(user="alice")
    try:
        driver.get(stack.url + "/targets/chat-primary")
        assert "server_error" in text(driver, "live-probes")
        driver.find_element(By.ID, "probe-now").click()
        debug = wait_for(
            "the debug view", lambda: driver.find_elements(By.CSS_SELECTOR, "pre.debug")
        )
        assert "Probe of target 'chat-primary'" in debug[0].text
    finally:
        driver.quit()


def test_overview_updates_from_the_event_stream_without_a_reload(stack: Stack) -> None:
    """A target going down turns its row down on an open overview; the page is not reloaded."""
    driver = chromium(user="alice")
    try:
        driver.get(stack.url + "/")
        state = "return document.querySelector('tr[data-target=\"chat-candidate\"]')?.dataset.state"
        wait_for("chat-candidate up", lambda: driver.execute_script(state) == "up")
        assert driver.execute_script(state.replace("chat-candidate", "embed")) == "degraded"
        wait_for(
            "the stream to connect",
            lambda: driver.execute_script("return document.body.dataset.liveConnected") == "true",
        )
        driver.execute_script("window.notReloaded = true")
        stack.fail_model("mock-mini")
        wait_for("chat-candidate down", lambda: driver.execute_script(state) == "down")
        assert driver.execute_script("return window.notReloaded") is True
        assert "chat-candidate is down" in text(driver, "live-overview") or wait_for(
            "its incident on the overview",
            lambda: "chat-candidate is down" in text(driver, "live-overview"),
        )
    finally:
        stack.heal("mock-mini")
        driver.quit()


def test_incident_page_follows_an_acknowledgement_made_elsewhere(stack: Stack) -> None:
    """An open incident page turns acknowledged when someone acknowledges through the API."""
    driver = chromium(user="bob")
    try:
        stack.fail_model("mock-embedding")
        embed = wait_for(
            "an incident for embed",
            lambda: [i for i in stack.incidents() if i["labels"].get("target") == "embed"],
        )[0]
        driver.get(f"{stack.url}/incidents/{embed['id']}")
        assert text(driver, "incident-state") == "firing"
        wait_for(
            "the stream to connect",
            lambda: driver.execute_script("return document.body.dataset.liveConnected") == "true",
        )
        driver.execute_script("window.notReloaded = true")
        url = f"{stack.url}/api/v1/incidents/{embed['id']}/acknowledge"
        status, _ = http("POST", url, user="alice", body={"comment": "from the CLI"})
        assert status == 200
        wait_for("the page to follow", lambda: text(driver, "incident-state") == "acknowledged")
        assert driver.execute_script("return window.notReloaded") is True
        assert "from the CLI" in text(driver, "live-incident")
    finally:
        stack.heal("mock-embedding")
        http("POST", f"{stack.mock}/_mock/behavior?model=mock-embedding", body={"latency": 0.05})
        driver.quit()
