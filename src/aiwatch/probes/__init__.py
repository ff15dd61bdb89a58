"""Probes: measure AI endpoints the way a careful user calls them."""

from aiwatch.probes.result import ERROR_TYPES, Check, ErrorType, ProbeResult
from aiwatch.probes.run import make_session, run_probe

__all__ = ["ERROR_TYPES", "Check", "ErrorType", "ProbeResult", "make_session", "run_probe"]
