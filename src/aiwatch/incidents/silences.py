"""Silences: Alertmanager-style matchers over a time window; they mute, never hide, incidents."""

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aiwatch.incidents.lifecycle import rfc3339
from aiwatch.incidents.records import NotFound
from aiwatch.matchers import Matcher, matches_all, parse_matcher, restore_matcher

SilenceState = Literal["pending", "active", "expired"]
MAX_MATCHERS = 64
MAX_TEXT = 4096


class InvalidSilence(ValueError):
    """A silence request that cannot be accepted; the message names the field."""


@dataclass(frozen=True)
class Silence:
    """Mutes notifications of incidents whose labels match, from ``starts_at`` to ``ends_at``."""

    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    id: int = 0
    updated_at: float = 0.0

    def state(self, now: float) -> SilenceState:
        """Pending before its start, active inside its window, expired after it."""
        if now < self.starts_at:
            return "pending"
        if now < self.ends_at:
            return "active"
        return "expired"

    def mutes(self, labels: Mapping[str, str], *, now: float) -> bool:
        """Whether this silence is active and matches ``labels``."""
        return self.state(now) == "active" and matches_all(self.matchers, labels)

    def to_json(self, *, now: float) -> dict[str, Any]:
        """The silence in the API (Alertmanager's field names)."""
        return {
            "id": self.id,
            "matchers": [str(m) for m in self.matchers],
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
            "updatedAt": rfc3339(self.updated_at),
            "status": {"state": self.state(now)},
        }


def parse_time(value: Any, *, field: str) -> float:
    """An RFC 3339 timestamp (``Z`` or an offset) to Unix seconds; names ``field`` if bad."""
    if not isinstance(value, str):
        msg = f"{field} must be an RFC 3339 timestamp string, got {type(value).__name__}"
        raise InvalidSilence(msg)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        msg = f"{field} {value!r} is not an RFC 3339 timestamp (e.g. 2026-11-29T10:00:00Z)"
        raise InvalidSilence(msg) from None
    if moment.tzinfo is None:
        msg = f"{field} {value!r} has no time zone (add Z or an offset)"
        raise InvalidSilence(msg)
    return moment.timestamp()


def _matcher(item: Any, index: int) -> Matcher:
    if isinstance(item, str):
        try:
            return parse_matcher(item)
        except ValueError as err:
            raise InvalidSilence(f"matchers[{index}]: {err}") from None
    if isinstance(item, dict):
        # Alertmanager's object form: {"name", "value", "isRegex", "isEqual"}.
        name, value = item.get("name"), item.get("value")
        regex, equal = item.get("isRegex", False), item.get("isEqual", True)
        if not isinstance(name, str) or not isinstance(value, str):
            msg = f"matchers[{index}]: name and value must be strings"
            raise InvalidSilence(msg)
        if not isinstance(regex, bool) or not isinstance(equal, bool):
            msg = f"matchers[{index}]: isRegex and isEqual must be booleans"
            raise InvalidSilence(msg)
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        text = f"{name}{op[regex, equal]}{json.dumps(value)}"
        try:
            return parse_matcher(text)
        except ValueError as err:
            raise InvalidSilence(f"matchers[{index}]: {err}") from None
    msg = f'matchers[{index}] must be a string like severity="critical" or an object'
    raise InvalidSilence(msg)


def _text(body: Mapping[str, Any], key: str, default: str | None) -> str:
    value = body.get(key, default)
    if value is None:
        msg = f"{key} is required"
        raise InvalidSilence(msg)
    if not isinstance(value, str):
        msg = f"{key} must be a string, got {type(value).__name__}"
        raise InvalidSilence(msg)
    if len(value) > MAX_TEXT:
        msg = f"{key} is longer than {MAX_TEXT} characters"
        raise InvalidSilence(msg)
    return value


def parse_silence(body: Any, *, now: float, user: str | None) -> Silence:
    """A new silence from a request body; ``InvalidSilence`` names the first problem."""
    if not isinstance(body, dict):
        msg = "body must be a JSON object with matchers, endsAt and comment"
        raise InvalidSilence(msg)
    unknown = set(body) - {"matchers", "startsAt", "endsAt", "createdBy", "comment", "id"}
    if unknown:
        msg = f"unknown field(s): {', '.join(sorted(unknown))}"
        raise InvalidSilence(msg)
    raw = body.get("matchers")
    if not isinstance(raw, list) or not raw:
        msg = "matchers must be a non-empty list of matchers"
        raise InvalidSilence(msg)
    if len(raw) > MAX_MATCHERS:
        msg = f"at most {MAX_MATCHERS} matchers"
        raise InvalidSilence(msg)
    matchers = tuple(_matcher(item, i) for i, item in enumerate(raw))
    if all(m.matches({}) for m in matchers):
        msg = "matchers match every alert (at least one must not match an empty label)"
        raise InvalidSilence(msg)
    starts = parse_time(body["startsAt"], field="startsAt") if "startsAt" in body else now
    if "endsAt" not in body:
        msg = "endsAt is required"
        raise InvalidSilence(msg)
    ends = parse_time(body["endsAt"], field="endsAt")
    if ends <= now:
        msg = "endsAt is in the past"
        raise InvalidSilence(msg)
    if ends <= starts:
        msg = "endsAt must be after startsAt"
        raise InvalidSilence(msg)
    created_by = _text(body, "createdBy", user)
    if not created_by.strip():
        msg = "createdBy must not be empty"
        raise InvalidSilence(msg)
    comment = _text(body, "comment", "")
    return Silence(
        matchers=matchers,
        starts_at=starts,
        ends_at=ends,
        created_by=created_by,
        comment=comment,
        updated_at=now,
    )


_COLUMNS = "id, matchers, starts_at, ends_at, created_by, comment, updated_at"


def _silence(row: Sequence[Any]) -> Silence:
    return Silence(
        id=row[0],
        matchers=tuple(restore_matcher(m) for m in json.loads(row[1])),
        starts_at=row[2],
        ends_at=row[3],
        created_by=row[4],
        comment=row[5],
        updated_at=row[6],
    )


def insert(conn: sqlite3.Connection, silence: Silence) -> Silence:
    """Store a new silence; returns it with its id."""
    cursor = conn.execute(
        "INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            json.dumps([str(m) for m in silence.matchers]),
            silence.starts_at,
            silence.ends_at,
            silence.created_by,
            silence.comment,
            silence.updated_at,
            silence.updated_at,
        ),
    )
    return get(conn, int(cursor.lastrowid or 0))


def get(conn: sqlite3.Connection, silence_id: int) -> Silence:
    """One silence; ``NotFound`` when there is none."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM silences WHERE id = ?", (silence_id,)).fetchone()
    if row is None:
        msg = f"no silence with id {silence_id}"
        raise NotFound(msg)
    return _silence(row)


def expire(conn: sqlite3.Connection, silence_id: int, *, now: float) -> Silence:
    """End a silence now (a pending one never starts); expiring an expired one is a no-op."""
    silence = get(conn, silence_id)
    if silence.state(now) == "expired":
        return silence
    starts = min(silence.starts_at, now)
    conn.execute(
        "UPDATE silences SET starts_at = ?, ends_at = ?, updated_at = ? WHERE id = ?",
        (starts, now, now, silence_id),
    )
    return get(conn, silence_id)


def can_update(old: Silence, new: Silence, *, now: float) -> bool:
    """Whether ``new`` may replace ``old`` in place, keeping its id (Alertmanager's rule):
    the same matchers, and an active one keeps its start and does not end in the past, a
    pending one does not start in the past; an expired one is never changed."""
    if [str(m) for m in old.matchers] != [str(m) for m in new.matchers]:
        return False
    state = old.state(now)
    if state == "active":
        return abs(new.starts_at - old.starts_at) < 0.001 and new.ends_at >= now
    if state == "pending":
        return new.starts_at >= now
    return False


def update(conn: sqlite3.Connection, silence_id: int, new: Silence, *, now: float) -> Silence:
    """Change a silence in place: its window, author and comment."""
    conn.execute(
        "UPDATE silences SET starts_at = ?, ends_at = ?, created_by = ?, comment = ?, "
        "updated_at = ? WHERE id = ?",
        (new.starts_at, new.ends_at, new.created_by, new.comment, now, silence_id),
    )
    return get(conn, silence_id)


def listing(conn: sqlite3.Connection) -> list[Silence]:
    """Every silence, newest first."""
    return [_silence(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM silences ORDER BY id DESC")]


def active(conn: sqlite3.Connection, *, now: float) -> list[Silence]:
    """The silences in force at ``now``."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM silences WHERE starts_at <= ? AND ends_at > ?", (now, now)
    )
    return [_silence(r) for r in rows]
