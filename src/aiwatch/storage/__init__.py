"""Storage shared by features: the single-writer SQLite database."""
