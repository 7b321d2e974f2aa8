"""Persistence: SQLAlchemy models, engines and every query. Imports nothing from the domain."""
