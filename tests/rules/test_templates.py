"""Alert templates: Go formatting of values, Prometheus' functions, and failures rendered."""

import math

import pytest

from aiwatch.golang import fmt as gofmt
from aiwatch.rules.templates import check, expand


def _expand(text: str, value: float = 1.5, **labels: str) -> str:
    return expand(
        text,
        alert_name="A",
        labels=labels or {"instance": "a:9100", "job": "node"},
        value=value,
        external_labels={"region": "eu"},
        external_url="http://aiwatch.example",
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (1 / 3, "0.3333333333333333"),
        (-0.0, "-0"),
        (math.inf, "+Inf"),
        (math.nan, "NaN"),
        (1.23456789e9, "1.23456789e+09"),
    ],
)
def test_value_prints_like_go_percent_v(value: float, text: str) -> None:
    """``{{ $value }}`` is Go's shortest %v: exponent form from 1e+06 and below 1e-04."""
    assert gofmt.shortest(value) == text
    assert _expand("{{ $value }}", value) == text


def test_printf_verbs_and_go_error_forms() -> None:
    """printf knows %s %d %f %.2f %v %q and writes Go's %!verb forms for mismatches."""
    assert _expand('{{ printf "%.2f %d %s %q %v %5.1f" $value 3 "s" "q" $value $value }}') == (
        '1.50 3 s "q" 1.5   1.5'
    )
    assert gofmt.sprintf("%d", 1.5) == "%!d(float64=1.5)"
    assert gofmt.sprintf("%s %s", "a") == "a %!s(MISSING)"


def test_humanize_family() -> None:
    """humanize* functions give Prometheus' four significant digits and prefixes."""
    assert _expand("{{ humanize $value }}", 1234567) == "1.235M"
    assert _expand("{{ humanize $value }}", 0.000123) == "123u"
    assert _expand("{{ humanize1024 $value }}", 2048) == "2ki"
    assert _expand("{{ humanizeDuration $value }}", 90061) == "1d 1h 1m 1s"
    assert _expand("{{ humanizeDuration $value }}", 0.25) == "250ms"
    assert _expand("{{ humanizePercentage $value }}", 0.12345) == "12.35%"
    assert _expand("{{ humanizeTimestamp $value }}", 1435065584.128) == (
        "2015-06-23 13:19:44.128 +0000 UTC"
    )


def test_labels_external_labels_and_control_flow() -> None:
    """$labels, .Labels, $externalLabels, if/else, range and pipelines all work."""
    assert _expand("{{ $labels.instance }}/{{ .Labels.job | toUpper }}") == "a:9100/NODE"
    assert _expand("{{ $externalLabels.region }} {{ $externalURL }}") == (
        "eu http://aiwatch.example"
    )
    assert _expand("{{ if gt $value 1.0 }}big{{ else }}small{{ end }}") == "big"
    assert _expand("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}") == (
        "instance=a:9100;job=node;"
    )
    assert _expand("[{{ $labels.missing }}]") == "[]"
    assert _expand('{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}') == "a"


def test_failing_template_renders_the_error() -> None:
    """An execution error becomes ``<error expanding template: …>`` with Go's wording."""
    text = _expand('{{ humanize "x" }}')
    assert text.startswith("<error expanding template: error executing template __alert_A: ")
    assert 'at <humanize "x">: error calling humanize: strconv.ParseFloat' in text
    assert "incompatible types for comparison" in _expand("{{ if gt $value 1 }}x{{ end }}")


def test_check_reports_parse_errors() -> None:
    """Parse errors name what Go names: unknown functions, undefined variables, no end."""
    assert check("{{ humanise 1 }}", alert_name="A") == (
        'template: __alert_A:1: function "humanise" not defined'
    )
    assert 'undefined variable "$x"' in (check("{{ $x }}", alert_name="A") or "")
    assert "unexpected EOF" in (check("{{ if true }}", alert_name="A") or "")
    assert check("{{ $value | humanize }}", alert_name="A") is None
