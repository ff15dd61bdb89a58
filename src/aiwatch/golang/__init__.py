"""Ports of the Go standard library parts whose exact behaviour Prometheus users see."""
