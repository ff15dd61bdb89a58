"""docker-compose.yml against the Compose Specification schema, and its wiring to the repo."""

import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

from aiwatch.config import load_config
from tests.bundle.grafana import REPO
from tests.bundle.stack import free_port, wait_for

SPEC = Path(__file__).with_name("compose_spec.json")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed docker-compose.yml."""
    document: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return document


def _listen_port(service: dict[str, Any], flag: str) -> int:
    for arg in service.get("command", []):
        match = re.fullmatch(rf"{re.escape(flag)}[= ]?\S*:(\d+)", arg)
        if match:
            return int(match.group(1))
    command = service.get("command", [])
    if flag in command:
        return int(command[command.index(flag) + 1].rpartition(":")[2])
    msg = f"no {flag} in {command}"
    raise AssertionError(msg)


def test_compose_file_is_valid_against_the_compose_spec(compose: dict[str, Any]) -> None:
    """The file validates against the Compose Specification JSON Schema without errors."""
    validator = Draft201909Validator(json.loads(SPEC.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_schema_check_catches_a_broken_file(compose: dict[str, Any]) -> None:
    """The schema check is not vacuous: an unknown service key and a bad port are errors."""
    validator = Draft201909Validator(json.loads(SPEC.read_text()))
    broken = json.loads(json.dumps(compose))
    broken["services"]["aiwatch"]["portz"] = ["9531:9531"]
    broken["services"]["grafana"]["ports"] = [{"target": "3000"}]
    assert len(list(validator.iter_errors(broken))) >= 2


def test_stack_has_the_four_services_built_from_the_repo(compose: dict[str, Any]) -> None:
    """aiwatch (built from the Dockerfile), Prometheus, Alertmanager and Grafana run together."""
    services = compose["services"]
    assert {"aiwatch", "prometheus", "alertmanager", "grafana"} <= services.keys()
    for name, service in services.items():
        if "build" in service:
            context = REPO / service["build"] if isinstance(service["build"], str) else REPO
            assert (context / "Dockerfile").is_file(), name
        else:
            assert ":" in service["image"], f"{name}: pin an image tag"
    assert "build" in services["aiwatch"]


def test_every_mounted_file_exists_in_the_repo(compose: dict[str, Any]) -> None:
    """Each bind mount's source is a file or folder of the repository."""
    sources = []
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                sources.append(source)
                assert (REPO / source).exists(), f"{source} is mounted but missing"
    assert "./prometheus/alerts.yml" in sources
    named = {v.split(":", 1)[0] for s in compose["services"].values() for v in s.get("volumes", [])}
    assert {n for n in named if not n.startswith(".")} <= set(compose.get("volumes", {}))


def test_ports_agree_with_prometheus_grafana_and_aiwatch_config(compose: dict[str, Any]) -> None:
    """prometheus.yml scrapes aiwatch and alerts Alertmanager where compose runs them, Grafana
    queries Prometheus where it listens, and aiwatch probes mock-ai where it listens."""
    services = compose["services"]
    prometheus = yaml.safe_load((REPO / "prometheus/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prometheus["scrape_configs"]}
    aiwatch_port = _listen_port(services["aiwatch"], "--web.listen-address")
    assert jobs["aiwatch"]["static_configs"][0]["targets"] == [f"aiwatch:{aiwatch_port}"]
    assert f"{aiwatch_port}:{aiwatch_port}" in services["aiwatch"]["ports"]
    alertmanagers = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["alertmanager:9093"]
    assert "9093:9093" in services["alertmanager"]["ports"]
    assert "9090:9090" in services["prometheus"]["ports"]
    datasource = yaml.safe_load(
        (REPO / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    mock_port = _listen_port(services["mock-ai"], "--listen-address")
    config = load_config(str(REPO / "config/docker.yml"))
    for target in config.targets:
        assert target.url.startswith(f"http://mock-ai:{mock_port}/"), target.name


@pytest.mark.parametrize("file", ["docker-compose.yml", "docker-compose.aiwatch-grafana.yml"])
def test_aiwatch_in_compose_loads_the_bundled_rules(file: str) -> None:
    """config/docker.yml's rule_files resolve, in the container as in the repository, to the
    mounted prometheus/alerts.yml and prometheus/recording.yml (the dashboards' series, which
    aiwatch records too so that Grafana can read it alone), in both stacks."""
    compose = yaml.safe_load((REPO / file).read_text())
    service = compose["services"]["aiwatch"]
    mounts = dict(v.split(":")[:2] for v in service["volumes"] if v.startswith("."))
    container_config = Path(mounts["./config/docker.yml"])
    config = load_config(str(REPO / "config/docker.yml"))
    loaded = set()
    for pattern in config.rule_files:
        in_container = (container_config.parent / pattern).resolve()
        source = "./" + str((REPO / "config" / pattern).resolve().relative_to(REPO))
        assert mounts[source] == str(in_container)
        loaded.add(source)
    assert loaded == {"./prometheus/alerts.yml", "./prometheus/recording.yml"}
    command = service["command"]
    assert f"--config.file={container_config}" in command


def test_container_commands_are_valid_aiwatch_command_lines(compose: dict[str, Any]) -> None:
    """The commands compose gives the aiwatch image parse with aiwatch's own CLI, and the
    Dockerfile's entrypoint and default command do too."""
    from aiwatch.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(compose["services"]["aiwatch"]["command"]).command == "run"
    assert parser.parse_args(compose["services"]["mock-ai"]["command"]).command == "mock-ai"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["aiwatch"]' in dockerfile
    default = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert default is not None
    assert parser.parse_args(json.loads(default.group(1))).command == "run"


def test_dockerfile_copies_only_files_that_exist() -> None:
    """Every COPY source of the build stage is in the repository."""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (REPO / source).exists(), source


def test_notifications_service_receives_and_prints_what_aiwatch_sends(
    compose: dict[str, Any],
) -> None:
    """config/docker.yml routes notifications to the `notifications` service, and that
    service's program (run here on a free port) answers 200 and prints the JSON it gets."""
    config = load_config(str(REPO / "config/docker.yml"))
    urls = [url for route in config.notifications.routes for url in route.apprise]
    assert urls
    assert all(url.reveal().startswith("json://notifications:8080/") for url in urls)
    command = compose["services"]["notifications"]["command"]
    assert command[:3] == ["python", "-u", "-c"]
    port = free_port()
    program = command[3].replace('("", 8080)', f'("127.0.0.1", {port})')
    assert program != command[3]
    with subprocess.Popen(
        [sys.executable, "-u", "-c", program], stdout=subprocess.PIPE, text=True
    ) as receiver:
        try:
            body = json.dumps({"title": "[FIRING] AIEndpointDown", "message": "x"}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body)
            status = wait_for(lambda: urllib.request.urlopen(request, timeout=2).status, timeout=10)
            assert status == 200
        finally:
            receiver.terminate()
        printed = receiver.communicate(timeout=10)[0]
    assert json.loads(printed)["title"] == "[FIRING] AIEndpointDown"


def _header_runs() -> list[list[str]]:
    """The ``docker run`` command lines of the Dockerfile's header comment, split."""
    import shlex

    lines = [
        line.removeprefix("#").strip()
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.startswith("#")
    ]
    return [shlex.split(line) for line in lines if line.startswith("docker run")]


def test_dockerfile_header_example_mounts_what_its_config_needs() -> None:
    """The header's aiwatch container mounts a config whose rule files resolve to mounted
    files, whose targets are not on the container's own loopback, and whose hosts are the
    names of containers the example starts on the same network. The old example mounted
    config/ alone (rule_files: ../prometheus/alerts.yml missing) and probed 127.0.0.1:9532."""
    from aiwatch.cli import build_parser

    runs = _header_runs()
    assert runs, "the header shows no docker run command"
    names = {argv[argv.index("--name") + 1] for argv in runs if "--name" in argv}
    (daemon,) = [argv for argv in runs if argv[-1] == "aiwatch" or "run" in argv[-3:]]
    mounts = dict(
        daemon[i + 1].replace("$PWD/", "./").split(":")[:2]
        for i, arg in enumerate(daemon)
        if arg == "-v"
    )
    for source in mounts:
        assert (REPO / source).exists(), source
    dockerfile = (REPO / "Dockerfile").read_text()
    default = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert default is not None
    args = build_parser().parse_args(json.loads(default.group(1)))
    container_config = Path(args.config_file)
    (source,) = [s for s, target in mounts.items() if Path(target) == container_config]
    config = load_config(str(REPO / source))
    for pattern in config.rule_files:
        in_container = os.path.normpath(container_config.parent / pattern)
        assert in_container in mounts.values(), pattern
    for target in config.targets:
        host = urllib.parse.urlsplit(target.url).hostname
        assert host not in ("127.0.0.1", "localhost", "::1"), target.name
        assert host in names, target.name
