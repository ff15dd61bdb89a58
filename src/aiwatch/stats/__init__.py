"""Experiment statistics: pure functions from sufficient statistics to verdicts (no I/O)."""
