"""Config loading: a valid file parses; each kind of mistake is located at FILE:LINE:COL: PATH."""

import subprocess
import sys
from pathlib import Path

import pytest

from aiwatch.config import ConfigError, Secret, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]

VALID = """\
global:
  probe_interval: 1m30s
  external_labels: {region: eu-west}
targets:
  - name: captions-primary
    kind: openai_chat
    url: https://api.example.com/v1/
    model: gpt-4o-mini
    api_key: ${TEST_KEY}
    stream: true
    prompts: ["Reply with the single word: pong"]
    expect: {status: [200], max_time_to_first_token: 2s}
    price: {input_per_million: 0.15, output_per_million: 0.6}
  - name: health
    kind: http
    url: http://127.0.0.1:8080/health
notifications:
  routes:
    - matchers: ['severity="critical"']
      apprise_file: apprise.txt
      repeat_interval: 1h
"""


def write(tmp_path: Path, text: str, name: str = "aiwatch.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        parse_config(text, str(path), env=env or {})
    return [str(p) for p in info.value.problems]


def test_valid_config_parses_into_frozen_objects(tmp_path: Path) -> None:
    """A valid file yields typed values: durations in seconds, secrets wrapped, defaults."""
    write(tmp_path, "json://127.0.0.1:1/hook\n", "apprise.txt")
    path = write(tmp_path, VALID)
    config = parse_config(VALID, str(path), env={"TEST_KEY": "sk-123"})
    chat, health = config.targets
    assert config.global_.probe_interval == 90.0
    assert chat.interval == 90.0
    assert chat.timeout == 10.0
    assert chat.url == "https://api.example.com/v1"
    assert chat.api_key == Secret("sk-123")
    assert repr(chat.api_key) == "<secret>"
    assert chat.expect.max_time_to_first_token == 2.0
    assert health.method == "GET"
    assert config.notifications.routes[0].apprise[0].reveal() == "json://127.0.0.1:1/hook"
    assert config.notifications.routes[0].repeat_interval == 3600.0
    assert config.raw["targets"][0]["api_key"] == "<secret>"
    assert config.raw["notifications"]["routes"][0]["apprise"] == ["<secret>"]
    with pytest.raises(AttributeError):
        chat.name = "other"  # type: ignore[misc]


def test_bad_duration_is_located(tmp_path: Path) -> None:
    """A duration that is not Prometheus syntax names the key and the value."""
    text = "targets:\n  - name: a\n    kind: http\n    url: http://x\n    interval: 5x\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:5:15: targets[0].interval: '5x' is not a valid duration"
    ]


def test_unknown_key_is_located_at_the_key(tmp_path: Path) -> None:
    """Unknown keys are errors, reported at the key itself."""
    text = "global:\n  probe_intervall: 10s\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:2:3: global.probe_intervall: unknown key 'probe_intervall'; "
        "did you mean 'probe_interval'?"
    ]


def test_wrong_type_is_located(tmp_path: Path) -> None:
    """A value of the wrong type names the expected type."""
    text = "targets:\n  - name: a\n    kind: http\n    url: http://x\n    stream: yes please\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:5:13: targets[0].stream: 'yes please' is not of type 'boolean'"
    ]


def test_duplicate_target_name(tmp_path: Path) -> None:
    """Two targets with one name: the second is reported, pointing at the first."""
    text = (
        "targets:\n  - name: a\n    kind: http\n    url: http://x\n"
        "  - name: a\n    kind: http\n    url: http://y\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:5:11: targets[1].name: duplicate target name 'a' "
        "(first at targets[0])"
    ]


def test_missing_env_var_is_named(tmp_path: Path) -> None:
    """A ``${VAR}`` that is not set names the variable and where it is used."""
    text = (
        "targets:\n  - name: a\n    kind: openai_chat\n    url: http://x\n    model: m\n"
        "    api_key: ${OPENAI_API_KEY}\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:6:14: targets[0].api_key: "
        "environment variable OPENAI_API_KEY is not set"
    ]


def test_missing_secret_file_is_named(tmp_path: Path) -> None:
    """An ``*_file`` secret that cannot be read names the file."""
    text = (
        "targets:\n  - name: a\n    kind: openai_chat\n    url: http://x\n    model: m\n"
        "    api_key_file: nope.txt\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:6:19: targets[0].api_key_file: "
        "cannot read secret file 'nope.txt': No such file or directory"
    ]


def test_inline_and_file_secret_together(tmp_path: Path) -> None:
    """A secret given inline and as a file is ambiguous, so it is an error."""
    write(tmp_path, "sk-file", "key.txt")
    text = (
        "targets:\n  - name: a\n    kind: openai_chat\n    url: http://x\n    model: m\n"
        "    api_key: sk-inline\n    api_key_file: key.txt\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:7:5: targets[0].api_key_file: "
        "api_key and api_key_file are mutually exclusive"
    ]


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    """Broken YAML is one problem at the offending position, no traceback."""
    text = "targets:\n  - name: a\n    kind: [http\n"
    (problem,) = problems(tmp_path, text)
    assert problem.startswith(f"{tmp_path}/aiwatch.yml:4:1: (root): invalid YAML:")


def test_bad_enum_and_missing_required_key(tmp_path: Path) -> None:
    """An unknown kind and a missing url are both reported, in file order."""
    text = "targets:\n  - name: a\n    kind: grpc\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:2:5: targets[0]: 'url' is required",
        f"{tmp_path}/aiwatch.yml:3:11: targets[0].kind: 'grpc' is not one of "
        '"openai_chat", "anthropic_messages", "openai_responses", "gemini", "openai_images", '
        '"openai_embeddings", "http"',
    ]


def test_bad_matcher_in_route(tmp_path: Path) -> None:
    """A route matcher that does not parse is reported with the reason."""
    text = "notifications:\n  routes:\n    - matchers: ['severity=~\"(\"']\n      apprise: [x]\n"
    (problem,) = problems(tmp_path, text)
    assert problem.startswith(f"{tmp_path}/aiwatch.yml:3:18: notifications.routes[0].matchers[0]: ")
    assert "invalid regular expression" in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Several mistakes in one file are all listed, sorted by position."""
    text = (
        "global:\n  probe_timeout: soon\n  colour: blue\n"
        "targets:\n  - name: bad name\n    kind: http\n    url: ftp://x\n"
    )
    found = problems(tmp_path, text)
    assert [p.split(": ")[1] for p in found] == [
        "global.probe_timeout",
        "global.colour",
        "targets[0].name",
        "targets[0].url",
    ]


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    """A key given twice in one mapping is an error, not a silent override."""
    text = "global:\n  retention: 1h\n  retention: 2h\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/aiwatch.yml:3:3: global.retention: duplicate key 'retention'"
    ]


def test_example_config_is_valid() -> None:
    """The shipped example config passes validation."""
    config = load_config(str(REPO / "config" / "aiwatch.yml"))
    assert {t.kind for t in config.targets} == {"openai_chat", "openai_embeddings", "http"}


def test_check_config_cli_exit_codes(tmp_path: Path) -> None:
    """``aiwatch check config`` exits 0 with SUCCESS, 1 with problems, 2 on usage errors."""
    good = write(tmp_path, "targets: []\n", "good.yml")
    bad = write(tmp_path, "global:\n  retention: forever\n", "bad.yml")
    run = [sys.executable, "-m", "aiwatch", "check", "config"]
    ok = subprocess.run([*run, str(good)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0
    assert ok.stdout.startswith(f"SUCCESS: {good}")
    failed = subprocess.run(
        [*run, str(good), str(bad)], capture_output=True, text=True, check=False
    )
    assert failed.returncode == 1
    assert f"{bad}:2:14: global.retention: 'forever' is not a valid duration" in failed.stderr
    assert "Traceback" not in failed.stderr
    usage = subprocess.run(run, capture_output=True, text=True, check=False)
    assert usage.returncode == 2


def test_schema_command_prints_the_schema() -> None:
    """``aiwatch schema`` prints a JSON Schema that names every top-level key of the spec."""
    import json

    out = subprocess.run(
        [sys.executable, "-m", "aiwatch", "schema"], capture_output=True, text=True, check=True
    )
    doc = json.loads(out.stdout)
    assert set(doc["properties"]) == {
        "global",
        "targets",
        "rule_files",
        "datasource",
        "notifications",
        "alertmanager",
        "experiments",
        "web",
        "storage",
        "validation",
    }


def test_apprise_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    """An apprise_file holds one URL per line; ``#`` comments and blank lines are not URLs."""
    write(
        tmp_path,
        "# on-call webhook\njson://127.0.0.1:1/a\n\n  # pager\njson://127.0.0.1:1/b\n",
        "urls.txt",
    )
    text = "notifications:\n  routes:\n    - apprise_file: urls.txt\n"
    config = parse_config(text, str(write(tmp_path, text)), env={})
    urls = [u.reveal() for u in config.notifications.routes[0].apprise]
    assert urls == ["json://127.0.0.1:1/a", "json://127.0.0.1:1/b"]


def test_expect_regex_is_checked_with_gos_syntax(tmp_path: Path) -> None:
    """``expect.regex`` accepts Go syntax (``\\pL``) and refuses a look-ahead with Go's message."""
    target = "targets:\n  - name: t\n    kind: http\n    url: http://127.0.0.1:1/\n"
    good = target + '    expect:\n      regex: "^\\\\pL+$"\n'
    config = load_config(str(write(tmp_path, good)))
    assert config.targets[0].expect.regex == "^\\pL+$"
    (problem,) = problems(tmp_path, target + '    expect:\n      regex: "(?=x)"\n')
    assert "is not a valid regular expression: error parsing regexp: " in problem
