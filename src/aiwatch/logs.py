"""Logging in logfmt (default) or JSON, one line per event, with structured fields.

Every record, whatever library logged it, passes one :class:`Scrubber` on its way out: URLs
lose their credentials, and the secrets of the loaded config (API keys, header values, the
tokens in notification URLs, which urllib3 logs as the path it posts to) are masked.
"""

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

from aiwatch.redaction import REDACTED, redact_urls_in

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)))


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    out.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
    if record.exc_info and record.exc_info[1] is not None:
        out["err"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
    return out


class Scrubber(logging.Filter):
    """Masks secrets in every record's message, fields and error before it is written.

    A record from the HTTP server about a request it could not parse (a header line over
    8,190 bytes, a malformed request line) quotes the raw bytes, which may be an
    ``Authorization`` value: it keeps only the kind of error, and goes to debug level, as
    the client was answered 400 and the server did nothing wrong.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pattern: re.Pattern[str] | None = None

    def set_secrets(self, secrets: Iterable[str]) -> None:
        """Mask these texts from now on (the config's secrets; replaced on each reload)."""
        ordered = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def scrub(self, text: str) -> str:
        """``text`` with URL credentials and known secrets masked."""
        text = redact_urls_in(text)
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; drop only a parse error demoted below the level."""
        if _is_parse_error(record):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.err = _parse_error(record)
            record.exc_info, record.exc_text = None, None
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.scrub(value))
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.err = self.scrub(f"{type(exc).__name__}: {exc}")
            record.exc_info, record.exc_text = None, None
        return True


MIN_SECRET = 4
"""Shorter secrets are not masked in free text: they would mask ordinary words and numbers."""

SCRUBBER = Scrubber()


def _is_parse_error(record: logging.LogRecord) -> bool:
    if not record.name.startswith("aiohttp") or not record.exc_info:
        return False
    # Imported here: logging is set up before anything loads aiohttp.
    from aiohttp.http_exceptions import HttpProcessingError

    return isinstance(record.exc_info[1], HttpProcessingError)


def _parse_error(record: logging.LogRecord) -> str:
    exc = record.exc_info[1] if record.exc_info else None
    # "Got more than 8190 bytes when reading: b'Basic …'": the words, not the bytes.
    words = str(getattr(exc, "message", "")).strip().split(":", 1)[0]
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text and not any(c in text for c in ' ="\\\n\t'):
        return text
    return json.dumps(text)


class LogfmtFormatter(logging.Formatter):
    """``ts=… level=info logger=… msg="…" key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


def setup_logging(*, level: str = "info", fmt: str = "logfmt") -> None:
    """Send aiwatch's logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    handler.addFilter(SCRUBBER)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log is noise at info level for a scraped exporter.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
