"""Model clients: the protocol the orchestrator streams from, its adapters and the offline model."""
