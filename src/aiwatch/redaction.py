"""Credentials inside URLs, hidden wherever a URL is shown (the URL used for requests is intact).

``http://user:pass@host/v1?token=abc`` is shown as ``http://user:<secret>@host/v1?token=<secret>``.
As Prometheus' ``config.URL`` does, the password of the user information is hidden; a user
name given alone (``https://TOKEN@host``, as some services take their tokens) is hidden too.
Query parameters are hidden by name: a value is hidden when the parameter's name, in lower
case, contains one of :data:`SECRET_PARAMETER_WORDS` (``token``, ``api_key``, ``sig``,
``X-Amz-Signature``, …); ``?api-version=2024-06-01`` stays readable.
"""

import re
import urllib.parse

REDACTED = "<secret>"

SECRET_PARAMETER_WORDS = (
    "token",
    "key",
    "secret",
    "sig",
    "pass",
    "pwd",
    "auth",
    "cred",
    "session",
    "code",
)
"""A query parameter whose lower-case name contains one of these words holds a secret."""

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")


def _secret_parameter(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_PARAMETER_WORDS)


def url_secrets(url: str) -> tuple[str, ...]:
    """The secret pieces of ``url`` (as written in it), longest first: for scrubbing text."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return ()
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and userinfo:
        user, colon, password = userinfo.partition(":")
        found.append(password if colon else user)
    for pair in parts.query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and value and _secret_parameter(urllib.parse.unquote_plus(name)):
            found.append(value)
    pieces = {p for p in found if p}
    # Decoded forms too: an error message may show the URL after percent-decoding.
    pieces |= {urllib.parse.unquote_plus(p) for p in pieces}
    return tuple(sorted(pieces, key=len, reverse=True))


def url_pieces(url: str) -> tuple[str, ...]:
    """The parts of a notification URL that may be tokens: every piece between ``/``, ``:``,
    ``@``, ``?``, ``&`` and ``=`` of 8 characters or more that is not a dotted host name.

    ``slack://T0001/B0002/XXXX…`` is posted as ``/services/T0001/B0002/XXXX…``, and Apprise
    URLs of other services carry their tokens in the host or path the same way.
    """
    _, sep, rest = url.partition("://")
    pieces = re.split(r"[/:@?&=#]+", rest if sep else url)
    return tuple(p for p in pieces if len(p) >= 8 and "." not in p)


def redact_url(url: str) -> str:
    """``url`` with its credentials (password, lone user name, secret query values) hidden."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and userinfo:
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{host}" if colon else f"{REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            name, eq, value = pair.partition("=")
            if eq and value and _secret_parameter(urllib.parse.unquote_plus(name)):
                value = REDACTED
            pairs.append(f"{name}{eq}{value}")
        query = "&".join(pairs)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_urls_in(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url`."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: redact_url(m.group(0)), text)
