"""The ``aiwatch`` command line: one console script, Prometheus-style flags."""

import argparse
import json
import os
import platform
import sys
from collections.abc import Sequence

from aiwatch import __version__
from aiwatch.cliargs import (
    http_url_arg,
    positive_int_arg,
    positive_seconds_arg,
    seconds_arg,
    shard_arg,
)
from aiwatch.logs import setup_logging

# Exit codes: 0 success, 1 invalid input or failed check, 2 usage error (argparse).


def _listen_address(text: str) -> str:
    from aiwatch.app.serve import parse_listen_address

    try:
        parse_listen_address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _add_web_flags(run: argparse.ArgumentParser) -> None:
    """The connection limits, with Prometheus' names where it has them."""
    run.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=positive_int_arg,
        default=512,
        metavar="N",
        help="maximum number of simultaneous connections; when full, a new one replaces the "
        "oldest that is idle or still sending headers (default %(default)s)",
    )
    run.add_argument(
        "--web.read-header-timeout",
        dest="read_header_timeout",
        type=positive_seconds_arg,
        default=10.0,
        metavar="DURATION",
        help="time a client has to send a request's headers (default 10s)",
    )
    run.add_argument(
        "--web.read-timeout",
        dest="read_timeout",
        type=positive_seconds_arg,
        default=60.0,
        metavar="DURATION",
        help="time a client has to send a request's body after its headers, and how long an "
        "idle connection stays open (default 1m)",
    )
    run.add_argument(
        "--web.external-url",
        dest="external_url",
        type=http_url_arg,
        default="",
        metavar="URL",
        help="the URL people reach aiwatch at, a path behind a proxy (replaces web.external_url)",
    )


def cmd_run(args: argparse.Namespace) -> int:
    """``aiwatch run``: the daemon."""
    from aiwatch.trim import tune_allocator

    tune_allocator()  # before the daemon allocates: see aiwatch.trim
    from aiwatch.app.serve import run
    from aiwatch.promql.limits import QueryLimits
    from aiwatch.runtime import Options
    from aiwatch.web.tls import ssl_context_factory

    setup_logging(level=args.log_level, fmt=args.log_format)
    options = Options(
        config_file=args.config_file,
        listen_address=args.listen_address,
        web_config_file=args.web_config_file,
        storage_path=args.storage_path,
        shard=args.shard,
        max_connections=args.max_connections,
        read_header_timeout=args.read_header_timeout,
        read_timeout=args.read_timeout,
        external_url=args.external_url,
        query_limits=QueryLimits(
            timeout_s=args.query_timeout,
            max_samples=args.query_max_samples,
            max_concurrency=args.query_max_concurrency,
        ),
    )
    return run(options, ssl_context_factory=ssl_context_factory(options.web_config_file))


def cmd_check_config(args: argparse.Namespace) -> int:
    """``aiwatch check config FILE…``: SUCCESS per valid file (and its WARNING lines), every
    problem otherwise."""
    from aiwatch.config import ConfigError, check_config

    status = 0
    for path in args.files:
        try:
            config, warnings = check_config(path)
        except ConfigError as err:
            print(f"FAILED: {path}", file=sys.stderr)
            for problem in err.problems:
                print(problem, file=sys.stderr)
            status = 1
            continue
        counts = (
            plural(len(config.targets), "target"),
            plural(len(config.rule_files), "rule file pattern"),
            plural(len(config.experiments), "experiment"),
        )
        print(f"SUCCESS: {path} is valid ({', '.join(counts)})")
        for warning in warnings:
            print(f"WARNING: {warning}")
    return status


def plural(count: int, noun: str) -> str:
    """``1 target``, ``2 targets``, ``0 targets``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def version_text() -> str:
    """What ``aiwatch --version`` prints: the version and what this copy runs on."""
    return "\n".join(
        [
            f"aiwatch, version {__version__}",
            f"  python version:  {platform.python_version()} ({platform.python_implementation()})",
            f"  platform:        {sys.platform}/{platform.machine() or 'unknown'}",
        ]
    )


def cmd_version(_: argparse.Namespace) -> int:
    """``aiwatch version``: the same as ``aiwatch --version``."""
    print(version_text())
    return 0


class _VersionAction(argparse.Action):
    """``--version`` printing :func:`version_text` as is (argparse's own re-wraps lines)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_text())
        parser.exit()


def cmd_help(args: argparse.Namespace) -> int:
    """``aiwatch help [COMMAND…]``: the help of the command, as ``COMMAND --help`` prints it."""
    parser: argparse.ArgumentParser = args.root_parser
    for name in args.topic:
        children = _children(parser)
        if name not in children:
            known = ", ".join(sorted(children)) or "none"
            print(
                f"aiwatch help: no command {name!r} under {parser.prog!r} (commands: {known})",
                file=sys.stderr,
            )
            return 2
        parser = children[name]
    parser.print_help()
    return 0


def _children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    # argparse has no public way to walk the command tree: its private names are stable.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cmd_schema(_: argparse.Namespace) -> int:
    """``aiwatch schema``: the config JSON Schema."""
    from aiwatch.config import schema

    print(json.dumps(schema(), indent=2))
    return 0


def cmd_check_rules(args: argparse.Namespace) -> int:
    """``aiwatch check rules FILE…``: promtool's report per rule file."""
    from aiwatch.rules.files import check_rules

    return check_rules(list(args.files))


def cmd_test_rules(args: argparse.Namespace) -> int:
    """``aiwatch test rules TEST.yml…``: rule unit tests in the promtool format."""
    from aiwatch.rules.unittest import test_rules

    return test_rules(list(args.files))


def cmd_demo(args: argparse.Namespace) -> int:
    """``aiwatch demo``: mock endpoint, daemon, a scripted incident and an experiment."""
    from aiwatch.demo import run_demo

    setup_logging(level="warn", fmt="logfmt")
    return run_demo(
        listen_address=args.listen_address,
        duration=args.duration,
        degrade_after=args.degrade_after,
    )


def cmd_mock_ai(args: argparse.Namespace) -> int:
    """``aiwatch mock-ai``: serve the simulated OpenAI-compatible endpoint until interrupted."""
    import asyncio

    from aiwatch.mockai.serve import ListenError, load_script, serve, split_address

    try:
        split_address(args.listen_address)
        script = load_script(args.script) if args.script else {}
    except OSError as err:
        print(f"mock-ai: cannot read --script {args.script}: {err.strerror}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"mock-ai: {err}", file=sys.stderr)
        return 1
    if args.seed is not None:
        script["seed"] = args.seed
    try:
        asyncio.run(serve(address=args.listen_address, script=script))
    except ListenError as err:
        print(f"mock-ai: {err}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; each command sets ``func``."""
    parser = argparse.ArgumentParser(
        prog="aiwatch",
        description="Prometheus-native exporter and alerting sidecar for AI endpoints.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="show version and build information"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the daemon",
        description="Run the daemon: probe the configured targets, expose /metrics, evaluate "
        "the rules into incidents and notify about them, serve the HTTP API. Stops on SIGTERM "
        "or Ctrl-C; SIGHUP or POST /-/reload reloads the config file.",
    )
    run.add_argument(
        "--config.file",
        dest="config_file",
        default="config/aiwatch.yml",
        help="config file (default %(default)s)",
    )
    run.add_argument(
        "--web.listen-address",
        dest="listen_address",
        type=_listen_address,
        default=":9531",
        help="address to serve on (default %(default)s)",
    )
    run.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default=None,
        help="TLS and basic-auth config in the exporter-toolkit format",
    )
    _add_web_flags(run)
    run.add_argument(
        "--storage.path",
        dest="storage_path",
        default="",
        help="directory for the incident store and alert state "
        "(default: storage.path of the config, else data/)",
    )
    run.add_argument(
        "--shard",
        type=shard_arg,
        default=(0, 1),
        metavar="i/n",
        help="probe only targets whose name hashes to shard i of n",
    )
    _add_query_flags(run)
    run.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "error"],
        help="only log messages at this level or above (default %(default)s)",
    )
    run.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=["logfmt", "json"],
        help="log line format (default %(default)s)",
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate config or rule files")
    check_sub = check.add_subparsers(dest="what", required=True, metavar="WHAT")
    check_config = check_sub.add_parser("config", help="validate config files")
    check_config.add_argument(
        "files", nargs="+", metavar="FILE", help="config files; the rule files they name too"
    )
    check_config.set_defaults(func=cmd_check_config)
    check_rules = check_sub.add_parser("rules", help="validate Prometheus rule files")
    check_rules.add_argument("files", nargs="+", metavar="FILE", help="Prometheus rule files")
    check_rules.set_defaults(func=cmd_check_rules)

    test = sub.add_parser("test", help="run rule unit tests")
    test_sub = test.add_subparsers(dest="what", required=True, metavar="WHAT")
    test_rules = test_sub.add_parser("rules", help="rule unit tests in the promtool format")
    test_rules.add_argument(
        "files", nargs="+", metavar="TEST_FILE", help="test files in the promtool test rules format"
    )
    test_rules.set_defaults(func=cmd_test_rules)

    schema = sub.add_parser("schema", help="print the config JSON Schema")
    schema.set_defaults(func=cmd_schema)

    mock_ai = sub.add_parser("mock-ai", help="serve a simulated OpenAI-compatible endpoint")
    mock_ai.add_argument(
        "--listen-address",
        "--web.listen-address",
        dest="listen_address",
        type=_listen_address,
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="where to serve; port 0 picks a free one (default %(default)s)",
    )
    mock_ai.add_argument(
        "--script", default=None, metavar="FILE", help="YAML/JSON behaviours: default, models, seed"
    )
    mock_ai.add_argument(
        "--seed", type=int, default=None, help="seed of the error_rate and latency_jitter RNG"
    )
    mock_ai.set_defaults(func=cmd_mock_ai)

    demo = sub.add_parser(
        "demo", help="run a mock AI endpoint and the daemon with a scripted incident"
    )
    demo.add_argument(
        "--web.listen-address",
        dest="listen_address",
        type=_listen_address,
        default="127.0.0.1:9531",
        metavar="HOST:PORT",
        help="where the demo daemon serves; port 0 picks a free one (default %(default)s)",
    )
    demo.add_argument(
        "--duration",
        type=positive_seconds_arg,
        default=None,
        help="stop after this long (default: Ctrl-C)",
    )
    demo.add_argument(
        "--degrade-after",
        type=seconds_arg,
        default=30.0,
        metavar="DURATION",
        help="when the scripted outage starts (default 30s); it ends 25s later",
    )
    demo.set_defaults(func=cmd_demo)

    from aiwatch.experiments.cli import add_parser as add_experiments

    add_experiments(sub)
    from aiwatch.incidents.cli import add_parsers as add_incidents

    add_incidents(sub)
    from aiwatch.validation.cli import add_parser as add_validate

    add_validate(sub)
    version = sub.add_parser("version", help="print version and build information")
    version.set_defaults(func=cmd_version)
    help_ = sub.add_parser("help", help="show the help of aiwatch or of a command")
    help_.add_argument("topic", nargs="*", metavar="COMMAND", help="e.g. run, or check config")
    help_.set_defaults(func=cmd_help, root_parser=parser)
    _describe_commands(parser)
    _remember_parser(parser)
    return parser


def _add_query_flags(run: argparse.ArgumentParser) -> None:
    """Prometheus' query limits, with its flag names."""
    run.add_argument(
        "--query.timeout",
        dest="query_timeout",
        type=positive_seconds_arg,
        default=30.0,
        metavar="DURATION",
        help="maximum time a query (API or rule) may take before it is aborted (default 30s)",
    )
    run.add_argument(
        "--query.max-samples",
        dest="query_max_samples",
        type=positive_int_arg,
        default=5_000_000,
        metavar="N",
        help="maximum number of samples a single query can load (default %(default)s)",
    )
    run.add_argument(
        "--query.max-concurrency",
        dest="query_max_concurrency",
        type=positive_int_arg,
        default=4,
        metavar="N",
        help="maximum number of API queries evaluated at once; rules have one more worker "
        "of their own (default %(default)s)",
    )


def _describe_commands(parser: argparse.ArgumentParser) -> None:
    """A command without its own description shows its one-line help under ``--help``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                if not child.description and helps.get(name):
                    text = str(helps[name])
                    child.description = text[0].upper() + text[1:] + "."
                _describe_commands(child)


def _remember_parser(parser: argparse.ArgumentParser) -> None:
    """Each (sub)command records its parser, so a stray flag is reported with its usage.

    argparse reports arguments no subcommand knows with the top-level usage
    (``usage: aiwatch [-h] [--version] COMMAND ...``), which shows none of the flags of
    ``aiwatch run``; the innermost command parsed overrides the outer ones' default.
    """
    parser.set_defaults(command_parser=parser)
    # argparse has no public way to walk the command tree: its private names are stable.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _remember_parser(child)


# What a shell reports for a program killed by SIGPIPE, as promtool or amtool are in a pipe
# whose reader has gone; Python ignores SIGPIPE (its sockets need that), so it is said here.
EXIT_BROKEN_PIPE = 128 + 13


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # ``aiwatch … | head``: stop quietly. Point stdout at /dev/null so that the flush at
        # interpreter exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code
