"""Alertmanager's API v2 over aiwatch's incidents and silences (amtool, Grafana)."""
