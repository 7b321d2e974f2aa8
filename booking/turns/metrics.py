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
        # The event writer (booking.turns.writer): /readyz fails while it is unhealthy.
        self.writer_healthy = Gauge(
            "booking_event_writer_healthy",
            "1 while the event writer stores parts; 0 once writes failed or waited too long.",
            registry=r,
        )
        self.writer_failures = Counter(
            "booking_event_writer_failures_total",
            "Event writes that failed and are retried (database down, lock, grant).",
            registry=r,
        )
        self.writer_lost_turns = Counter(
            "booking_event_writer_lost_turns_total",
            "Turns whose parts the writer stopped storing, by reason.",
            ["reason"],
            registry=r,
        )
        self.notifications = Counter(
            "booking_notifications_sent_total",
            "NOTIFYs the event writer sent for stored parts.",
            registry=r,
        )
        # Retention (booking.turns.retention): counted by the process that did the work.
        self.archived_turns = Counter(
            "booking_retention_archived_turns_total",
            "Closed turns whose parts were compacted into turn_archive.",
            registry=r,
        )
        self.dropped_partitions = Counter(
            "booking_retention_dropped_partitions_total",
            "Day partitions of turn_events dropped.",
            registry=r,
        )
        self.expired_conversations = Counter(
            "booking_retention_expired_conversations_total",
            "Conversations deleted by their tenant's retention.",
            registry=r,
        )
        self.retention_failures = Counter(
            "booking_retention_failures_total",
            "Retention passes that failed (logged; retried at the next pass).",
            registry=r,
        )
        self.fleet_replicas = Gauge(
            "booking_fleet_replicas",
            "Live replicas this process counts (it allows 1/N of the fleet's rate limit).",
            registry=r,
        )
