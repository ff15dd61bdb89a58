"""The parts of the daemon, in start-up order; each ``setup(app)`` adds routes and resources."""

from collections.abc import Callable
from typing import Any

from aiohttp import web

from aiwatch import selfscrape
from aiwatch.alertmanager_api import web as alertmanager_api_web
from aiwatch.experiments import web as experiments_web
from aiwatch.incidents import web as incidents_web
from aiwatch.notify import web as notify_web
from aiwatch.probes import web as probes_web
from aiwatch.rules import web as rules_web

COMPONENTS: tuple[Callable[[web.Application], Any], ...] = (
    probes_web.setup,
    selfscrape.setup,  # before rules: restored history is in the store when they start
    # Before rules: the incident store is open when the rules start (a restart resolves the
    # incidents of alerts that did not come back) and still open until they have stopped.
    incidents_web.setup,
    rules_web.setup,
    notify_web.setup,
    alertmanager_api_web.setup,  # after incidents: it reads their store
    experiments_web.setup,
)
