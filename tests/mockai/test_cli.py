"""``aiwatch mock-ai`` as a process: prints its address, serves, obeys its script, stops."""

import asyncio
import json
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from tests.cli import aiwatch_argv


async def test_mock_ai_command_serves_its_script_and_stops_on_sigterm(tmp_path: Path) -> None:
    """Port 0 is resolved and printed; the script's default applies; SIGTERM exits 0."""
    script = tmp_path / "mock.yml"
    script.write_text("default:\n  model: scripted-model\n  reply: scripted reply\nseed: 3\n")
    process = await asyncio.create_subprocess_exec(
        *aiwatch_argv("mock-ai", "--listen-address", "127.0.0.1:0", "--script", str(script)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        assert line.startswith("mock-ai listening on http://127.0.0.1:")
        base = line.rsplit(" ", 1)[1]
        assert base.endswith("/v1")
        assert not base.endswith(":0/v1")
        body = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{base}/chat/completions", json=body) as r,
        ):
            reply = json.loads(await r.text())
        assert reply["model"] == "scripted-model"
        assert reply["choices"][0]["message"]["content"] == "scripted reply"
        # A client holding a stalled stream open must not keep the server from stopping.
        stalled = {**body, "stream": True, "mock": {"stall_after": 0}}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{base}/chat/completions", json=stalled) as r,
        ):
            assert (await r.content.readline()).startswith(b"data: ")
            process.send_signal(signal.SIGTERM)
            started = time.perf_counter()
            code = await asyncio.wait_for(process.wait(), 10)
            assert time.perf_counter() - started < 5
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 10)
    assert code == 0


@pytest.mark.parametrize(
    "text", ["behaviours: {}\n", "default: {latncy: 1}\n", "models: {m: {status: x}}\n"]
)
async def test_mock_ai_command_rejects_a_bad_script(tmp_path: Path, text: str) -> None:
    """A script with unknown keys or bad behaviours is one error line and exit 1."""
    script = tmp_path / "bad.yml"
    script.write_text(text)
    process = await asyncio.create_subprocess_exec(
        *aiwatch_argv("mock-ai", "--script", str(script)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 1
    assert err.decode().startswith("mock-ai: ")
