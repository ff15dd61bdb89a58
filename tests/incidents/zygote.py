"""Imports aiwatch once, then forks ``aiwatch run`` children on request (fast restarts).

Reads lines ``ARG…`` (JSON list) on stdin; forks a child that runs ``aiwatch.cli.main(args)``
and prints the child's pid. Children are reaped automatically. Used by the SIGKILL test,
where twenty cold starts would spend most of the time importing.
"""

import json
import os
import signal
import sys

import aiwatch.app.serve  # noqa: F401 - imported here once, not in every child
from aiwatch.cli import main

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel


def serve() -> None:
    """Fork one ``aiwatch`` child per stdin line until stdin closes."""
    for line in sys.stdin:
        args = json.loads(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            code = main(args)
            sys.stdout.flush()
            os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    serve()
