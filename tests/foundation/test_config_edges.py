"""Config files a careful user gets wrong: each is a located problem, never a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from aiwatch.config import ConfigError, load_config, parse_config

CHAT = """\
targets:
  - name: t
    kind: openai_chat
    url: http://127.0.0.1:1/v1
    model: m
"""


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env=env or {})
    return [str(p) for p in info.value.problems]


def test_config_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    """A config file in another encoding is one located problem, not a UnicodeDecodeError."""
    path = tmp_path / "latin1.yml"
    path.write_bytes("targets: []\n# caf\xe9\n".encode("latin-1"))
    assert problems_of(path) == [f"{path}:1:1: (file): cannot read: not UTF-8 text"]


def test_secret_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    """A binary secret file is reported at its ``*_file`` key, naming the file."""
    (tmp_path / "key").write_bytes(b"\xff\xfe\x00k")
    path = tmp_path / "a.yml"
    path.write_text(CHAT + "    api_key_file: key\n")
    assert problems_of(path) == [
        f"{path}:6:19: targets[0].api_key_file: cannot read secret file 'key': not UTF-8 text"
    ]


def test_empty_secret_file_is_a_problem(tmp_path: Path) -> None:
    """An empty (or newline-only) key file is almost always an unmounted secret: an error."""
    (tmp_path / "key").write_text("\n")
    path = tmp_path / "a.yml"
    path.write_text(CHAT + "    api_key_file: key\n")
    assert problems_of(path) == [
        f"{path}:6:19: targets[0].api_key_file: secret file 'key' is empty"
    ]


def test_secret_file_loses_its_trailing_newlines_only(tmp_path: Path) -> None:
    """Trailing line breaks go (editors add them); inner and leading text stays."""
    (tmp_path / "key").write_text("sk-a b\n\n")
    path = tmp_path / "a.yml"
    path.write_text(CHAT + "    api_key_file: key\n")
    config = load_config(str(path), env={})
    assert config.targets[0].api_key is not None
    assert config.targets[0].api_key.reveal() == "sk-a b"


@pytest.mark.parametrize("text", ["${}", "x${A", "${1A}", "${A-B}"])
def test_malformed_env_reference_is_a_problem(tmp_path: Path, text: str) -> None:
    """``${`` not followed by ``NAME}`` is reported instead of being sent as is."""
    path = tmp_path / "a.yml"
    path.write_text(CHAT + f'    feature: "{text}"\n')
    assert problems_of(path, env={"A": "a"}) == [
        f"{path}:6:14: targets[0].feature: invalid environment reference: "
        "write ${NAME}, or $$ for a literal $"
    ]


def test_env_references_next_to_each_other_and_escaped_dollars(tmp_path: Path) -> None:
    """``${A}${B}`` joins both values; ``$$`` is one literal ``$``; a lone ``$`` stays."""
    path = tmp_path / "a.yml"
    path.write_text(CHAT + '    feature: "${A}${B}-$${A}-$-$5"\n')
    config = load_config(str(path), env={"A": "x", "B": "y"})
    assert config.targets[0].feature == "xy-${A}-$-$5"


def test_explicit_timeout_may_exceed_the_interval() -> None:
    """Unlike Prometheus, a slow endpoint may run past its interval: the overlap is skipped."""
    text = CHAT + "    interval: 5s\n    timeout: 10s\n"
    config = parse_config(text, "a.yml", env={})
    assert (config.targets[0].interval, config.targets[0].timeout) == (5.0, 10.0)


def test_global_timeout_longer_than_a_target_interval_is_capped() -> None:
    """Only an explicit target timeout is checked; the global default is capped instead."""
    text = "global: {probe_timeout: 20s}\n" + CHAT + "    interval: 5s\n"
    config = parse_config(text, "a.yml", env={})
    assert config.targets[0].timeout == 5.0


@pytest.mark.parametrize("value", ["300y", "99999999999999999999s", "3000000000000h"])
def test_duration_out_of_range_is_a_problem(value: str) -> None:
    """Durations beyond Prometheus' range (about 292 years) are rejected like bad syntax."""
    text = CHAT + f"    interval: {value}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        f"a.yml:6:15: targets[0].interval: {value!r} is not a valid duration"
    ]


def test_unquoted_number_for_a_duration_says_duration() -> None:
    """``timeout: 0`` or ``interval: 30`` (YAML numbers) get a message about durations."""
    text = CHAT + "    interval: 30\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:6:15: targets[0].interval: 30 is not a valid duration "
        "(a string with a unit, e.g. 30s)"
    ]


def test_null_and_non_string_values_are_shown_in_yaml_terms() -> None:
    """A null list item says null (not Python's None); booleans say true/false."""
    with pytest.raises(ConfigError) as info:
        parse_config("targets: [null]\nglobal: true\n", "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:1:11: targets[0]: null is not of type 'object'",
        "a.yml:2:9: global: true is not of type 'object' (write a mapping: {key: value}, or "
        "keys indented on the lines below)",
    ]


def test_check_config_on_several_files_reports_each(tmp_path: Path) -> None:
    """Every file gets its verdict; one bad file makes the exit code 1, no traceback."""
    good = tmp_path / "good.yml"
    good.write_text(CHAT)
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\x00\x00")
    folder = tmp_path / "folder.yml"
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "aiwatch", "check", "config", str(good), str(binary), str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"SUCCESS: {good}" in result.stdout
    assert f"{binary}:1:1: (file): cannot read: not UTF-8 text" in result.stderr
    assert f"{folder}:1:1: (file): cannot read: Is a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_duplicate_target_name_is_reported_with_schema_problems() -> None:
    """Every problem at once: a duplicate name is not hidden behind a bad duration elsewhere."""
    text = CHAT + "    interval: 5x\n" + CHAT.removeprefix("targets:\n")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:6:15: targets[0].interval: '5x' is not a valid duration",
        "a.yml:7:11: targets[1].name: duplicate target name 't' (first at targets[0])",
    ]


def test_keys_of_another_kind_are_problems() -> None:
    """``stream`` on an http target or ``body`` on a chat target would be silently ignored."""
    text = """\
targets:
  - name: a
    kind: http
    url: http://127.0.0.1:1/
    stream: true
    prompts: ["hi"]
    request: {a: 1}
  - name: b
    kind: openai_chat
    url: http://127.0.0.1:1/v1
    model: m
    body: {x: 1}
    method: PUT
    input: ["x"]
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:5:13: targets[0].stream: only for kinds openai_chat, anthropic_messages, "
        "openai_responses, gemini",
        "a.yml:6:14: targets[0].prompts: only for kinds openai_chat, anthropic_messages, "
        "openai_responses, gemini, openai_images",
        "a.yml:7:14: targets[0].request: only for kinds openai_chat, anthropic_messages, "
        "openai_responses, gemini, openai_images, openai_embeddings",
        "a.yml:12:11: targets[1].body: only for kind http",
        "a.yml:13:13: targets[1].method: only for kind http",
        "a.yml:14:12: targets[1].input: only for kind openai_embeddings",
    ]


def test_infinite_and_nan_numbers_are_problems() -> None:
    """``.inf`` or ``.nan`` (a price, a weight) would poison counters and statistics."""
    text = CHAT + "    price: {input_per_million: .inf, output_per_million: .nan}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:6:32: targets[0].price.input_per_million: inf is not a finite number",
        "a.yml:6:58: targets[0].price.output_per_million: nan is not a finite number",
    ]
