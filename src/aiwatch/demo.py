"""``aiwatch demo``: mock endpoint, daemon and a scripted incident, narrated on the console."""

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import yaml
from aiohttp import web

from aiwatch.app.errors import StartupError
from aiwatch.app.serve import parse_listen_address, serve
from aiwatch.config import ConfigError, load_config
from aiwatch.mockai import make_mock_app
from aiwatch.runtime import ConfigState, Options

DEGRADED_MODEL = "mock-gpt"
"""The model behind ``chat-primary``; the script makes it answer HTTP 500."""
EXPERIMENT = "captions-model-v2"
DEGRADE_AFTER = 30.0
"""Seconds from the start to the scripted outage (``--degrade-after``)."""
OUTAGE = 25.0
"""Seconds the scripted outage lasts: long enough for both alerts to fire, short enough for
every incident to resolve well within a two-minute demo."""
EXPERIMENT_EVERY = 20.0
"""Seconds between two summaries of the experiment on the console."""
# Simulated user ratings (1-5) posted to the experiment's observation metric, per variant.
RATINGS = {"current": (4, 3, 4, 5, 3, 4, 4, 3), "candidate": (5, 4, 4, 5, 4, 5, 4, 4)}


@dataclass
class Narrator:
    """Prints what happens, each line stamped with the time since the demo started."""

    out: TextIO
    started: float = field(default_factory=time.monotonic)

    def say(self, text: str) -> None:
        """One narrated line."""
        elapsed = int(time.monotonic() - self.started)
        print(f"[demo {elapsed // 60:02d}:{elapsed % 60:02d}] {text}", file=self.out, flush=True)


def write_demo_files(
    workdir: Path, *, mock_url: str, receiver_url: str, external_url: str = ""
) -> Path:
    """The packaged demo config and rules, pointed at the running mock, receiver and daemon."""
    examples = resources.files("aiwatch") / "examples"
    document = yaml.safe_load((examples / "demo.yml").read_text())
    if external_url:
        # Notifications link to the incident and the alert's source on this daemon.
        document["global"]["external_url"] = external_url
    for target in document["targets"]:
        target["url"] = target["url"].replace("http://mock-ai:9532", mock_url)
    document["notifications"]["routes"][0]["apprise"] = [receiver_url]
    document["storage"] = {"path": str(workdir / "data")}
    (workdir / "demo-rules.yml").write_text((examples / "demo-rules.yml").read_text())
    config = workdir / "demo.yml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    return config


def receiver_app(narrator: Narrator) -> web.Application:
    """Where the console route's Apprise ``json://`` notifications land: printed as they come."""

    async def notify(request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except ValueError:
            payload = {"message": await request.text()}
        title = str(payload.get("title") or "").strip()
        message = str(payload.get("message") or "").strip().replace("\n", "\n             ")
        narrator.say(f"NOTIFICATION {title}\n             {message}")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/notify", notify)
    return app


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


class Script:
    """The scripted story: healthy probes, an outage, its alert, incident and notification."""

    def __init__(
        self,
        *,
        narrator: Narrator,
        daemon_url: str,
        mock_url: str,
        degrade_after: float,
        recover_after: float,
    ) -> None:
        self.say = narrator.say
        self.daemon = daemon_url
        self.mock = mock_url
        self.degrade_after = degrade_after
        self.recover_after = recover_after
        self.seen_alerts: dict[str, str] = {}
        self.seen_incidents: dict[int, str] = {}

    async def run(self, session: aiohttp.ClientSession) -> None:
        """Play the story, then keep reporting changes until cancelled."""
        await self._until_ready(session)
        started = time.monotonic()
        degraded = recovered = False
        next_rating = 0.0
        next_experiment = EXPERIMENT_EVERY
        while True:
            elapsed = time.monotonic() - started
            if not degraded and elapsed >= self.degrade_after:
                degraded = True
                await self._set_mock(session, {"status": 500}, "answers HTTP 500 from now on")
            if degraded and not recovered and elapsed >= self.recover_after:
                recovered = True
                await self._set_mock(session, {}, "is healthy again")
            if elapsed >= next_rating:
                next_rating = elapsed + 5
                await self._post_ratings(session)
            if elapsed >= next_experiment:
                next_experiment = elapsed + EXPERIMENT_EVERY
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    await self._report_experiment(session)
            # A slow or restarting daemon only delays the narration.
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await self._report_alerts(session)
                await self._report_incidents(session)
            await asyncio.sleep(1)

    async def _until_ready(self, session: aiohttp.ClientSession) -> None:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{self.daemon}/-/ready") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)

    async def _set_mock(
        self, session: aiohttp.ClientSession, behavior: dict[str, Any], what: str
    ) -> None:
        url = f"{self.mock}/_mock/behavior?model={DEGRADED_MODEL}"
        async with session.post(url, json=behavior) as response:
            response.raise_for_status()
        self.say(f"scripted: model {DEGRADED_MODEL} (target chat-primary) {what}")
        self.say(f"  (that was: curl -XPOST '{url}' -d '{json.dumps(behavior)}')")

    async def _get(self, session: aiohttp.ClientSession, path: str) -> Any:
        async with session.get(self.daemon + path) as response:
            if response.status != 200:
                return None
            return (await response.json()).get("data")

    async def _post_ratings(self, session: aiohttp.ClientSession) -> None:
        body = [
            {"variant": variant, "metric": "user_rating", "value": value}
            for variant, values in RATINGS.items()
            for value in values
        ]
        url = f"{self.daemon}/api/v1/experiments/{EXPERIMENT}/observations"
        with contextlib.suppress(aiohttp.ClientError):
            async with session.post(url, json=body) as response:
                await response.read()

    async def _report_experiment(self, session: aiohttp.ClientSession) -> None:
        data = await self._get(session, f"/api/v1/experiments/{EXPERIMENT}")
        if not data:
            return
        verdict = data.get("verdict") or {}
        self.say(
            f"experiment {EXPERIMENT} ({data.get('state')}): winner"
            f" {verdict.get('winner') or 'not yet'}"
            f" — {verdict.get('reason', '')}"
        )
        for row in data.get("results", []):
            if row.get("lift") is None:
                continue
            ci = row.get("ci") or [None, None]
            self.say(
                f"  {row['variant']:<10} {row['metric']:<13} n={row.get('n')}"
                f" lift={_number(row.get('lift'))} CI=[{_number(ci[0])}, {_number(ci[1])}]"
                f" p={_number(row.get('p_value'))}"
            )

    async def _report_alerts(self, session: aiohttp.ClientSession) -> None:
        data = await self._get(session, "/api/v1/alerts")
        if not data:
            return
        current = {}
        for alert in data.get("alerts", []):
            labels = alert["labels"]
            key = f'{labels["alertname"]}{{target="{labels.get("target", "")}"}}'
            current[key] = alert["state"]
            if self.seen_alerts.get(key) != alert["state"]:
                summary = alert.get("annotations", {}).get("summary", "")
                self.say(f"alert {key} is {alert['state']}: {summary}")
        for key in set(self.seen_alerts) - set(current):
            self.say(f"alert {key} is resolved")
        self.seen_alerts = current

    async def _report_incidents(self, session: aiohttp.ClientSession) -> None:
        data = await self._get(session, "/api/v1/incidents")
        incidents = data if isinstance(data, list) else (data or {}).get("incidents", [])
        for incident in incidents:
            state = incident.get("state", "")
            if self.seen_incidents.get(incident["id"]) != state:
                self.seen_incidents[incident["id"]] = state
                self.say(
                    f"incident #{incident['id']} {incident.get('alertname', '')} is {state}: "
                    f"{self.daemon}/api/v1/incidents/{incident['id']}"
                )


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) else "-"


def what_to_open(daemon_url: str, mock_url: str) -> str:
    """The URLs a newcomer should look at."""
    return "\n".join(
        [
            "aiwatch demo: a simulated AI endpoint, probed by aiwatch, with alert rules,",
            "incidents, console notifications and an experiment. No API key needed.",
            "",
            f"  pages        {daemon_url}/",
            f"  metrics      {daemon_url}/metrics",
            f"  targets      {daemon_url}/api/v1/targets",
            f"  alerts       {daemon_url}/api/v1/alerts",
            f"  incidents    {daemon_url}/api/v1/incidents",
            f"  experiment   {daemon_url}/api/v1/experiments/{EXPERIMENT}",
            f"  one probe    {daemon_url}/probe?target=chat-primary&debug=true",
            f"  mock-ai      {mock_url}/v1 (control: {mock_url}/_mock/behavior)",
            "",
        ]
    )


async def _demo(
    *,
    sock: socket.socket,
    duration: float | None,
    degrade_after: float,
    recover_after: float,
    out: TextIO,
) -> int:
    host, port = sock.getsockname()[:2]
    narrator = Narrator(out)
    with tempfile.TemporaryDirectory(prefix="aiwatch-demo-") as tmp:
        async with (
            serving(make_mock_app(seed=0)) as mock_url,
            serving(receiver_app(narrator)) as receiver_url,
        ):
            receiver = receiver_url.replace("http://", "json://") + "/notify"
            daemon_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
            config_file = write_demo_files(
                Path(tmp), mock_url=mock_url, receiver_url=receiver, external_url=daemon_url
            )
            try:
                config = load_config(str(config_file))
            except ConfigError as err:
                print(f"demo config is invalid:\n{err}", file=sys.stderr)
                return 1
            options = Options(
                config_file=str(config_file),
                listen_address=f"{host}:{port}",
                storage_path=str(Path(tmp) / "data"),
            )
            print(what_to_open(daemon_url, mock_url), file=out, flush=True)
            narrator.say(
                f"probing 3 targets every 2s; chat-primary will fail at {degrade_after:.0f}s"
                f" and recover at {recover_after:.0f}s"
                + (f"; stopping at {duration:.0f}s" if duration else "; Ctrl-C to stop")
            )
            script = Script(
                narrator=narrator,
                daemon_url=daemon_url,
                mock_url=mock_url,
                degrade_after=degrade_after,
                recover_after=recover_after,
            )
            loop = asyncio.get_running_loop()
            async with aiohttp.ClientSession() as session:
                task = loop.create_task(script.run(session))
                if duration is not None:
                    # The daemon stops on SIGTERM; --duration sends it as an operator would,
                    # after silencing the narration so no poll meets a closing daemon.
                    loop.call_later(duration, task.cancel)
                    loop.call_later(duration, os.kill, os.getpid(), signal.SIGTERM)
                try:
                    return await serve(
                        ConfigState(config, options), host=host, port=port, sock=sock
                    )
                except StartupError as err:
                    print(f"demo: {err}", file=sys.stderr)
                    return 1
                finally:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    narrator.say("demo stopped")


def bind(host: str, port: int) -> socket.socket:
    """The demo daemon's listening socket: taken before anything is printed or contacted.

    Were the port held by another aiwatch, the script would otherwise narrate that daemon's
    incidents and post its simulated ratings into that daemon's experiment before failing.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=128)


def run_demo(
    *,
    listen_address: str = "127.0.0.1:9531",
    duration: float | None = None,
    degrade_after: float = DEGRADE_AFTER,
    recover_after: float | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Run the demo until Ctrl-C or ``duration`` seconds; the exit code."""
    host, port = parse_listen_address(listen_address)
    try:
        sock = bind(host or "127.0.0.1", port)
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        print(f"demo: cannot listen on {listen_address}: {reason}", file=sys.stderr)
        if err.errno == errno.EADDRINUSE:
            print(
                "demo: is another aiwatch running there? Stop it, or pick another port with "
                "--web.listen-address 127.0.0.1:9541 (port 0 picks a free one)",
                file=sys.stderr,
            )
        return 1
    with sock:
        return int(
            asyncio.run(
                _demo(
                    sock=sock,
                    duration=duration,
                    degrade_after=degrade_after,
                    recover_after=recover_after
                    if recover_after is not None
                    else degrade_after + OUTAGE,
                    out=out,
                )
            )
        )
