"""docker-compose.yml cannot run here (no Docker engine), so its wiring is checked by reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from booking.settings import normalize_database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_postgres_16_with_volume_and_healthcheck(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:16")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


@pytest.mark.parametrize("service", ["migrate", "app"])
def test_services_point_at_the_db_service(compose: dict[str, Any], service: str) -> None:
    db_env = compose["services"]["db"]["environment"]
    url = compose["services"][service]["environment"]["BOOKING_DATABASE_URL"]
    expected = f"postgresql://{db_env['POSTGRES_USER']}:{db_env['POSTGRES_PASSWORD']}@db:5432/{db_env['POSTGRES_DB']}"
    assert url == expected
    assert normalize_database_url(url).startswith("postgresql+psycopg://")
    assert compose["services"][service]["depends_on"]["db"]["condition"] == "service_healthy"


def test_migrate_job_migrates_then_seeds(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["migrate"]["command"])
    assert command.index("booking db upgrade") < command.index("booking seed")


def test_app_waits_for_the_migrate_job(compose: dict[str, Any]) -> None:
    condition = compose["services"]["app"]["depends_on"]["migrate"]["condition"]
    assert condition == "service_completed_successfully"


def test_app_serves_the_api_without_migrating_again(compose: dict[str, Any]) -> None:
    app = compose["services"]["app"]
    assert app["command"][:2] == ["booking", "serve"]
    assert "--no-migrate" in app["command"]
    assert "8000:8000" in app["ports"]


def test_migrate_job_seeds_only_an_empty_database(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["migrate"]["command"])
    assert "booking seed --if-empty" in command


def test_app_is_healthy_only_when_ready(compose: dict[str, Any]) -> None:
    check = " ".join(compose["services"]["app"]["healthcheck"]["test"])
    assert "/readyz" in check
    # Longer than the server's own shutdown grace (10 s), so running turns get to finish.
    assert compose["services"]["app"]["stop_grace_period"] == "20s"


def test_app_requires_keys_in_production(compose: dict[str, Any]) -> None:
    env = compose["services"]["app"]["environment"]
    assert env["BOOKING_AUTH"] == "on"
    assert env["BOOKING_ENVIRONMENT"] == "production"


def test_dockerfile_runs_as_non_root_with_a_readiness_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#")
    assert "FROM python:3.11-slim" in dockerfile
    assert "USER booking" in dockerfile
    assert dockerfile.index("USER booking") < dockerfile.index("CMD [")
    assert "HEALTHCHECK" in dockerfile
    assert "/readyz" in dockerfile
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY")}
    # Everything `booking serve` and `booking db upgrade` need at run time is in the image.
    assert {"booking", "seed", "migrations"} <= copied


def test_tracing_profile_runs_a_collector_and_jaeger(compose: dict[str, Any]) -> None:
    services = compose["services"]
    collector, jaeger = services["otel-collector"], services["jaeger"]
    assert collector["profiles"] == ["tracing"]
    assert jaeger["profiles"] == ["tracing"]
    assert collector["image"].startswith("otel/opentelemetry-collector:")
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert "4318:4318" in collector["ports"]
    assert "16686:16686" in jaeger["ports"]
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    mounted = {v.split(":")[0]: v.split(":")[1] for v in collector["volumes"]}
    assert mounted["./deploy/otel-collector.yaml"] == "/etc/otelcol/config.yaml"
    assert "--config=/etc/otelcol/config.yaml" in collector["command"]
    # The other services run without the profile.
    assert all("profiles" not in services[name] for name in ("db", "migrate", "app"))


def test_app_traces_only_when_an_endpoint_is_given(compose: dict[str, Any]) -> None:
    env = compose["services"]["app"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
    assert env["OTEL_SERVICE_NAME"] == "booking"
    # The value the comment gives reaches the collector service's OTLP/HTTP port.
    text = (ROOT / "docker-compose.yml").read_text()
    assert (
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 docker compose --profile tracing up"
        in text
    )


def test_collector_forwards_otlp_traces_to_jaeger() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "otel-collector.yaml").read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert pipeline["processors"][-1] == "batch"
    assert set(pipeline["processors"]) <= set(config["processors"])
    assert set(pipeline["exporters"]) <= set(config["exporters"])
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert "otlp/jaeger" in pipeline["exporters"]
