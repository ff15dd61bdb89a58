"""Prometheus' HTTP API over aiwatch's own samples, driven by promtool and compared with Prometheus.

One ``aiwatch run`` probes a mock AI endpoint every 200 ms; promtool asks it instant, range,
series and label queries. Parameter errors are compared with a real Prometheus 2.42's answers
to the same requests.
"""

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiwatch import __version__
from tests.cli import aiwatch_argv
from tests.daemons import DaemonProcess, LoggedProcess, free_port, wait_ready

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"

CONFIG = """\
global:
  probe_interval: 200ms
  evaluation_interval: 1s
rule_files: [rules.yml]
targets:
  - {{name: chat, kind: openai_chat, url: '{mock}/v1', model: mock-gpt, timeout: 2s}}
  - {{name: chat2, kind: openai_chat, url: '{mock}/v1', model: mock-gpt, timeout: 2s}}
"""

RULES = """\
groups:
  - name: api
    interval: 1s
    rules:
      - record: target:aiwatch_probe_success:max
        expr: max by (target) (aiwatch_probe_success)
"""

RANGE_EXPRESSIONS = [
    "aiwatch_probe_success",
    "sum by (target) (aiwatch_probe_success)",
    "count_over_time(aiwatch_probe_success[3s])",
    "time()",
    "max_over_time(aiwatch_probe_success[2s:500ms])",
    "aiwatch_probe_success @ start()",
]


def http(url: str, data: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET ``url`` (POST ``data`` form-encoded when given): status and JSON body."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def get(base: str, path: str, **params: str) -> Any:
    """GET ``path?params`` on ``base``; the data of a success envelope."""
    status, body = http(f"{base}{path}?{urllib.parse.urlencode(params)}")
    assert status == 200, body
    return body["data"]


def promtool(*args: str) -> Any:
    """``promtool query -o json ARGS``: its decoded output."""
    done = subprocess.run(
        [PROMTOOL, "query", "-o", "json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def aiwatch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running aiwatch probing mock-ai, with a few seconds of samples stored."""
    tmp: Path = tmp_path_factory.mktemp("promapi")
    port = free_port()
    mock = LoggedProcess(
        aiwatch_argv("mock-ai", "--listen-address", f"127.0.0.1:{port}"), tmp / "mock.log"
    )
    (tmp / "rules.yml").write_text(RULES)
    (tmp / "aiwatch.yml").write_text(CONFIG.format(mock=f"http://127.0.0.1:{port}"))
    daemon = DaemonProcess(tmp / "aiwatch.yml", tmp / "data")
    try:
        daemon.wait_ready()
        deadline = time.monotonic() + 60
        query = "min(count_over_time(target:aiwatch_probe_success:max[1m]))"
        while time.monotonic() < deadline:
            result = get(daemon.url, "/api/v1/query", query=query)["result"]
            if result and float(result[0]["value"][1]) >= 6:
                break
            time.sleep(0.5)
        else:
            pytest.fail("no samples after 60 s:\n" + daemon.log())
        yield daemon.url
    finally:
        daemon.kill()
        mock.kill()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus 2.42 with nothing to scrape: the oracle for parameter errors."""
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


def test_promtool_instant_query_returns_the_probe_samples(aiwatch: str) -> None:
    """``promtool query instant`` gets each target's probe result, as Prometheus would."""
    result = promtool("instant", aiwatch, "aiwatch_probe_success")
    assert {sample["metric"]["target"] for sample in result} == {"chat", "chat2"}
    assert all(sample["value"][1] == "1" for sample in result)


def test_an_instant_range_selector_answers_a_matrix(aiwatch: str) -> None:
    """``x[5s]`` as an instant query gives each series' samples in the window, not an error."""
    now = time.time()
    data = get(aiwatch, "/api/v1/query", query="aiwatch_probe_success[5s]", time=f"{now:.3f}")
    assert data["resultType"] == "matrix"
    assert len(data["result"]) == 2
    for series in data["result"]:
        times = [t for t, _ in series["values"]]
        assert len(times) >= 3
        assert times == sorted(times)
        assert all(now - 5 <= t <= now for t in times)
    instant = promtool("instant", aiwatch, "aiwatch_probe_success[5s]")
    assert {s["metric"]["target"] for s in instant} == {"chat", "chat2"}


@pytest.mark.parametrize("expr", RANGE_EXPRESSIONS)
def test_each_step_of_a_promtool_range_query_equals_the_instant_query(
    aiwatch: str, expr: str
) -> None:
    """Every point of ``promtool query range`` equals ``/api/v1/query`` at that time, at
    unaligned start and end (not rounded to the step, as Prometheus leaves them)."""
    end = time.time() - 1
    start = end - 4.123
    result = promtool(
        "range", aiwatch, expr, f"--start={start:.3f}", f"--end={end:.3f}", "--step=0.5s"
    )
    assert result, f"{expr}: no series"
    points = 0
    for series in result:
        times = [t for t, _ in series["values"]]
        assert times[0] >= round(start, 3) - 1e-6
        assert times[-1] <= round(end, 3) + 1e-6
        for t, value in series["values"]:
            steps = (t - round(start, 3)) / 0.5
            assert abs(steps - round(steps)) < 1e-6, f"{t} is not start + k*step"
            # At one instant, start() is that instant: pin it to the range's start instead.
            instant = expr.replace("start()", f"{start:.3f}")
            at = get(aiwatch, "/api/v1/query", query=instant, time=str(t))
            found = at["result"]
            if at["resultType"] == "scalar":
                assert found[1] == value, (expr, t)
            else:
                (same,) = [s for s in found if s["metric"] == series["metric"]]
                assert same["value"] == [t, value], (expr, t)
            points += 1
    assert points >= 8


def test_a_form_encoded_post_answers_as_the_get(aiwatch: str) -> None:
    """Grafana POSTs its queries form-encoded: the answer equals the GET's."""
    end = round(time.time() - 3)
    params = {"query": "aiwatch_probe_success", "start": str(end - 5), "end": str(end), "step": "1"}
    base = f"{aiwatch}/api/v1/query_range"
    got = http(f"{base}?{urllib.parse.urlencode(params)}")
    posted = http(base, params)
    assert got == posted
    assert got[0] == 200
    assert len(got[1]["data"]["result"]) == 2


def test_promtool_series_and_label_values(aiwatch: str) -> None:
    """``promtool query series`` and ``query labels`` list the stored series and values."""
    series = promtool("series", aiwatch, "--match=aiwatch_probe_success")
    assert sorted(s["target"] for s in series) == ["chat", "chat2"]
    assert all(s["__name__"] == "aiwatch_probe_success" for s in series)
    values = promtool("labels", aiwatch, "target")
    assert {"chat", "chat2"} <= set(values)
    names = promtool("labels", aiwatch, "__name__")
    assert {"aiwatch_probe_success", "target:aiwatch_probe_success:max"} <= set(names)
    matched = get(aiwatch, "/api/v1/label/target/values", **{"match[]": "up"})
    assert matched == []
    labels = get(aiwatch, "/api/v1/labels", **{"match[]": "aiwatch_probe_success"})
    assert {"__name__", "target"} <= set(labels)
    assert labels == sorted(labels)
    old = get(aiwatch, "/api/v1/series", **{"match[]": "aiwatch_probe_success", "end": "1000"})
    assert old == []


def test_metadata_lists_the_exposed_families(aiwatch: str) -> None:
    """``/api/v1/metadata`` gives the type and help of what ``/metrics`` exposes."""
    data = get(aiwatch, "/api/v1/metadata")
    (entry,) = data["aiwatch_probe_success"]
    assert entry["type"] == "gauge"
    assert entry["help"]
    assert entry["unit"] == ""
    assert get(aiwatch, "/api/v1/metadata", metric="aiwatch_probe_success") == {
        "aiwatch_probe_success": [entry]
    }
    assert len(get(aiwatch, "/api/v1/metadata", limit="2")) == 2


def test_buildinfo_has_prometheus_fields_and_aiwatch_version(aiwatch: str) -> None:
    """``/api/v1/status/buildinfo`` has Prometheus' fields, with aiwatch's own version."""
    data = get(aiwatch, "/api/v1/status/buildinfo")
    for field in ("version", "revision", "branch", "buildUser", "buildDate", "goVersion"):
        assert isinstance(data[field], str), field
    assert data["version"] == __version__


BAD_REQUESTS = [
    "/api/v1/query_range?query=up&end=10&step=1",
    "/api/v1/query_range?query=up&start=10&step=1",
    "/api/v1/query_range?query=up&start=10&end=9&step=1",
    "/api/v1/query_range?query=up&start=0&end=10",
    "/api/v1/query_range?query=up&start=0&end=10&step=0",
    "/api/v1/query_range?query=up&start=0&end=10&step=-1",
    "/api/v1/query_range?query=up&start=0&end=10&step=abc",
    "/api/v1/query_range?query=up&start=0&end=10&step=1e300",
    "/api/v1/query_range?query=up&start=0&end=11001&step=1",
    "/api/v1/query_range?query=up&start=abc&end=10&step=1",
    "/api/v1/query_range?query=up&start=2020-01-01&end=10&step=1",
    "/api/v1/query?query=up&time=yesterday",
    "/api/v1/query?query=up&timeout=soon",
    "/api/v1/series",
    "/api/v1/series?match[]=up&start=x",
    "/api/v1/label/foo-bar/values",
    "/api/v1/metadata?limit=x",
    "/api/v1/query_range?query=up[5m]&start=0&end=10&step=1",
    "/api/v1/query_range?query=%22text%22&start=0&end=10&step=1",
]


@pytest.mark.parametrize("path", BAD_REQUESTS)
def test_bad_parameters_get_prometheus_status_and_wording(
    aiwatch: str, prometheus: str, path: str
) -> None:
    """Each bad request gets the same status, error type and message as from Prometheus."""
    ours = http(aiwatch + path)
    theirs = http(prometheus + path)
    assert ours == theirs


def test_limits_at_the_edge_are_accepted(aiwatch: str) -> None:
    """11,000 steps is still allowed (Prometheus refuses only more), and RFC 3339 times work."""
    status, body = http(f"{aiwatch}/api/v1/query_range?query=1&start=0&end=11000&step=1")
    assert status == 200, body
    (series,) = body["data"]["result"]
    assert len(series["values"]) == 11001
    start, end = "2020-01-01T00:00:00Z", "2020-01-01T00:01:00.5Z"
    data = get(aiwatch, "/api/v1/query_range", query="time()", start=start, end=end, step="30s")
    assert [t for t, _ in data["result"][0]["values"]] == [1577836800, 1577836830, 1577836860]


GOOD_REQUESTS = [
    "/api/v1/query?query=1&time=1e9",
    "/api/v1/query?query=vector(2)[1m:20s]&time=100.5",
    "/api/v1/query?query=time()%20%2B%201&time=2020-01-01T00:00:00.25Z",
    "/api/v1/query_range?query=time()&start=0&end=60&step=15",
    "/api/v1/query_range?query=vector(1)&start=0.5&end=100&step=33.3",
    "/api/v1/query_range?query=time()&start=2020-01-01T00:00:00Z&end=2020-01-01T00:00:30.5Z&step=10s",
    "/api/v1/query_range?query=vector(time())%20%3E%2030&start=0&end=60&step=10&timeout=10s",
]


@pytest.mark.parametrize("path", GOOD_REQUESTS)
def test_data_independent_queries_answer_as_prometheus(
    aiwatch: str, prometheus: str, path: str
) -> None:
    """Queries whose answer needs no samples get the same JSON from aiwatch as from
    Prometheus: result types, step times (start not aligned), timestamps and values."""
    ours = http(aiwatch + path)
    theirs = http(prometheus + path)
    assert ours[0] == 200, ours
    assert ours == theirs
