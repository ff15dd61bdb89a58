"""``/api/v1/format_query`` compared with a real Prometheus 2.42's answers to the same requests.

The expressions are every query of the bundled dashboards (template variables substituted),
every bundled alert and recording rule, and a few that exercise the printer's corners.
"""

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bundle.grafana import BUILTINS, load_dashboards, panel_queries, substitute
from tests.daemons import DaemonProcess, LoggedProcess, free_port, wait_ready

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path(PROMETHEUS).exists(), reason="needs the Prometheus binary")

CORNERS = [
    "up",
    'x{a=~"a\\\\.b", b!~`raw\\d+`}',
    'x{a="é\\n\\t\\"q"}',
    "x{a='single'}",
    '"str\\x41"',
    "-x",
    "+1",
    "x @ start()",
    "rate(x[5m:30s] @ 100)",
    "x offset -5m",
    "(1 + 2) * 3",
    "1 + 2 * 3",
    'count_values("v", x)',
    "topk(3, x) * on (a) group_left (b) y or z",
    "0x10 + 1e3 + Inf - NaN + 1e6 + 123456 + 1234567 - -Inf",
    "x > 1e-07 and x < 0.0001 or x == 1e300 unless x != -1.5e-300",
    "topk(1e0, x2 @ 1e9)",
    "x > 1e-07 or x == 1e300 and x < 0x7FF or y",
    (
        "some_metric_with_a_long_name > 0.000000000001 and some_other_metric_name < 1e21 "
        "unless a_third > 12345678"
    ),
    'label_replace(up, "foo", "$1", "job", "(.*)")',
    "sum without (instance, job) (rate(x[5m] offset 1m)) > bool 0.5",
    "x[5m]",
    "max_over_time(deriv(rate(distance_covered_meters_total[1m])[5m:1m])[10m:])",
    (
        "sum by (job, mode) (rate(node_cpu_seconds_total[1m])) / on (job) group_left "
        "sum by (job) (rate(node_cpu_seconds_total[1m])) > 0.0000001 unless "
        'absent(some_very_long_metric_name_that_forces_a_break{instance="example:9100"})'
    ),
]

SYNTAX_ERRORS = ["sum(", "", "foo{", "1 +", "foo bar", "rate(x[5m]", "{}"]
"""Errors Prometheus and aiwatch word alike (the parser's position and message)."""

OTHER_ERRORS = ["x[5m", "rate(x)", 'x{a=~"("}', "sum by (a) (x[5m])", 'label_join(x, "a")']
"""Errors aiwatch words its own way: the status and error type still agree."""


def _dashboard_expressions() -> list[str]:
    values = {**BUILTINS, "datasource": "prometheus"}
    out = []
    for name, dashboard in load_dashboards().items():
        for variable in dashboard["templating"]["list"]:
            values.setdefault(variable["name"], "a|b")
        out += [substitute(q.expr, values) for q in panel_queries(name, dashboard)]
    return out


def _rule_expressions() -> list[str]:
    out = []
    for name in ("alerts.yml", "recording.yml"):
        document = yaml.safe_load((REPO / "prometheus" / name).read_text())
        out += [rule["expr"] for group in document["groups"] for rule in group["rules"]]
    return out


EXPRESSIONS = _dashboard_expressions() + _rule_expressions() + CORNERS


def http(url: str, data: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET ``url`` (POST ``data`` form-encoded when given): status and JSON body."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def aiwatch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running aiwatch with no targets: formatting needs no samples."""
    tmp: Path = tmp_path_factory.mktemp("format")
    (tmp / "aiwatch.yml").write_text("global: {evaluation_interval: 1s}\ntargets: []\n")
    daemon = DaemonProcess(tmp / "aiwatch.yml", tmp / "data")
    try:
        daemon.wait_ready()
        yield daemon.url
    finally:
        daemon.kill()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus 2.42 with nothing to scrape: the oracle."""
    tmp: Path = tmp_path_factory.mktemp("prometheus")
    (tmp / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    proc = LoggedProcess(
        [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        tmp / "prometheus.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, exited=proc.proc.poll, log=proc.log, timeout=60)
        yield url
    finally:
        proc.kill()


def test_the_list_covers_the_bundle() -> None:
    """Every dashboard query and every bundled rule is among the compared expressions, and
    some of them are long enough to be broken over lines."""
    assert len(_dashboard_expressions()) >= 40
    assert len(_rule_expressions()) >= 13
    assert all("$" not in expr for expr in _dashboard_expressions())


def test_every_expression_is_formatted_as_prometheus_formats_it(
    aiwatch: str, prometheus: str
) -> None:
    """For each expression, POSTed form-encoded, aiwatch answers exactly Prometheus' JSON:
    the same text, line breaks and indentation included."""
    differ = []
    multiline = 0
    for expr in EXPRESSIONS:
        ours = http(f"{aiwatch}/api/v1/format_query", {"query": expr})
        theirs = http(f"{prometheus}/api/v1/format_query", {"query": expr})
        assert theirs[0] == 200, (expr, theirs)
        multiline += "\n" in theirs[1]["data"]
        if ours != theirs:
            differ.append(f"{expr!r}\n  ours:   {ours}\n  theirs: {theirs}")
    assert differ == [], "\n".join(differ)
    assert multiline >= 5


def test_get_answers_as_the_post(aiwatch: str, prometheus: str) -> None:
    """The query string works as the form body does."""
    expr = 'sum by(target)(rate(aiwatch_probe_errors_total{error_type!="timeout"}[5m]))'
    path = "/api/v1/format_query?" + urllib.parse.urlencode({"query": expr})
    ours, theirs = http(aiwatch + path), http(prometheus + path)
    assert ours == theirs
    assert ours[1]["data"] == (
        'sum by (target) (rate(aiwatch_probe_errors_total{error_type!="timeout"}[5m]))'
    )


@pytest.mark.parametrize("expr", SYNTAX_ERRORS)
def test_syntax_errors_answer_as_prometheus(aiwatch: str, prometheus: str, expr: str) -> None:
    """A syntax error is a 400 ``bad_data`` with Prometheus' message, word for word."""
    ours = http(f"{aiwatch}/api/v1/format_query", {"query": expr})
    theirs = http(f"{prometheus}/api/v1/format_query", {"query": expr})
    assert ours == theirs
    assert ours[0] == 400


@pytest.mark.parametrize("expr", OTHER_ERRORS)
def test_other_errors_have_prometheus_status_and_type(
    aiwatch: str, prometheus: str, expr: str
) -> None:
    """Type and regex errors are refused as Prometheus refuses them: 400 ``bad_data``, the
    message naming the ``query`` parameter."""
    status, body = http(f"{aiwatch}/api/v1/format_query", {"query": expr})
    theirs = http(f"{prometheus}/api/v1/format_query", {"query": expr})
    assert (status, body["status"], body["errorType"]) == (
        theirs[0],
        theirs[1]["status"],
        theirs[1]["errorType"],
    )
    assert body["error"].startswith('invalid parameter "query": ')
