"""The expect checks on chat replies and timings, through real probes and as pure functions."""

import time

from aiwatch.config.model import Expect
from aiwatch.probes.checks import evaluate
from tests.probes_kinds.conftest import Mock

REPLY_SCHEMA = {
    "type": "object",
    "required": ["answer"],
    "properties": {"answer": {"const": "pong"}},
}


async def test_chat_reply_is_parsed_as_json_for_the_schema(mock: Mock) -> None:
    """json_schema on a chat target validates the reply text parsed as JSON."""
    behavior = {"reply": '{"answer": "pong"}'}
    target = mock.target(
        stream=True, expect={"json_schema": REPLY_SCHEMA}, request={"mock": behavior}
    )
    result = await mock.probe(target)
    assert result.success, result.error
    assert ("json_schema", True) in [(c.name, c.ok) for c in result.checks]


async def test_chat_reply_that_is_not_json_fails_the_schema(mock: Mock) -> None:
    """A plain-text reply fails json_schema with validation_failed and says it is not JSON."""
    target = mock.target(expect={"json_schema": REPLY_SCHEMA}, request={"mock": {"reply": "pong"}})
    result = await mock.probe(target)
    assert result.error_type == "validation_failed"
    (schema,) = [c for c in result.checks if c.name == "json_schema"]
    assert not schema.ok
    assert schema.detail.startswith("not JSON")


async def test_contains_and_regex_look_at_the_reply_not_the_envelope(mock: Mock) -> None:
    """contains/regex search the reply text: "chatcmpl" (only in the envelope) is not found."""
    target = mock.target(
        stream=True,
        expect={"contains": "chatcmpl", "regex": r"^\s*pong"},
        request={"mock": {"reply": "  pong!"}},
    )
    result = await mock.probe(target)
    verdicts = {c.name: c.ok for c in result.checks}
    assert verdicts == {"status": True, "contains": False, "regex": True}
    assert result.error_type == "validation_failed"


async def test_slow_ttft_fails_max_time_to_first_token(mock: Mock) -> None:
    """A 0.3 s TTFT against max_time_to_first_token 0.1 s fails that check only."""
    target = mock.target(
        stream=True,
        expect={"max_time_to_first_token": 0.1, "max_duration": 2.0},
        request={"mock": {"time_to_first_token": 0.3}},
    )
    result = await mock.probe(target)
    verdicts = {c.name: c.ok for c in result.checks}
    assert verdicts == {"status": True, "max_duration": True, "max_time_to_first_token": False}
    assert result.error_type == "validation_failed"
    assert result.time_to_first_token is not None
    assert result.time_to_first_token >= 0.3


async def test_slow_reply_fails_max_duration(mock: Mock) -> None:
    """A 0.3 s reply against max_duration 0.1 s is validation_failed, not a timeout."""
    target = mock.target(expect={"max_duration": 0.1}, request={"mock": {"latency": 0.3}})
    result = await mock.probe(target)
    assert result.error_type == "validation_failed"
    assert result.error is not None
    assert result.error.startswith("max_duration: duration 0.3")


def test_regex_searches_anywhere_and_reports_bad_patterns() -> None:
    """regex uses search (not match); an invalid pattern is a failed check, not a crash."""
    found = evaluate(
        Expect(regex="po+ng"),
        status=200,
        text="say: poong",
        duration=0.1,
        time_to_first_token=None,
        dimensions=None,
    )
    assert found[1].ok
    broken = evaluate(
        Expect(regex="(unclosed"),
        status=200,
        text="x",
        duration=0.1,
        time_to_first_token=None,
        dimensions=None,
    )
    assert not broken[1].ok
    assert broken[1].detail.startswith("invalid regex")


def test_status_defaults_to_any_2xx() -> None:
    """Without expect.status, 204 passes and 301 fails the status check."""

    def status_ok(code: int) -> bool:
        checks = evaluate(
            Expect(), status=code, text="", duration=0, time_to_first_token=None, dimensions=None
        )
        return checks[0].ok

    assert status_ok(204)
    assert not status_ok(301)


def test_regex_is_gos_and_linear_on_a_long_reply() -> None:
    """regex takes Go's syntax (``\\pL``) and a catastrophic pattern on a 1 MB reply
    answers in bounded time; Python-only syntax fails with Go's message."""

    def check(pattern: str, text: str) -> tuple[bool, str]:
        verdicts = evaluate(
            Expect(regex=pattern),
            status=200,
            text=text,
            duration=0.1,
            time_to_first_token=None,
            dimensions=None,
        )
        return verdicts[1].ok, verdicts[1].detail

    assert check("^\\pL+$", "héllo")[0]
    started = time.perf_counter()
    assert not check("^(a+)+$", "a" * 1_000_000 + "!")[0]
    assert time.perf_counter() - started < 1.0
    ok, detail = check("(?=x)", "x")
    assert not ok
    assert "error parsing regexp: invalid or unsupported Perl syntax" in detail
