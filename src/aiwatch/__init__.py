"""aiwatch: a Prometheus-native exporter and alerting sidecar for AI endpoints."""

__version__ = "0.1.0"
