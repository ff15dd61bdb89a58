"""``aiwatch check config`` as a new user meets it: every mistake at once, each with its fix."""

from pathlib import Path

from tests.cli import aiwatch

RULES = """\
groups:
  - name: endpoints
    rules:
      - alert: EndpointDown
        expr: max without (instance) (aiwatch_probe_success == 0
        for: 1m
"""

CONFIG = """\
targets:
  - name: chat
    kind: openai_chat
    url: http://127.0.0.1:9532/v1
    interval: 5x
    tmeout: 10s
    expect: {status: 200}
  - name: health
    kind: http
    url: http://127.0.0.1:9532/health
    stream: true
    status: [200]
  - name: search
    kind: openai_embedings
    url: http://127.0.0.1:9532/v1
    model: e
rule_files: [rules.yml]
notifications:
  routes:
    - name: oncall
      apprise: ["${ONCALL_WEBHOOK}"]
      escalate_after: 10m
"""


def test_every_mistake_of_every_phase_is_reported_with_its_hint(tmp_path: Path) -> None:
    """A bad duration, a typo, a scalar for a list, a misplaced key, a misspelt kind, an
    unset variable (schema and environment), a missing model, a key of another kind, an
    escalation from the last route (cross-key) and a broken PromQL expression (rule file):
    one run reports all of them, each at its place, and hints how to fix the ones that a
    hint can fix. Each of the first two used to hide the others."""
    (tmp_path / "rules.yml").write_text(RULES)
    config = tmp_path / "aiwatch.yml"
    config.write_text(CONFIG)
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"FAILED: {config}"
    expected = [
        ("5:15: targets[0].interval:", "'5x' is not a valid duration"),
        ("6:5: targets[0].tmeout:", "unknown key 'tmeout'; did you mean 'timeout'?"),
        ("7:22: targets[0].expect.status:", "200 is not of type 'array' (write a list: [200])"),
        (
            "12:5: targets[1].status:",
            "unknown key 'status' here; it belongs under expect (targets[].expect.status)",
        ),
        ("14:11: targets[2].kind:", "did you mean 'openai_embeddings'?"),
        ("21:17: notifications.routes[0].apprise[0]:", "ONCALL_WEBHOOK is not set"),
        ("2:5: targets[0]:", "model is required for kind openai_chat"),
        (
            "11:13: targets[1].stream:",
            "only for kinds openai_chat, anthropic_messages, openai_responses, gemini",
        ),
        ("22:23: notifications.routes[0].escalate_after:", "this is the last route"),
    ]
    for where, what in expected:
        found = [line for line in lines if f"{config}:{where}" in line]
        assert len(found) == 1, (where, lines)
        assert what in found[0], (what, found[0])
    promql = [line for line in lines if line.startswith(f"{tmp_path / 'rules.yml'}:5:15:")]
    assert len(promql) == 1, lines
    assert promql[0].endswith("1:51: parse error: unclosed left parenthesis")
    assert len(lines) == 1 + len(expected) + 1, lines


def test_warnings_do_not_fail_the_check(tmp_path: Path) -> None:
    """An empty config, a url ending in the API path, a timeout above the interval and
    alerting rules with nowhere to send: ``WARNING:`` lines, exit 0."""
    empty = tmp_path / "empty.yml"
    empty.write_text("# nothing yet\n")
    result = aiwatch("check", "config", str(empty))
    assert result.returncode == 0, result.stderr
    assert f"WARNING: {empty}:1:1: (file): the config is empty" in result.stdout
    (tmp_path / "rules.yml").write_text(RULES.replace("== 0\n", "== 0)\n"))
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "targets:\n"
        "  - name: chat\n"
        "    kind: openai_chat\n"
        "    url: http://127.0.0.1:9532/v1/chat/completions\n"
        "    model: m\n"
        "    interval: 10s\n"
        "    timeout: 30s\n"
        "rule_files: [rules.yml]\n"
    )
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 3, result.stdout
    assert (
        f"{config}:4:10: targets[0].url: ends in the API path '/chat/completions'" in (warnings[0])
    )
    assert (
        f"{config}:7:14: targets[0].timeout: longer than the interval (30s > 10s)" in (warnings[1])
    )
    assert "1 alerting rule but no notifications.routes and no alertmanager" in warnings[2]
