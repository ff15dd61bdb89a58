"""The pages feature: its templates, its routes and the probe listener of the target pages."""

from importlib import resources

from aiohttp import web

from aiwatch.app.keys import PAGES, Deps
from aiwatch.experiments.lifecycle import ACTIONS
from aiwatch.pages import alerting, experiments, incidents, overview, targets
from aiwatch.pages.state import Pages
from aiwatch.web.envelope import fail

STATIC = {
    "aiwatch.css": "text/css; charset=utf-8",
    "aiwatch.js": "text/javascript; charset=utf-8",
}
"""The pages' only assets, served by aiwatch itself (no CDN)."""


async def handle_static(request: web.Request) -> web.Response:
    """GET /static/{name}: the style sheet or the script, cached for a day."""
    name = request.match_info["name"]
    content_type = STATIC.get(name)
    if content_type is None:
        fail(404, "not_found", f"no static file {name!r}")
    body = resources.files("aiwatch.pages").joinpath("static", name).read_bytes()
    headers = {"Content-Type": content_type, "Cache-Control": "public, max-age=86400"}
    return web.Response(body=body, headers=headers)


def setup(app: web.Application, deps: Deps) -> None:
    """Add the pages: routes, and the last probes each target's page lists (the templates
    load with the first page)."""
    pages = Pages()
    app[PAGES] = pages
    deps.probe_listeners.append(pages.on_probe)
    add = app.router
    add.add_get("/", overview.overview_page)
    add.add_get("/incidents", incidents.list_page)
    add.add_get("/incidents/{id}", incidents.incident_page)
    add.add_post("/incidents/{id}/{action:acknowledge|resolve}", incidents.act)
    add.add_post("/incidents/{id}/comment", incidents.comment)
    add.add_get("/targets/{name}", targets.target_page)
    add.add_post("/targets/{name}/probe", targets.probe_now)
    add.add_get("/experiments", experiments.experiments_page)
    add.add_get("/experiments/{name}", experiments.experiment_page)
    action = "{action:" + "|".join(ACTIONS) + "}"
    add.add_post("/experiments/{name}/" + action, experiments.experiment_action)
    add.add_get("/alerts", alerting.alerts_page)
    add.add_get("/rules", alerting.rules_page)
    add.add_get("/silences", alerting.silences_page)
    add.add_post("/silences", alerting.add_silence)
    add.add_post("/silences/{id}/expire", alerting.expire_silence)
    add.add_get("/static/{name}", handle_static)
