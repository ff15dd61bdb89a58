"""Which external URL wins: the flag, then ``web.external_url``, then ``global.external_url``."""

from pathlib import Path

from aiwatch.config import load_config
from aiwatch.runtime import ConfigState, Options
from tests.cli import aiwatch


def _config(tmp_path: Path, web: str, glob: str) -> str:
    path = tmp_path / "aiwatch.yml"
    lines = ["targets: []"]
    if glob:
        lines.append(f"global: {{external_url: '{glob}'}}")
    if web:
        lines.append(f"web: {{external_url: '{web}'}}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


async def test_flag_then_web_then_global(tmp_path: Path) -> None:
    """The flag replaces the file's value, also after a reload; without it web's, then global's."""
    path = _config(tmp_path, "http://web.test/w/", "http://global.test/")
    state = ConfigState(load_config(path), Options(config_file=path, external_url="http://f/x"))
    assert state.current.external_url == "http://f/x"
    assert await state.reload() is None
    assert state.current.external_url == "http://f/x"
    assert ConfigState(load_config(path), Options()).current.external_url == "http://web.test/w/"
    only_global = _config(tmp_path, "", "http://global.test/")
    assert load_config(only_global).external_url == "http://global.test/"


def test_flag_that_is_not_an_http_url_is_a_usage_error() -> None:
    """``--web.external-url ftp://x`` stops ``aiwatch run`` at once with exit code 2."""
    done = aiwatch("run", "--web.external-url", "ftp://x")
    assert done.returncode == 2
    assert "is not an http(s) URL" in done.stderr
