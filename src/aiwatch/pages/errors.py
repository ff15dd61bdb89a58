"""Errors of the page routes as an HTML page in the pages' layout, not the JSON envelope."""

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from aiwatch.pages.view import page, prefix
from aiwatch.web.envelope import ApiError

log = logging.getLogger("aiwatch.pages")

_SECTIONS = ("/incidents", "/experiments", "/alerts", "/rules", "/silences")
"""The pages with a list to go back to; any other error page links to the overview."""

_KEPT_HEADERS = ("WWW-Authenticate", "Allow")
"""Headers of the error that the HTML answer keeps (a 401 must still ask for credentials)."""


def is_page_route(request: web.Request) -> bool:
    """Whether the request matched a route of the pages feature (``/api/...`` never does)."""
    handler = getattr(request.match_info, "handler", None)
    module = getattr(handler, "__module__", "") or ""
    return module.startswith("aiwatch.pages.")


def back_link(path: str) -> str:
    """Where the page's "back" link goes: the section's list, else the overview."""
    for section in _SECTIONS:
        if path == section or path.startswith(section + "/"):
            return section
    return "/"


def error_page(request: web.Request, error: ApiError) -> web.Response:
    """The error as a page: same status, the envelope's message, a link back."""
    context = {
        "status": error.status,
        "reason": error.reason,
        "message": error.message,
        "back": prefix(request) + back_link(request.path),
    }
    response = page(request, "error.html", context, status=error.status)
    for name in _KEPT_HEADERS:
        if name in error.headers:
            response.headers[name] = error.headers[name]
    return response


@web.middleware
async def page_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Outside the error envelope: a page route's error leaves as HTML with its status."""
    try:
        return await handler(request)
    except ApiError as error:
        if not is_page_route(request):
            raise
        try:
            return error_page(request, error)
        except Exception:
            log.exception("Could not render an error page", extra={"path": request.path})
            raise error from None
