"""Rate-limit headroom from each API's headers: remaining, resets and retry-after."""

from datetime import UTC, datetime

import pytest

from aiwatch.probes.exposition import render
from aiwatch.probes.ratelimits import go_duration, read, retry_after
from aiwatch.probes.series import ProbeSeries
from tests.probes.test_series import parsed, promtool_check
from tests.probes_kinds.conftest import Mock

NOW = datetime(2026, 12, 6, 22, 0, 0, tzinfo=UTC).timestamp()


def test_anthropic_headers_give_every_resource_and_rfc3339_resets() -> None:
    """anthropic-ratelimit-*: four resources' headroom, resets as seconds until the RFC 3339
    time (never negative), retry-after in seconds."""
    headers = {
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-12-06T22:00:30Z",
        "anthropic-ratelimit-tokens-remaining": "39000",
        "anthropic-ratelimit-tokens-reset": "2026-12-06T22:00:01.500000+00:00",
        "anthropic-ratelimit-input-tokens-remaining": "30000",
        "anthropic-ratelimit-input-tokens-reset": "2026-12-06T21:59:00Z",
        "anthropic-ratelimit-output-tokens-remaining": "9000",
        "retry-after": "17",
    }
    limits = read(headers, now=NOW)
    assert limits.remaining == {
        "requests": 49,
        "tokens": 39000,
        "input_tokens": 30000,
        "output_tokens": 9000,
    }
    assert limits.reset == {"requests": 30.0, "tokens": 1.5, "input_tokens": 0.0}
    assert limits.retry_after == 17.0


def test_openai_headers_give_go_duration_resets() -> None:
    """x-ratelimit-*: requests and tokens headroom, resets as Go durations."""
    headers = {
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-remaining-tokens": "149000",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    limits = read(headers, now=NOW)
    assert limits.remaining == {"requests": 499, "tokens": 149000}
    assert limits.reset == pytest.approx({"requests": 0.12, "tokens": 360.0})
    assert limits.retry_after is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("1.5s", 1.5), ("6m0s", 360.0), ("1h2m3s", 3723.0), ("20ms", 0.02)],
)
def test_go_durations(text: str, seconds: float) -> None:
    """OpenAI's reset values parse as Go durations."""
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5", "1x", "-1s", "1s junk"])
def test_malformed_values_are_ignored(text: str) -> None:
    """Anything else is no value, not a failure."""
    assert go_duration(text) is None
    assert read({"anthropic-ratelimit-requests-reset": text}, now=NOW).reset == {}


def test_retry_after_as_an_http_date() -> None:
    """retry-after may be an HTTP date: seconds from now, never negative."""
    assert retry_after("Sun, 06 Dec 2026 22:01:00 GMT", now=NOW) == 60.0
    assert retry_after("Sun, 06 Dec 2026 21:00:00 GMT", now=NOW) == 0.0
    assert retry_after("whenever", now=NOW) is None


async def test_anthropic_limits_reach_the_result_and_the_series(mock: Mock) -> None:
    """An overloaded answer with retry-after and reset headers: the result carries them, and
    the target's series expose them promtool-clean; a later clean answer sets retry-after 0."""
    headers = {
        "anthropic-ratelimit-input-tokens-remaining": "30000",
        "anthropic-ratelimit-output-tokens-remaining": "9000",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2099-01-01T00:00:00Z",
        "retry-after": "30",
    }
    target = mock.target(
        kind="anthropic_messages", request={"mock": {"fault": "overloaded", "headers": headers}}
    )
    result = await mock.probe(target)
    assert result.error_type == "overloaded"
    assert result.ratelimit_remaining_requests == 0
    assert result.ratelimit_remaining_other == (("input_tokens", 30000), ("output_tokens", 9000))
    assert [name for name, _ in result.ratelimit_reset] == ["requests"]
    assert result.ratelimit_reset[0][1] > 365 * 86400
    assert result.retry_after == 30.0
    store = ProbeSeries()
    store.ensure(target)
    store.observe(result)
    text = render(store)
    promtool_check(text)
    assert parsed(text.decode()) == set(store.iter_samples())
    assert b'resource="output_tokens"} 9000' in text
    assert b'resource="requests"} 0' in text
    assert b"aiwatch_ratelimit_reset_seconds{" in text
    (line,) = [x for x in text.splitlines() if x.startswith(b"aiwatch_ratelimit_retry_after")]
    assert line.endswith(b"} 30.0")
    store.observe(await mock.probe(mock.target(kind="anthropic_messages")))
    assert store.targets[target.name].retry_after == 0.0
