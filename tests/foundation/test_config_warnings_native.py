"""``check config`` warnings for mistakes a new user of the native kinds makes: a Gemini URL
or model copied with the method or ``models/`` in it."""

from pathlib import Path

from aiwatch.config.load import check_config

CONFIG = """\
targets:
  - name: g-url
    kind: gemini
    url: http://127.0.0.1:9532/v1beta/models/gemini-2.5-flash:streamGenerateContent
    model: gemini-2.5-flash
  - name: g-model
    kind: gemini
    url: http://127.0.0.1:9532/v1beta
    model: models/gemini-2.5-flash
  - name: fine
    kind: gemini
    url: http://127.0.0.1:9532/v1beta
    model: gemini-2.5-flash
    request: {generationConfig: {maxOutputTokens: 16}}
    price: {input_per_million: 0.3, output_per_million: 2.5}
    budget: {cost_per_day: 1}
"""


def test_native_kind_mistakes_are_warned_about_with_their_fix(tmp_path: Path) -> None:
    """Each mistaken target gets one warning at its key, naming the fix; the correct target
    (its budget bounded by generationConfig.maxOutputTokens) gets none."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(CONFIG)
    _, warnings = check_config(str(path), env={})
    by_path = {w.path: w for w in warnings}
    assert set(by_path) == {"targets[0].url", "targets[1].model"}
    url = by_path["targets[0].url"]
    assert "'/models/gemini-2.5-flash:streamGenerateContent'" in url.message
    assert "give the API's base (…/v1beta)" in url.message
    assert (url.line, url.col) == (4, 10)
    assert "write 'gemini-2.5-flash', without 'models/'" in by_path["targets[1].model"].message


def test_a_status_page_set_but_not_enabled_is_warned_about(tmp_path: Path) -> None:
    """``web.status_page`` with ``public: true`` but no ``enabled: true`` serves nothing: one
    warning at the block says so; ``enabled: true`` (or no block at all) gets none."""
    path = tmp_path / "aiwatch.yml"
    path.write_text("web:\n  status_page: {public: true, title: Acme}\n")
    _, warnings = check_config(str(path), env={})
    assert [(w.path, w.line) for w in warnings] == [("web.status_page", 2)]
    assert "not enabled: /status and the badges are not served" in warnings[0].message
    path.write_text("web:\n  status_page: {enabled: true, public: true}\n")
    assert check_config(str(path), env={})[1] == []
    path.write_text("web: {}\n")
    assert check_config(str(path), env={})[1] == []
