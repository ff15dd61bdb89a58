"""What aiwatch keeps on disk: the SQLite file every feature adds its tables to."""
