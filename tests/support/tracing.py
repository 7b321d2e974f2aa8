"""Spans in memory: the ``exporter`` fixture installs an SDK tracer provider for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from booking import telemetry


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Every span a test makes, as it ends; tracing is off again afterwards."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    telemetry.install(provider)
    yield memory
    telemetry.install(None)
    provider.shutdown()
