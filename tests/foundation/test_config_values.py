"""Values that parse but make no sense are located problems, with every other problem."""

from pathlib import Path

import pytest

from aiwatch.config import ConfigError, load_config, parse_config
from tests.cli import aiwatch

HTTP = "targets:\n  - {name: t, kind: http, url: 'http://127.0.0.1:1/'}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "a.yml", env={})
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    "key", ["probe_interval", "probe_timeout", "evaluation_interval", "retention"]
)
@pytest.mark.parametrize("zero", ["0s", "0m0s", "0ms"])
def test_zero_global_duration_is_located_at_its_key(key: str, zero: str) -> None:
    """A zero interval, timeout or retention is reported where it is written.

    ``evaluation_interval: 0s`` used to pass and then crash the self-scrape loop with a
    ZeroDivisionError; ``probe_interval: 0s`` was blamed on every target instead.
    """
    assert problems(f"global:\n  {key}: {zero}\n" + HTTP) == [
        f"a.yml:2:{len(key) + 5}: global.{key}: must be greater than 0, not '{zero}'"
    ]


def test_zero_durations_that_disable_a_check_or_a_bound_are_problems() -> None:
    """Target, expect, route, datasource and Alertmanager durations that need to be > 0."""
    text = (
        "targets:\n"
        "  - name: t\n"
        "    kind: http\n"
        "    url: http://127.0.0.1:1/\n"
        "    interval: 0s\n"
        "    timeout: 0s\n"
        "    expect: {max_duration: 0s}\n"
        "notifications:\n"
        "  routes:\n"
        "    - {apprise: ['json://127.0.0.1:1/x'], repeat_interval: 0s}\n"
        "datasource: {url: 'http://127.0.0.1:9090', timeout: 0s}\n"
        "alertmanager: {forward_to: ['http://127.0.0.1:9093'], timeout: 0s}\n"
    )
    assert [p.split(": ")[1] for p in problems(text)] == [
        "targets[0].interval",
        "targets[0].timeout",
        "targets[0].expect.max_duration",
        "notifications.routes[0].repeat_interval",
        "datasource.timeout",
        "alertmanager.timeout",
    ]


def test_zero_resend_delay_and_escalation_are_allowed() -> None:
    """``resend_delay: 0s`` (send every evaluation) and ``escalate_after: 0s`` mean something."""
    config = parse_config(
        "notifications:\n  routes:\n"
        "    - {apprise: ['json://127.0.0.1:1/x'], escalate_after: 0s}\n"
        "    - {apprise: ['json://127.0.0.1:1/y']}\n"
        "alertmanager: {forward_to: ['http://127.0.0.1:9093'], resend_delay: 0s}\n",
        "a.yml",
        env={},
    )
    assert config.notifications.routes[0].escalate_after == 0.0
    assert config.alertmanager.resend_delay == 0.0


def test_invalid_duration_is_not_also_called_zero() -> None:
    """``0s0s`` (units out of order) is one problem: not a valid duration."""
    assert problems("global:\n  retention: 0s0s\n") == [
        "a.yml:2:14: global.retention: '0s0s' is not a valid duration"
    ]


def test_rule_file_that_does_not_exist_is_a_problem_but_an_empty_glob_is_not(
    tmp_path: Path,
) -> None:
    """As ``promtool check config``: ``rules/typo.yml`` is an error, ``none/*.yml`` is fine."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "ok.yml").write_text("groups: []\n")
    config = tmp_path / "aiwatch.yml"
    config.write_text("rule_files:\n  - none/*.yml\n  - rules/ok.yml\n  - rules/typo.yml\n")
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        f"{config}:4:5: rule_files[2]: 'rules/typo.yml' does not point to an existing file"
    ]
    config.write_text("rule_files:\n  - none/*.yml\n  - rules/ok.yml\n")
    assert load_config(str(config), env={}).rule_files == ("none/*.yml", "rules/ok.yml")


def test_keys_without_a_value_mean_the_defaults() -> None:
    """``global:`` with everything under it commented out is fine, as in Prometheus."""
    config = parse_config(
        "global:\n  # probe_interval: 10s\n"
        "targets:\n"
        "  - name: t\n    kind: http\n    url: http://127.0.0.1:1/\n    labels:\n    expect:\n"
        "rule_files:\nnotifications:\nalertmanager:\nexperiments:\ndatasource:\nweb:\nstorage:\n",
        "a.yml",
        env={},
    )
    assert config.global_.probe_interval == 30.0
    assert config.targets[0].labels == {}
    assert config.rule_files == ()
    assert config.datasource is None
    assert config.storage_path is None


def test_unset_variable_is_one_problem_not_two() -> None:
    """An unset ``${NAME}`` is not also reported as the empty string it left behind."""
    assert problems("global:\n  probe_interval: ${INTERVAL}\n") == [
        "a.yml:2:19: global.probe_interval: environment variable INTERVAL is not set"
    ]


def test_reference_in_a_number_or_boolean_says_it_gives_a_string() -> None:
    """``${N}`` is substituted in strings only: the type problem says why it is a string."""
    with pytest.raises(ConfigError) as info:
        parse_config(
            "targets:\n  - name: t\n    kind: http\n    url: http://127.0.0.1:1/\n"
            "    max_body_bytes: ${N}\n    reuse_connections: ${R}\n",
            "a.yml",
            env={"N": "100", "R": "false"},
        )
    hint = " (a ${NAME} reference always gives a string)"
    assert [str(p) for p in info.value.problems] == [
        "a.yml:5:21: targets[0].max_body_bytes: '100' is not of type 'integer'" + hint,
        "a.yml:6:24: targets[0].reuse_connections: 'false' is not of type 'boolean'" + hint,
    ]


@pytest.mark.parametrize(
    "text",
    [
        "targets:\n  - {name: t, kind: http, url: 'http://x/', api_key_file: ''}\n",
        "datasource: {url: 'http://x/', bearer_token_file: ''}\n",
        "notifications:\n  routes: [{apprise_file: ''}]\n",
    ],
)
def test_empty_secret_file_name_is_one_problem(tmp_path: Path, text: str) -> None:
    """``api_key_file: ''`` says it is empty, instead of reading the config's own folder."""
    config = tmp_path / "a.yml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(config), env={})
    assert [p.message for p in info.value.problems] == ["must not be empty"]


def test_unquoted_date_is_shown_as_written_with_a_hint() -> None:
    """``release: 2026-11-29`` is a YAML date: shown as written, not ``datetime.date(…)``."""
    assert problems(
        "targets:\n  - name: t\n    kind: http\n    url: http://127.0.0.1:1/\n"
        "    labels: {release: 2026-11-29}\n"
        "global:\n  probe_interval: 2026-11-29\n"
    ) == [
        "a.yml:5:23: targets[0].labels.release: 2026-11-29 is not of type 'string' "
        "(YAML reads it as a date: quote it)",
        "a.yml:7:19: global.probe_interval: 2026-11-29 is not a valid duration "
        "(a string with a unit, e.g. 30s)",
    ]


def test_secret_of_the_wrong_type_is_not_printed() -> None:
    """``password: 4242424242`` (a YAML number) or a single Apprise URL instead of a list:
    the problem names the key, never the secret (it used to print the value)."""
    text = (
        "targets:\n"
        "  - {name: t, kind: openai_chat, url: 'http://x/v1', model: m, api_key: 123456789,\n"
        "     headers: {X-Token: 987654321}}\n"
        "datasource: {url: 'http://x/', basic_auth: {username: u, password: 4242424242}}\n"
        "notifications:\n  routes: [{apprise: 'json://token5555@host/x'}]\n"
    )
    found = problems(text)
    assert [p.split(": ", 1)[1] for p in found] == [
        "targets[0].api_key: <secret> is not of type 'string'",
        "targets[0].headers.X-Token: <secret> is not of type 'string'",
        "datasource.basic_auth.password: <secret> is not of type 'string'",
        "notifications.routes[0].apprise: <secret> is not of type 'array'",
    ]
    for secret in ("123456789", "987654321", "4242424242", "token5555"):
        assert not any(secret in p for p in found)
