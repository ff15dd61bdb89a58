"""Incidents: what aiwatch remembers about alerts, and what people do about them."""
