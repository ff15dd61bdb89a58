"""The HTTP side of the daemon: app, routes, JSON envelope and access control."""
