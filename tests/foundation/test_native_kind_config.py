"""Config of the native API kinds: their keys are accepted, a doubled API path is warned."""

from pathlib import Path

import pytest

from aiwatch.config import check_config


@pytest.mark.parametrize(
    ("kind", "url", "appended", "base"),
    [
        ("anthropic_messages", "https://api.anthropic.com/v1/messages", "/messages", "…/v1"),
        ("openai_responses", "https://api.openai.com/v1/responses", "/responses", "…/v1"),
        (
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta/models",
            "/models/{model}:generateContent",
            "…/v1beta",
        ),
    ],
)
def test_a_url_with_the_api_path_is_warned(
    tmp_path: Path, kind: str, url: str, appended: str, base: str
) -> None:
    """A url that already ends in the path the probe appends gets a warning naming both."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(
        "targets:\n"
        f"  - {{name: t, kind: {kind}, url: {url}, model: m, stream: true,\n"
        "     prompts: [hi], request: {max_tokens: 8}, expect: {max_time_to_first_token: 2s}}\n"
    )
    config, warnings = check_config(str(path))
    assert config.targets[0].kind == kind
    assert config.targets[0].stream
    (warning,) = [str(w) for w in warnings if "targets[0].url" in str(w)]
    assert f"the probe appends {appended} itself: give the API's base ({base})" in warning
