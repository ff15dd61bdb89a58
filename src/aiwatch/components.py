"""The parts of the daemon, in start-up order; each ``setup(app)`` adds routes and resources."""

from collections.abc import Callable
from typing import Any

from aiohttp import web

from aiwatch.probes import web as probes_web

COMPONENTS: tuple[Callable[[web.Application], Any], ...] = (probes_web.setup,)
