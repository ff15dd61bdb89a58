"""``aiwatch mock-ai``: a simulated AI endpoint (OpenAI, Anthropic, Gemini) for demos and tests."""

from aiwatch.mockai.app import make_mock_app
from aiwatch.mockai.behavior import FAULTS, Behavior
from aiwatch.mockai.exchange import MOCK, MockState

__all__ = ["FAULTS", "MOCK", "Behavior", "MockState", "make_mock_app"]
