"""Behind a reverse proxy under a path: every link and redirect stays under the prefix."""

import re
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.incidents.conftest import basic
from tests.pages.conftest import DOWN, Start, csrf_of

PREFIX = "/aiwatch"
HREF = re.compile(r'(?:href|src)="([^"#]*)"')
ACTION = re.compile(r'action="([^"]*)"')
HOP = {"host", "content-length", "transfer-encoding", "connection"}


def proxy_app(upstream: str) -> web.Application:
    """A reverse proxy like nginx's ``location /aiwatch/ { proxy_pass http://up/; }``."""

    async def forward(request: web.Request) -> web.StreamResponse:
        path = request.path_qs.removeprefix(PREFIX) or "/"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        async with (
            aiohttp.ClientSession(auto_decompress=False) as session,
            session.request(
                request.method, upstream + path, headers=headers, data=await request.read(),
                allow_redirects=False,
            ) as resp,
        ):  # fmt: skip
            body = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP}
            return web.Response(status=resp.status, body=body, headers=out)

    app = web.Application()
    app.router.add_route("*", PREFIX + "/{tail:.*}", forward)
    return app


def links(html: str) -> set[str]:
    """Every local link and script or style source of a page."""
    return {h.replace("&amp;", "&") for h in HREF.findall(html) if not h.startswith("http")}


def actions(html: str) -> set[str]:
    """Every form's action."""
    return set(ACTION.findall(html))


async def test_links_and_redirects_stay_under_the_external_urls_path(
    site: Start, aiohttp_server: Callable[..., Any]
) -> None:
    """Through a proxy at /aiwatch/: every link of the pages answers, the POST's redirect too."""
    s = await site(external_url="http://127.0.0.1/aiwatch/")
    await s.push(DOWN)
    proxy: TestServer = await aiohttp_server(proxy_app(s.url), host="127.0.0.1", port=0)
    base = f"http://127.0.0.1:{proxy.port}"
    seen: set[str] = set()
    todo = {PREFIX + "/"}
    async with aiohttp.ClientSession() as client:
        while todo and len(seen) < 60:
            path = todo.pop()
            seen.add(path)
            async with client.get(base + path) as resp:
                assert resp.status == 200, (path, resp.status)
                if resp.content_type != "text/html":
                    continue
                html = await resp.text()
                found = links(html)
            assert all(a.startswith(PREFIX + "/") for a in actions(html)), path
            outside = {h for h in found if h.startswith("/") and not h.startswith(PREFIX + "/")}
            assert outside == set(), f"{path} links outside the prefix: {outside}"
            todo |= {h for h in found if h.startswith(PREFIX) and "/api/" not in h} - seen
        assert {PREFIX + "/incidents/1", PREFIX + "/silences", PREFIX + "/metrics"} <= seen
        assert any(p.startswith(PREFIX + "/static/aiwatch.css") for p in seen)
        async with client.get(base + PREFIX + "/incidents/1") as resp:
            token = csrf_of(await resp.text())
        form = {"csrf_token": token, "by": "carol"}
        async with client.post(
            base + PREFIX + "/incidents/1/acknowledge", data=form, allow_redirects=False
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == PREFIX + "/incidents/1"
        async with client.get(base + PREFIX + "/graph?g0.expr=up") as resp:
            assert resp.status == 200
            assert resp.url.path == PREFIX + "/api/v1/query"


async def test_flag_replaces_the_configs_external_url(site: Start) -> None:
    """--web.external-url wins over web.external_url: links use the flag's path."""
    extra = "web:\n  external_url: http://example.test/from-config/\n"
    s = await site(extra=extra, external_url="http://example.test/from-flag")
    _, html = await s.get("/")
    assert 'href="/from-flag/incidents"' in html
    plain = await site(extra=extra)
    _, html = await plain.get("/")
    assert 'href="/from-config/incidents"' in html


async def test_pages_behind_basic_auth_through_the_proxy(
    site: Start, aiohttp_server: Callable[..., Any]
) -> None:
    """Credentials pass through the proxy; a viewer through it still gets no buttons."""
    s = await site(users=True, external_url="https://watch.example/aiwatch")
    await s.push(DOWN, user="alice")
    proxy: TestServer = await aiohttp_server(proxy_app(s.url), host="127.0.0.1", port=0)
    async with aiohttp.ClientSession() as client:
        url = f"http://127.0.0.1:{proxy.port}{PREFIX}/incidents/1"
        async with client.get(url, headers=basic("bob")) as resp:
            assert resp.status == 200
            assert "<form" not in await resp.text()
        async with client.get(url) as resp:
            assert resp.status == 401
