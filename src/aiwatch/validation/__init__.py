"""``aiwatch validate``: a one-shot validation run of a suite's targets, for CI.

``plan`` turns a suite into calls (pure), ``runner`` makes them through the probes' own code
path within the budget, ``evaluate`` judges thresholds and non-inferiority (pure), ``report``
writes the table, JUnit XML and JSON, and ``cli`` is the command.
"""
