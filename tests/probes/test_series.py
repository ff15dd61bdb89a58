"""What is exposed: series labels, escaping, bounded label values, and text = iter_samples."""

import dataclasses
import shutil
import subprocess
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aiwatch.config.model import Price, Target
from aiwatch.probes.exposition import render
from aiwatch.probes.result import Check, ProbeResult
from aiwatch.probes.series import ProbeSeries, series_labels

BASE = ProbeResult(
    target="t",
    success=True,
    error_type=None,
    error=None,
    status_code=200,
    duration=0.5,
    time_to_first_byte=0.1,
    time_to_first_token=0.2,
    time_per_output_token=0.02,
    input_tokens=12,
    output_tokens=7,
    cost_usd=0.001,
    ratelimit_remaining_requests=99.0,
    ratelimit_remaining_tokens=9000.0,
    response_model="gpt-4o-mini-2024-07-18",
    system_fingerprint="fp_1",
    embedding_dimensions=None,
    checks=(Check("status", True, "200"),),
    started_at=1_800_000_000.0,
    finished_at=1_800_000_000.5,
    request_summary="POST http://x/v1/chat/completions",
    response_excerpt="pong",
)


def result(**changes: Any) -> ProbeResult:
    """A probe result with ``changes`` over a successful streaming chat probe."""
    return dataclasses.replace(BASE, **changes)


def target(name: str = "t", **changes: Any) -> Target:
    """A streaming chat target."""
    fields: dict[str, Any] = {
        "name": name,
        "kind": "openai_chat",
        "url": "http://127.0.0.1:9/v1",
        "interval": 30.0,
        "timeout": 10.0,
        "model": "gpt-4o-mini",
        "stream": True,
        "price": Price(0.15, 0.6),
    }
    fields.update(changes)
    return Target(**fields)


def parsed(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    """The samples of an exposition, as prometheus-client's own parser reads them."""
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def promtool_check(text: bytes) -> None:
    """Fail unless ``promtool check metrics`` accepts ``text`` without a word."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout + done.stderr == b""


def test_user_labels_never_overwrite_aiwatch_labels() -> None:
    """A user label named like one of aiwatch's becomes exported_<name>; others pass through."""
    t = target(labels={"team": "vision", "model": "mine", "le": "x", "__hidden": "h"})
    labels = dict(series_labels(t))
    assert labels["model"] == "gpt-4o-mini"
    assert labels["exported_model"] == "mine"
    assert labels["exported_le"] == "x"
    assert labels["exported___hidden"] == "h"
    assert labels["team"] == "vision"
    assert list(labels)[:4] == ["target", "kind", "feature", "model"]


def test_label_values_are_escaped_and_round_trip() -> None:
    """Backslash, quote and newline in label values and in the model name survive a parse."""
    store = ProbeSeries()
    store.ensure(target(feature='say "hi"\\now', labels={"note": "line1\nline2"}))
    store.observe(result(response_model='m"odel\\x\ny'))
    text = render(store)
    assert b'feature="say \\"hi\\"\\\\now"' in text
    assert b'note="line1\\nline2"' in text
    promtool_check(text)
    samples = parsed(text.decode())
    assert ("aiwatch_probe_success", tuple(sorted(store.targets["t"].labels)), 1.0) in samples
    info = [labels for name, labels, _ in samples if name == "aiwatch_target_info"]
    assert dict(info[0])["response_model"] == 'm"odel\\x\ny'


def test_text_and_iter_samples_hold_the_same_samples() -> None:
    """The rules engine sees exactly what a scrape of the rendered text would store."""
    store = ProbeSeries()
    store.ensure(target("a", labels={"team": "vision"}))
    store.ensure(target("b", kind="http", model="", stream=False, price=None))
    store.ensure(target("c", kind="openai_embeddings", stream=False))
    for i in range(5):
        store.observe(result(target="a", duration=0.01 * i))
        store.observe(result(target="b", success=False, error_type="server_error", status_code=503))
    store.observe(result(target="c", time_to_first_token=None, time_per_output_token=None))
    store.targets["a"].skip()
    text = render(store).decode()
    promtool_check(text.encode())
    assert parsed(text) == set(store.iter_samples())
    assert len(list(store.iter_samples())) == text.count("\n") - text.count("# ")


def test_histograms_are_cumulative_with_inclusive_bounds() -> None:
    """A value equal to a bound counts in that bucket; +Inf and _count hold every observation."""
    store = ProbeSeries()
    store.ensure(target())
    for duration in (0.01, 0.011, 100.0):
        store.observe(result(duration=duration))
    samples = {(n, dict(labels).get("le")): v for n, labels, v in store.iter_samples()}
    assert samples[("aiwatch_probe_duration_seconds_bucket", "0.01")] == 1
    assert samples[("aiwatch_probe_duration_seconds_bucket", "0.02")] == 2
    assert samples[("aiwatch_probe_duration_seconds_bucket", "81.92")] == 2
    assert samples[("aiwatch_probe_duration_seconds_bucket", "+Inf")] == 3
    assert samples[("aiwatch_probe_duration_seconds_count", None)] == 3
    assert samples[("aiwatch_probe_duration_seconds_sum", None)] == pytest.approx(100.021)


def test_error_types_are_bounded_by_the_taxonomy() -> None:
    """An error type outside the set folds into "other" and is counted as label overflow."""
    store = ProbeSeries()
    store.ensure(target())
    store.observe(result(success=False, error_type="timeout"))
    store.observe(result(success=False, error_type="Connection reset by peer 10.0.0.7"))
    store.observe(result(success=False, error_type=None))
    text = render(store).decode()
    assert 'error_type="timeout"} 1\n' in text
    assert 'error_type="other"} 2\n' in text
    assert "10.0.0.7" not in text
    assert 'aiwatch_label_values_overflow_total{label="error_type",' in text
    assert store.overflow == 1
    promtool_check(text.encode())


def test_target_info_is_one_series_with_the_newest_truncated_value() -> None:
    """A model swap replaces the info series; values past 128 characters are cut."""
    store = ProbeSeries()
    store.ensure(target())
    store.observe(result(response_model="old-model"))
    store.observe(result(response_model="n" * 500, system_fingerprint="fp_2"))
    store.observe(
        result(success=False, error_type="timeout", response_model=None, system_fingerprint=None)
    )
    infos = [
        dict(labels) for name, labels, _ in store.iter_samples() if name == "aiwatch_target_info"
    ]
    assert len(infos) == 1
    assert infos[0]["response_model"] == "n" * 128
    assert infos[0]["system_fingerprint"] == "fp_2"


def test_removed_targets_disappear_and_counters_start_at_zero() -> None:
    """A new target shows zeroed counters before its first probe; a removed one shows nothing."""
    store = ProbeSeries()
    store.ensure(target("a"))
    store.ensure(target("b"))
    text = render(store).decode()
    labels = 'target="a",kind="openai_chat",feature="",model="gpt-4o-mini"'
    assert f'aiwatch_probes_total{{{labels},result="success"}} 0\n' in text
    assert "aiwatch_probe_success{" not in text  # unknown until the first probe
    store.remove("a")
    text = render(store).decode()
    assert 'target="a"' not in text
    assert 'target="b"' in text


def test_label_overflow_is_a_counter_from_zero_that_never_goes_down() -> None:
    """The overflow counter is exposed at 0 before any fold, and the folds of a target that
    is removed, or recreated with other labels, still count (a counter must not drop)."""
    store = ProbeSeries()
    first = store.ensure(target())
    line = 'aiwatch_label_values_overflow_total{label="error_type",'
    assert f'{line}metric="aiwatch_probe_errors_total"}} 0\n' in render(store).decode()
    store.observe(result(success=False, error_type="socket hang up"))
    second = store.ensure(dataclasses.replace(target(), labels={"team": "other-team"}))
    assert second is not first  # new labels: new series
    assert store.overflow == 1
    store.observe(result(success=False, error_type="ECONNRESET"))
    assert store.overflow == 2
    store.remove(target().name)
    assert store.overflow == 2
    assert f'{line}metric="aiwatch_probe_errors_total"}} 2\n' in render(store).decode()
    samples = {name: value for name, _, value in store.iter_samples()}
    assert samples["aiwatch_label_values_overflow_total"] == 2.0
