"""Alembic revision scripts, one per schema version, oldest first (loaded by path, not imported)."""
