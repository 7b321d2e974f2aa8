"""Hand-kept reference facts: cities and their spellings, airlines, routes, weather conditions.

Product code (the offline model, the CLI) and the seeder read them from here; nothing in
``booking`` imports ``seed``.
"""

from booking.reference.network import Network, Route, load_network

__all__ = ["Network", "Route", "load_network"]
