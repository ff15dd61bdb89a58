"""``aiwatch experiments``: list and show as tables (or JSON); create, start, pause, stop,
switch, validate and delete over the API; the release verdict."""

import argparse
import json
import sys
import urllib.parse
from collections.abc import Callable
from typing import Any

import yaml

from aiwatch.incidents.cli import ClientError, call, client_flags, table

CHANGES = ("start", "pause", "stop", "switch")


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``experiments list`` and ``experiments show NAME`` to the command line."""
    # The same client flags as ``aiwatch incidents``, whose HTTP client this reuses.
    common = client_flags()
    experiments = sub.add_parser("experiments", help="list and show experiments")
    what = experiments.add_subparsers(dest="what", required=True, metavar="WHAT")
    listing = what.add_parser("list", parents=[common], help="every experiment and its verdict")
    listing.set_defaults(func=cmd_list)
    show = what.add_parser("show", parents=[common], help="one experiment's results per arm")
    show.add_argument("name", metavar="NAME", help="experiment name")
    show.set_defaults(func=cmd_show)
    create = what.add_parser(
        "create", parents=[common], help="create the experiments of a YAML file (drafts)"
    )
    create.add_argument("file", metavar="FILE.yml", help="one experiment, or experiments: [...]")
    create.set_defaults(func=cmd_create)
    for change in CHANGES:
        move = what.add_parser(change, parents=[common], help=f"{change} an experiment")
        move.add_argument("name", metavar="NAME", help="experiment name")
        move.set_defaults(func=cmd_change, change=change)
    delete = what.add_parser(
        "delete", parents=[common], help="delete a draft or stopped API-defined experiment"
    )
    delete.add_argument("name", metavar="NAME", help="experiment name")
    delete.set_defaults(func=cmd_delete)
    verdict = what.add_parser(
        "verdict", parents=[common], help="a canary or blue-green experiment's verdict"
    )
    verdict.add_argument("name", metavar="NAME", help="experiment name")
    verdict.set_defaults(func=cmd_verdict)
    validate = what.add_parser(
        "validate", parents=[common], help="run a blue-green experiment's suite against green"
    )
    validate.add_argument("name", metavar="NAME", help="experiment name")
    validate.set_defaults(func=cmd_validate)


def _num(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if value != 0 and abs(value) < 10 ** -(digits - 1):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def _verdict(doc: dict[str, Any]) -> str:
    verdict = doc["verdict"]
    if verdict["winner"]:
        return f"winner: {verdict['winner']} ({verdict['reason']})"
    return str(verdict["reason"])


def render_list(docs: list[dict[str, Any]]) -> str:
    """One line per experiment."""
    rows = [
        [
            d["name"],
            d["state"],
            d["method"],
            str(len({r["variant"] for r in d["results"]})),
            "yes" if d["srm"] else "no",
            _verdict(d),
        ]
        for d in docs
    ]
    return table(["NAME", "STATE", "METHOD", "VARIANTS", "SRM", "VERDICT"], rows)


def render_show(doc: dict[str, Any]) -> str:
    """The experiment's header and one line per variant and metric."""
    bayesian = doc["method"] == "bayesian"
    head = [
        f"{doc['name']}: {doc['state']}, {doc['method']}, {doc['difference']} difference, "
        f"correction {doc['correction']}, control {doc.get('control', '?')}",
    ]
    if doc.get("hypothesis"):
        head.append(f"hypothesis: {doc['hypothesis']}")
    mismatch = "MISMATCH" if doc["srm"] else "ok"
    head.append(f"sample ratio: p = {_num(doc['srm_p_value'])} ({mismatch})")
    head.append(f"verdict: {_verdict(doc)}")
    header = ["METRIC", "VARIANT", "N", "MEAN", "LIFT", "CI"]
    header += ["CHANCE TO WIN"] if bayesian else ["P-VALUE", "ADJUSTED P"]
    header += ["SIGNIFICANT", "GUARD"]
    rows = []
    for r in doc["results"]:
        ci = f"[{_num(r['ci'][0])}, {_num(r['ci'][1])}]" if r["ci"] else "-"
        row = [r["metric"], r["variant"], str(r["n"]), _num(r["mean"]), _num(r["lift"]), ci]
        if bayesian:
            row.append(_num(r["chance_to_win"]))
        else:
            row += [_num(r["p_value"]), _num(r["adjusted_p_value"])]
        row += ["yes" if r["significant"] else "no", r["guard"] or "-"]
        rows.append(row)
    return "\n".join(head) + "\n\n" + table(header, rows)


def _run(
    args: argparse.Namespace, path: str, render: Callable[[Any], str], *, method: str = "GET"
) -> int:
    try:
        data = call(args, method, path)
    except ClientError as err:
        print(f"aiwatch experiments: {err}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2) if args.output == "json" else render(data))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``aiwatch experiments list``."""
    return _run(args, "/api/v1/experiments", render_list)


def cmd_show(args: argparse.Namespace) -> int:
    """``aiwatch experiments show NAME``."""
    name = urllib.parse.quote(args.name, safe="")
    return _run(args, f"/api/v1/experiments/{name}", render_show)


def _path(name: str, suffix: str = "") -> str:
    return f"/api/v1/experiments/{urllib.parse.quote(name, safe='')}{suffix}"


def _documents(path: str) -> list[Any]:
    """The experiment documents of a YAML file: one mapping, or ``experiments:`` a list."""
    with open(path, encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh)
    if isinstance(loaded, dict) and isinstance(loaded.get("experiments"), list):
        return list(loaded["experiments"])
    return [loaded]


def cmd_create(args: argparse.Namespace) -> int:
    """``aiwatch experiments create FILE.yml``: exit 1 at the first one refused."""
    try:
        documents = _documents(args.file)
    except (OSError, yaml.YAMLError) as err:
        print(f"aiwatch experiments: cannot read {args.file}: {err}", file=sys.stderr)
        return 1
    for document in documents:
        try:
            data = call(args, "POST", "/api/v1/experiments", document)
        except ClientError as err:
            print(f"aiwatch experiments: {err}", file=sys.stderr)
            return 1
        if args.output == "json":
            print(json.dumps(data, indent=2))
        else:
            print(f"created {data['name']} ({data['type']}, {data['state']})")
    return 0


def cmd_change(args: argparse.Namespace) -> int:
    """``aiwatch experiments start|pause|stop|switch NAME``."""
    return _run(args, _path(args.name, "/" + args.change), _moved, method="POST")


def _moved(doc: dict[str, Any]) -> str:
    return f"{doc['name']}: {doc['state']}"


def cmd_delete(args: argparse.Namespace) -> int:
    """``aiwatch experiments delete NAME``."""

    def render(doc: dict[str, Any]) -> str:
        return f"deleted {doc['name']} (archive #{doc['archived']})"

    return _run(args, _path(args.name), render, method="DELETE")


def render_verdict(doc: dict[str, Any]) -> str:
    """The overall verdict, then one line per metric."""
    head = f"{doc['name']}: {doc['verdict']} ({doc['phase']}): {doc['reason']}"
    rows = [
        [m["metric"], m["verdict"], f"{m['n']['baseline']}/{m['n']['candidate']}", m["reason"]]
        for m in doc["metrics"]
    ]
    return head + "\n\n" + table(["METRIC", "VERDICT", "N", "REASON"], rows)


def cmd_verdict(args: argparse.Namespace) -> int:
    """``aiwatch experiments verdict NAME``."""
    return _run(args, _path(args.name, "/verdict"), render_verdict)


def cmd_validate(args: argparse.Namespace) -> int:
    """``aiwatch experiments validate NAME``: start the suite; its result shows in the verdict."""

    def render(doc: dict[str, Any]) -> str:
        return f"{args.name}: validation suite {doc['suite']} {doc['status']}"

    return _run(args, _path(args.name, "/validate"), render, method="POST")
