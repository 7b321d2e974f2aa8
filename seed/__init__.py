"""Seeding and the demo script."""
