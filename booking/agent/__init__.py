"""Orchestration: model streams, tool calls, events. Imports the domain, never fastapi."""
