"""The ``expect`` checks: pure functions from what a probe saw to a verdict per check."""

import functools
import json
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

from aiwatch.config.model import Expect
from aiwatch.golang import regexp
from aiwatch.probes.chunks import BURST_MIN_CHUNKS, BURST_WINDOW, ChunkClock
from aiwatch.probes.result import Check


def status_ok(expect: Expect, status: int) -> bool:
    """Whether ``status`` passes: one of ``expect.status``, or any 2xx when that is unset."""
    return status in expect.status if expect.status else 200 <= status < 300


def status_check(expect: Expect, status: int) -> Check:
    """The ``status`` check's verdict."""
    want = "one of " + ", ".join(map(str, expect.status)) if expect.status else "2xx"
    ok = status_ok(expect, status)
    return Check("status", ok, f"status {status} {'is' if ok else 'is not'} {want}")


def evaluate(
    expect: Expect,
    *,
    status: int,
    text: str,
    duration: float,
    time_to_first_token: float | None,
    dimensions: int | None,
    chunks: ChunkClock | None = None,
    image: tuple[int, int] | None = None,
) -> tuple[Check, ...]:
    """Every configured check against a complete answer; ``text`` is the body or the reply."""
    checks = [status_check(expect, status)]
    if expect.contains is not None:
        found = expect.contains in text
        checks.append(
            Check("contains", found, f"{expect.contains!r} {'found' if found else 'not found'}")
        )
    if expect.regex is not None:
        checks.append(_regex(expect.regex, text))
    if expect.json_schema is not None:
        checks.append(_json_schema(expect.json_schema, text))
    if expect.max_duration is not None:
        ok = duration <= expect.max_duration
        checks.append(
            Check("max_duration", ok, f"duration {duration:.3f}s vs max {expect.max_duration:g}s")
        )
    if expect.max_time_to_first_token is not None:
        limit = expect.max_time_to_first_token
        if time_to_first_token is None:
            checks.append(Check("max_time_to_first_token", False, "no token was received"))
        else:
            ok = time_to_first_token <= limit
            detail = f"time to first token {time_to_first_token:.3f}s vs max {limit:g}s"
            checks.append(Check("max_time_to_first_token", ok, detail))
    if expect.dimensions is not None:
        ok = dimensions == expect.dimensions
        checks.append(
            Check("dimensions", ok, f"dimension {dimensions} vs expected {expect.dimensions}")
        )
    if expect.streaming and chunks is not None:
        checks.append(streaming_check(chunks))
    if expect.image is not None:
        want = "{}x{}".format(*expect.image)
        got = "{}x{}".format(*image) if image is not None else "no image"
        checks.append(Check("image", image == expect.image, f"image {got} vs expected {want}"))
    return tuple(checks)


def streaming_check(chunks: ChunkClock) -> Check:
    """The ``streaming`` check: the content must not arrive in one burst."""
    window = f"{BURST_WINDOW * 1000:g} ms"
    if chunks.buffered:
        detail = (
            f"content arrived in one burst: {chunks.burst} of {chunks.count} chunks within "
            f"{window} of the first (is a proxy buffering the stream?)"
        )
        return Check("streaming", False, detail)
    if chunks.count < BURST_MIN_CHUNKS:
        detail = (
            f"{chunks.count} content chunks, too few to tell (a burst needs {BURST_MIN_CHUNKS})"
        )
        return Check("streaming", True, detail)
    detail = f"{chunks.burst} of {chunks.count} chunks within {window} of the first"
    return Check("streaming", True, detail)


def _regex(pattern: str, text: str) -> Check:
    try:
        compiled = regexp.compile(pattern)
    except regexp.RegexpError as err:
        return Check("regex", False, f"invalid regex {pattern!r}: {err}")
    found = compiled.matches(text)
    return Check("regex", found, f"/{pattern}/ {'matches' if found else 'does not match'}")


def _json_schema(schema: dict[str, Any], text: str) -> Check:
    try:
        document = json.loads(text)
    except ValueError as err:
        return Check("json_schema", False, f"not JSON: {err}")
    error = jsonschema.exceptions.best_match(_validator(json.dumps(schema)).iter_errors(document))
    if error is None:
        return Check("json_schema", True, "matches the schema")
    where = "/".join(map(str, error.absolute_path)) or "(root)"
    return Check("json_schema", False, f"at {where}: {error.message[:200]}")


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> Validator:
    # Keyed by the schema's JSON text: targets hold dicts, which cannot be cache keys.
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    validator: Validator = cls(schema)
    return validator
