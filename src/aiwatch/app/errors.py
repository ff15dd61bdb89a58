"""Errors that stop the daemon before it serves: one log line and exit code 1, no traceback."""


class StartupError(Exception):
    """A resource could not start (a port in use, a database that cannot be opened)."""
