"""Live events: incident, alert, target and probe changes as a server-sent-events stream."""
