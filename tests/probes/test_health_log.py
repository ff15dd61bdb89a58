"""A target's health is logged once per change: up, degraded, down, never once per probe."""

import dataclasses
import logging

import pytest

from aiwatch.config.model import Target
from aiwatch.probes.health import HealthLog
from aiwatch.probes.result import ErrorType, ProbeResult
from aiwatch.probes.scheduler import failed_result

TARGET = Target(name="chat", kind="http", url="http://127.0.0.1:9/", interval=1.0, timeout=1.0)


def _result(error_type: ErrorType | None) -> ProbeResult:
    failed = failed_result(TARGET, error_type=error_type, error="boom", started=0.0, duration=0.1)
    if error_type is None:
        return dataclasses.replace(failed, success=True, error=None)
    return failed


def test_one_line_per_change(caplog: pytest.LogCaptureFixture) -> None:
    """Healthy at start: nothing. Then down (three failed probes: one line), degraded (a
    failed check), up again: one line each, naming the previous health."""
    health = HealthLog()
    sequence: list[ErrorType | None] = [
        None,
        None,
        "connection",
        "connection",
        "connection",
        "validation_failed",
        "rate_limited",
        None,
        None,
    ]
    with caplog.at_level(logging.INFO, logger="aiwatch.probes"):
        for error_type in sequence:
            health(_result(error_type))
    lines = [(r.getMessage(), getattr(r, "was", None)) for r in caplog.records]
    assert lines == [
        ("Target down", "up"),
        ("Target degraded", "down"),
        ("Target up", "degraded"),
    ]


def test_a_target_failing_from_the_start_is_logged_down_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first result is logged when it is not up; a forgotten target starts afresh."""
    health = HealthLog()
    with caplog.at_level(logging.INFO, logger="aiwatch.probes"):
        health(_result("timeout"))
        health(_result("timeout"))
        health.forget(set())
        health(_result("timeout"))
    assert [r.getMessage() for r in caplog.records] == ["Target down", "Target down"]
    assert getattr(caplog.records[0], "error_type", None) == "timeout"
