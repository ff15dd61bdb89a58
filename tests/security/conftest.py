"""Fixtures for the hardening tests: the full daemon app on a real port (shared with the
incident tests) and its pieces."""

from tests.incidents.conftest import serve

__all__ = ["serve"]
