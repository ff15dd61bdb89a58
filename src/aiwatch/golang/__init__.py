"""Go conformance layer: ports of the Go standard library whose exact behaviour Prometheus exposes.

Prometheus is written in Go, and promtool and Alertmanager are the oracles aiwatch is tested
against; these modules reproduce Go's number formatting, math, regular expressions and
text/template bit for bit.
"""
