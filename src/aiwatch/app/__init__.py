"""The composition root: the daemon's keys, start-up errors, construction and lifecycle."""
