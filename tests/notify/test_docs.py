"""The config examples in docs/notifications.md load as valid aiwatch configs."""

import re
from pathlib import Path

import apprise
import pytest

from aiwatch.config import load_config
from aiwatch.notify.messages import check

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
CONFIGS = [b for b in BLOCKS if b.startswith(("notifications:", "alertmanager:"))]
(APPRISE_CONFIG,) = [b for b in BLOCKS if b.startswith("# apprise.yml")]


def test_the_doc_has_examples() -> None:
    """The worked examples are there to be checked."""
    assert len(CONFIGS) >= 6


@pytest.mark.parametrize("text", CONFIGS)
def test_config_example_is_valid(text: str, tmp_path: Path) -> None:
    """Each example is a valid config (secrets from the environment and files, and the
    doc's own apprise.yml next to it)."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "apprise.yml").write_text(APPRISE_CONFIG)
    (tmp_path / "secrets" / "managers.urls").write_text("json://127.0.0.1:1/managers\n")
    (tmp_path / "secrets" / "email.url").write_text("mailtos://u:p@smtp.example.com\n")
    path = tmp_path / "aiwatch.yml"
    path.write_text(text)
    env = dict.fromkeys(re.findall(r"\$\{(\w+)\}", text), "json://127.0.0.1:1/x")
    config = load_config(str(path), env=env)
    assert config.notifications.routes or config.alertmanager.forward_to


def test_apprise_config_example_holds_only_valid_urls() -> None:
    """Every URL of the doc's apprise.yml parses, not just enough of them to pass the route
    check: readers copy these."""
    config = apprise.AppriseConfig()
    assert config.add_config(APPRISE_CONFIG, format="yaml")
    client = apprise.Apprise()
    client.add(config)
    assert [s.service_name for s in client] == ["Slack", "E-Mail"]


def test_template_example_parses() -> None:
    """The template example's title and body parse."""
    (block,) = [b for b in BLOCKS if b.startswith("templates:")]
    for line in ("title", "body"):
        assert line in block
    title = re.search(r"title: '(.*)'", block)
    assert title is not None
    assert check(title.group(1)) is None
