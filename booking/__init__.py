"""booking: a flight-booking agent service over PostgreSQL."""

__version__ = "0.1.0"
