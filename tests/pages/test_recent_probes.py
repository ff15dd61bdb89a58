"""A target page's last probes: what is kept of each result, and that the collector leaves it."""

import gc

from aiwatch.pages.state import RECENT_PROBES, Pages
from aiwatch.probes.result import Check, ProbeResult


def _result(i: int, *, success: bool = True) -> ProbeResult:
    checks = (Check("status", success, f"status {200 if success else 500}"),)
    if success:
        checks += (Check("contains", True, "'ok' found"),)
    return ProbeResult(
        target="t",
        success=success,
        error_type=None if success else "server_error",
        error=None if success else "HTTP 500",
        status_code=200 if success else 500,
        duration=0.1 + i,
        time_to_first_byte=0.05,
        time_to_first_token=None if success else 0.2,
        time_per_output_token=None,
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        ratelimit_remaining_requests=None,
        ratelimit_remaining_tokens=None,
        response_model=None,
        system_fingerprint=None,
        embedding_dimensions=None,
        checks=checks,
        started_at=1000.0 + i,
        finished_at=1000.5 + i,
        request_summary="GET http://example.invalid/",
        response_excerpt="ok",
    )


def test_the_last_probes_are_listed_newest_first_with_their_checks() -> None:
    """Only the last ``RECENT_PROBES`` are kept, newest first, each with what the page shows
    (time, result, status, latency, TTFT, checks, error) as the result had it."""
    pages = Pages()
    results = [_result(i, success=i % 3 != 0) for i in range(RECENT_PROBES + 5)]
    for result in results:
        pages.on_probe(result)
    rows = pages.recent_probes("t")
    assert len(rows) == RECENT_PROBES
    for row, result in zip(rows, reversed(results), strict=False):
        assert row.finished_at == result.finished_at
        assert row.success is result.success
        assert row.status_code == result.status_code
        assert row.duration == result.duration
        assert row.time_to_first_token == result.time_to_first_token
        assert row.checks == result.checks
        assert row.error_type == result.error_type
        assert row.error == result.error
    assert pages.recent_probes("other") == []


def test_a_kept_probe_is_left_alone_by_the_cyclic_collector() -> None:
    """Once a young collection has seen it, a kept probe is no object the collector tracks,
    so thousands of targets' last probes cost full collections nothing."""
    pages = Pages()
    pages.on_probe(_result(1))
    pages.on_probe(_result(2, success=False))
    gc.collect(0)
    kept = list(pages.recent["t"])
    assert kept
    assert not any(gc.is_tracked(row) for row in kept)
