"""``aiwatch mock-ai``: a simulated OpenAI-compatible endpoint for demos and tests."""

from aiwatch.mockai.app import MOCK, MockState, make_mock_app
from aiwatch.mockai.behavior import FAULTS, Behavior

__all__ = ["FAULTS", "MOCK", "Behavior", "MockState", "make_mock_app"]
