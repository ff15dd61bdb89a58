"""Run the ``aiwatch`` command line as a user would: a real ``python -m aiwatch`` process."""

import os
import subprocess
import sys
from pathlib import Path


def aiwatch_argv(*args: str) -> list[str]:
    """The argv that runs ``aiwatch ARGS…`` with this interpreter."""
    return [sys.executable, "-m", "aiwatch", *args]


def run_argv(config: Path, listen: str, storage: Path, *extra: str) -> list[str]:
    """The argv of ``aiwatch run`` with its config file, listen address and storage path."""
    return aiwatch_argv(
        "run",
        "--config.file",
        str(config),
        "--web.listen-address",
        listen,
        "--storage.path",
        str(storage),
        *extra,
    )


def run_cli(
    argv: list[str], *, timeout: float = 60.0, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion (in ``cwd``); exit code, stdout and stderr as text (never
    raises on exit)."""
    env = None
    if cwd is not None:
        # A relative PYTHONPATH (``src``) must keep naming this checkout from another folder.
        env = dict(os.environ)
        paths = env.get("PYTHONPATH", "").split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in paths if p)
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
    )


def aiwatch(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``aiwatch ARGS…`` to completion and capture its output."""
    return run_cli(aiwatch_argv(*args), timeout=timeout)


def run_once(
    config: Path, storage: Path, *extra: str, listen: str = "127.0.0.1:0", timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run ``aiwatch run`` to completion (for start-up errors) and capture its output."""
    return run_cli(run_argv(config, listen, storage, *extra), timeout=timeout)
