"""Probes run now for ``GET /probe``: one at a time per target, shared by concurrent callers."""

import asyncio

from aiwatch.config.model import Target
from aiwatch.probes.result import ProbeResult
from aiwatch.probes.run import make_session
from aiwatch.probes.scheduler import probe_once


class OnDemand:
    """Probes run for ``GET /probe``: one at a time per target, shared by concurrent callers."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[ProbeResult]] = {}

    async def probe(self, target: Target) -> ProbeResult:
        """Probe ``target`` now with a fresh session (or join the probe already running)."""
        task = self._running.get(target.name)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._run(target))
            self._running[target.name] = task
            task.add_done_callback(lambda _: self._forget(target.name, task))
        # A caller that goes away must not cancel the probe others may be waiting for.
        return await asyncio.shield(task)

    def _forget(self, name: str, task: asyncio.Task[ProbeResult]) -> None:
        if self._running.get(name) is task:
            del self._running[name]

    @staticmethod
    async def _run(target: Target) -> ProbeResult:
        async with make_session(target) as session:
            return await probe_once(target, session)

    async def close(self) -> None:
        """Cancel probes still running at shutdown."""
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
