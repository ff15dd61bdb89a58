"""The pages: incidents, targets, experiments, alerts, rules and silences, served as HTML."""
