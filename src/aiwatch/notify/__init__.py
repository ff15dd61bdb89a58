"""Whom to tell: routes, messages, the durable outbox, Apprise delivery and forwarding."""
