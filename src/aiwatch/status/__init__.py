"""The status page: uptime from durable hourly rollups, a 90-day bar, incidents, badges."""
