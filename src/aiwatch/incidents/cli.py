"""``aiwatch incidents …`` and ``aiwatch silences …``: amtool-style clients of the HTTP API."""

import argparse
import base64
import getpass
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_URL = "http://127.0.0.1:9531"
PASSWORD_ENV = "AIWATCH_PASSWORD"


class ClientError(Exception):
    """The API could not be reached or answered with an error."""


def client_flags() -> argparse.ArgumentParser:
    """The flags every API client command shares: --url, --user, password, CA, output."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default=DEFAULT_URL, help="aiwatch's address (default %(default)s)"
    )
    common.add_argument("--user", default=None, help="basic-auth user")
    common.add_argument(
        "--password-file",
        default=None,
        metavar="FILE",
        help=f"file holding the user's password (default: ${PASSWORD_ENV})",
    )
    common.add_argument("--ca-file", default=None, metavar="FILE", help="CA to trust for https")
    common.add_argument(
        "-o", "--output", choices=["table", "json"], default="table", help="output format"
    )
    return common


def add_parsers(sub: Any) -> None:
    """Add ``incidents list|show|ack|resolve`` and ``silences list|add|expire``."""
    common = client_flags()
    incidents = sub.add_parser("incidents", help="list, show, acknowledge and resolve incidents")
    what = incidents.add_subparsers(dest="what", required=True, metavar="WHAT")
    listing = what.add_parser("list", parents=[common], help="incidents, newest first")
    listing.add_argument("matchers", nargs="*", metavar="MATCHER", help='e.g. target="x"')
    listing.add_argument("--state", default=None, help="firing, acknowledged, resolved or open")
    listing.add_argument("--severity", default=None, help="e.g. critical,warning")
    listing.add_argument("--limit", type=int, default=None, help="at most this many")
    listing.add_argument("--before", type=int, default=None, help="only ids below this (paging)")
    listing.set_defaults(func=cmd_list)
    show = what.add_parser("show", parents=[common], help="one incident and its timeline")
    show.add_argument("id", type=int, help="incident id")
    show.set_defaults(func=cmd_show)
    for name, action, text in (
        ("ack", "acknowledge", "take a firing incident"),
        ("resolve", "resolve", "close an open incident"),
    ):
        act = what.add_parser(name, parents=[common], help=text)
        act.add_argument("id", type=int, help="incident id")
        act.add_argument("-c", "--comment", default="", help="what you are doing about it")
        act.add_argument("--by", default=None, help="who acts (default: --user, else you)")
        act.set_defaults(func=cmd_act, action=action)

    silences = sub.add_parser("silences", help="list, add and expire silences")
    verb = silences.add_subparsers(dest="what", required=True, metavar="WHAT")
    slist = verb.add_parser("list", parents=[common], help="every silence and its state")
    slist.set_defaults(func=cmd_silences)
    add = verb.add_parser("add", parents=[common], help="mute incidents matching MATCHER…")
    add.add_argument("matchers", nargs="+", metavar="MATCHER", help='e.g. target="x"')
    add.add_argument("-d", "--duration", default="1h", help="how long (default %(default)s)")
    add.add_argument("--start", default=None, help="RFC 3339 start (default: now)")
    add.add_argument("-c", "--comment", default="", help="why")
    add.add_argument("-a", "--author", default=None, help="who (default: --user, else you)")
    add.set_defaults(func=cmd_add_silence)
    expire = verb.add_parser("expire", parents=[common], help="end silences now")
    expire.add_argument("ids", nargs="+", type=int, metavar="ID", help="silence ids")
    expire.set_defaults(func=cmd_expire)


def _password(args: argparse.Namespace) -> str:
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                return handle.read().rstrip("\r\n")
        except OSError as err:
            raise ClientError(
                f"cannot read --password-file {err.filename}: {err.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise ClientError(
                f"cannot read --password-file {args.password_file}: not UTF-8 text"
            ) from None
    return os.environ.get(PASSWORD_ENV, "")


def _os_user() -> str | None:
    """Who runs the command, amtool's default author; None when the system cannot say."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    """One API call; returns the envelope's ``data`` or raises ``ClientError``."""
    if urllib.parse.urlsplit(args.url).scheme not in ("http", "https") or "://" not in args.url:
        raise ClientError(f"--url {args.url!r} must start with http:// or https://")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        args.url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Accept": "application/json"},
    )
    if data is not None:
        request.add_header("Content-Type", "application/json")
    password = _password(args) if args.user else ""
    if args.user:
        token = base64.b64encode(f"{args.user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = _tls_context(args.ca_file) if args.ca_file else None
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            answer = response.read()
    except urllib.error.HTTPError as err:
        try:
            message = json.load(err).get("error", err.reason)
        except (ValueError, AttributeError):
            message = err.reason
        if err.code == 401 and not password:
            # The usual cause: a flag or the environment variable was forgotten.
            missing = "password given: use" if args.user else "credentials given: use --user with"
            message = f"{message}; no {missing} --password-file or ${PASSWORD_ENV}"
        raise ClientError(f"{err.code}: {message}") from None
    except urllib.error.URLError as err:
        reason = err.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise ClientError(f"cannot reach {args.url}: {text}") from None
    except (OSError, ValueError) as err:
        raise ClientError(f"cannot reach {args.url}: {err}") from None
    try:
        doc = json.loads(answer)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or "data" not in doc:
        # Something else answered (a web server, a proxy's page): say so, not a KeyError.
        msg = f"{args.url} did not answer with aiwatch's API (no JSON envelope); is --url right?"
        raise ClientError(msg)
    return doc["data"]


def _tls_context(ca_file: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except ssl.SSLError as err:
        raise ClientError(f"cannot use --ca-file {ca_file}: {err.reason or err}") from None
    except OSError as err:
        raise ClientError(f"cannot read --ca-file {ca_file}: {err.strerror}") from None


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def _short(ts: str | None) -> str:
    return "-" if ts is None else ts.replace("T", " ").removesuffix("Z")[:19]


def _labels(labels: dict[str, str], *, skip: tuple[str, ...] = ("alertname", "severity")) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in skip)


def render_list(incidents: list[dict[str, Any]]) -> str:
    """One line per incident; ``no incidents`` when there is none."""
    if not incidents:
        return "no incidents"
    rows = [
        [
            str(i["id"]),
            i["state"] + (" (silenced)" if i.get("silenced") else ""),
            i["severity"],
            i["alertname"],
            _short(i["started_at"]),
            i["acknowledged_by"] or "-",
            _labels(i["labels"]),
        ]
        for i in incidents
    ]
    return table(["ID", "STATE", "SEVERITY", "ALERT", "STARTED (UTC)", "ACK BY", "LABELS"], rows)


def render_show(incident: dict[str, Any]) -> str:
    """The incident's fields, then its timeline."""
    head = [
        f"incident {incident['id']}: {incident['alertname']} [{incident['severity']}] "
        f"{incident['state']}" + (" (silenced)" if incident.get("silenced") else ""),
        f"labels: {_labels(incident['labels'], skip=())}",
    ]
    head += [f"{k}: {v}" for k, v in sorted(incident["annotations"].items())]
    value = "-" if incident["value"] is None else incident["value"]
    head.append(f"value: {value}  started: {_short(incident['started_at'])}")
    if incident["previous_id"] is not None:
        head.append(f"previous incident: {incident['previous_id']}")
    rows = [
        [_short(e["at"]), e["event"], e["by"] or "-", e["detail"]] for e in incident["timeline"]
    ]
    return "\n".join(head) + "\n\n" + table(["AT (UTC)", "EVENT", "BY", "DETAIL"], rows)


def render_silences(silences: list[dict[str, Any]]) -> str:
    """One line per silence; ``no silences`` when there is none."""
    if not silences:
        return "no silences"
    rows = [
        [
            str(s["id"]),
            s["status"]["state"],
            " ".join(s["matchers"]),
            _short(s["startsAt"]),
            _short(s["endsAt"]),
            s["createdBy"],
            s["comment"],
        ]
        for s in silences
    ]
    return table(["ID", "STATE", "MATCHERS", "STARTS", "ENDS", "CREATED BY", "COMMENT"], rows)


def _run(args: argparse.Namespace, work: Callable[[], Any], render: Callable[[Any], str]) -> int:
    try:
        data = work()
    except ClientError as err:
        print(f"aiwatch {args.command}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2) if args.output == "json" else render(data))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``aiwatch incidents list [MATCHER…]``."""
    query: list[tuple[str, str]] = [("matcher", m) for m in args.matchers]
    for key in ("state", "severity", "limit", "before"):
        value = getattr(args, key)
        if value is not None:
            query.append((key, str(value)))
    path = "/api/v1/incidents" + ("?" + urllib.parse.urlencode(query) if query else "")
    return _run(args, lambda: call(args, "GET", path), render_list)


def cmd_show(args: argparse.Namespace) -> int:
    """``aiwatch incidents show ID``."""
    return _run(args, lambda: call(args, "GET", f"/api/v1/incidents/{args.id}"), render_show)


def cmd_act(args: argparse.Namespace) -> int:
    """``aiwatch incidents ack|resolve ID``."""
    body: dict[str, str] = {"comment": args.comment}
    by = args.by or args.user or _os_user()
    if by:
        body["by"] = by
    path = f"/api/v1/incidents/{args.id}/{args.action}"
    return _run(args, lambda: call(args, "POST", path, body), render_show)


def cmd_silences(args: argparse.Namespace) -> int:
    """``aiwatch silences list``."""
    return _run(args, lambda: call(args, "GET", "/api/v1/silences"), render_silences)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        msg = f"--start {text!r} is not an RFC 3339 time (e.g. 2026-11-29T10:00:00Z)"
        raise ValueError(msg) from None


def cmd_add_silence(args: argparse.Namespace) -> int:
    """``aiwatch silences add MATCHER… --duration 2h --comment …``."""
    from aiwatch.durations import parse_duration

    try:
        seconds = parse_duration(args.duration)
        if seconds <= 0:
            # amtool's check: a zero-length silence would be refused as ending in the past.
            msg = "silence duration must be greater than 0"
            raise ValueError(msg)
        start = _start(args.start) if args.start else datetime.now(UTC)
    except ValueError as err:
        print(f"aiwatch silences: {err}", file=sys.stderr)
        return 1
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    body: dict[str, Any] = {
        "matchers": list(args.matchers),
        "startsAt": _rfc3339(start),
        "endsAt": _rfc3339(start + timedelta(seconds=seconds)),
        "comment": args.comment,
    }
    author = args.author or args.user or _os_user()
    if author:
        body["createdBy"] = author
    return _run(
        args, lambda: call(args, "POST", "/api/v1/silences", body), lambda s: render_silences([s])
    )


def cmd_expire(args: argparse.Namespace) -> int:
    """``aiwatch silences expire ID…``: exit 1 if one was already expired, as amtool's.

    Each silence is still expired in turn; those already expired are named on stderr.
    """
    done: list[Any] = []
    try:
        already = {
            s["id"]: s["endsAt"]
            for s in call(args, "GET", "/api/v1/silences")
            if s["status"]["state"] == "expired" and s["id"] in args.ids
        }
        for silence_id in args.ids:
            if silence_id in already:
                continue
            done.append(call(args, "DELETE", f"/api/v1/silences/{silence_id}"))
    except ClientError as err:
        # Say which ones did expire before the failure, so nobody has to guess.
        if done:
            print(json.dumps(done, indent=2) if args.output == "json" else render_silences(done))
        print(f"aiwatch {args.command}: {err}", file=sys.stderr)
        return 1
    if done or not already:
        print(json.dumps(done, indent=2) if args.output == "json" else render_silences(done))
    for silence_id, ends in already.items():
        print(
            f"aiwatch {args.command}: silence {silence_id} was already expired "
            f"(ended {_short(ends)} UTC); nothing to do",
            file=sys.stderr,
        )
    return 1 if already else 0
