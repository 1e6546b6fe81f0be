"""Durable storage in SQLite: one writer thread, schema and migrations, named queries."""
