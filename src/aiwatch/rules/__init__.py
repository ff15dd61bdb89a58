"""Prometheus rule files: loading, alert state, templates, scheduling and unit tests."""
