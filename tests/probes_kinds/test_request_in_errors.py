"""A failed probe's error names the request it made, so a wrong ``url`` shows at once."""

from tests.daemons import free_port
from tests.probes_kinds.conftest import Mock


async def test_url_without_v1_names_the_path_requested_and_the_fix(mock: Mock) -> None:
    """``url: http://host:port`` (no ``/v1``): the 404 names ``POST …/chat/completions``
    and says that url is the API's base."""
    base = mock.url.removesuffix("/v1")
    result = await mock.probe(mock.target(url=base))
    assert result.error_type == "client_error"
    assert result.error is not None
    assert result.error.startswith(f"HTTP 404 (POST {base}/chat/completions)")
    assert "url is the API's base" in result.error


async def test_url_with_the_api_path_shows_it_doubled(mock: Mock) -> None:
    """``url: …/v1/chat/completions``: the error shows the doubled path that was requested."""
    result = await mock.probe(mock.target(url=mock.url + "/chat/completions"))
    assert result.error is not None
    assert f"POST {mock.url}/chat/completions/chat/completions" in result.error


async def test_connection_error_names_the_url_without_its_secrets(mock: Mock) -> None:
    """Nothing listening: the error names the method and URL, with its password and its
    secret query values hidden as everywhere a URL is shown."""
    port = free_port()
    target = mock.target(
        kind="http",
        url=f"http://user:hunter2@127.0.0.1:{port}/health?key=s3cr3t",
        method="GET",
        api_key=None,
    )
    result = await mock.probe(target)
    assert result.error_type == "connection"
    assert result.error is not None
    assert f"(GET http://user:<secret>@127.0.0.1:{port}/health?key=<secret>)" in result.error
    assert "hunter2" not in result.error
    assert "s3cr3t" not in result.error
