"""The OpenAPI document of the daemon's HTTP API, limited to the routes this build serves."""

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from aiohttp import web

METHODS = ("get", "post", "put", "patch", "delete")


@cache
def full_document() -> dict[str, Any]:
    """The whole document shipped in the package (every route of the HTTP API)."""
    text = resources.files("aiwatch.app").joinpath("openapi.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation in a document, methods upper-case."""
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def served_routes(router: web.UrlDispatcher) -> set[tuple[str, str]]:
    """(method, path template) of every route the router serves, HEAD twins left out."""
    out = set()
    for route in router.routes():
        if route.method in ("HEAD", "*"):
            continue
        canonical = route.resource.canonical if route.resource is not None else ""
        out.add((route.method, canonical))
    return out


def document_for(routes: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The document with only the operations in ``routes`` (components built without some)."""
    full = full_document()
    wanted = set(routes)
    paths: dict[str, Any] = {}
    for path, item in full["paths"].items():
        kept = {m: op for m, op in item.items() if (m.upper(), path) in wanted}
        if kept:
            paths[path] = kept
    return {**full, "paths": paths}


async def handle_openapi(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json: the OpenAPI document of every route this daemon serves."""
    return web.json_response(document_for(served_routes(request.app.router)))
