"""Prometheus metrics, in a registry per app (tests build several apps in one process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.turns = Counter(
            "booking_turns_total", "Turns by final status.", ["status"], registry=r
        )
        self.rejected_turns = Counter(
            "booking_turns_rejected_total", "Turns refused at capacity (503).", registry=r
        )
        self.active_turns = Gauge("booking_active_turns", "Turns running now.", registry=r)
        self.active_streams = Gauge("booking_active_streams", "Open SSE streams.", registry=r)
        self.tool_calls = Counter(
            "booking_tool_calls_total", "Tool calls by outcome.", ["tool", "outcome"], registry=r
        )
        self.tool_latency = Histogram(
            "booking_tool_latency_seconds", "Tool call duration.", ["tool"], registry=r
        )
        self.ttft = Histogram(
            "booking_model_ttft_seconds", "Model time to first chunk.", registry=r
        )
        self.upstream_errors = Counter(
            "booking_upstream_errors_total",
            "Model provider failures by kind.",
            ["code"],
            registry=r,
        )
