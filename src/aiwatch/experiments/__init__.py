"""Experiments in the running daemon: data from probes, observations and PromQL, analysed live."""
