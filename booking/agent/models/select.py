"""Build the model client from settings: a TOML table of models, one endpoint, or offline.

The TOML file (``BOOKING_LLM_CONFIG``)::

    default = "gpt-4.1-mini"

    [models.gpt-4.1-mini]
    base_url = "https://api.openai.com/v1"
    model = "gpt-4.1-mini"
    api_key_env = "OPENAI_API_KEY"        # the variable holding the key (never the key itself)
    input_per_million_usd = 0.40
    output_per_million_usd = 1.60
    fallbacks = ["local"]

    [models.local]
    base_url = "http://127.0.0.1:11434/v1"  # Ollama
    model = "qwen2.5:7b-instruct"
    api = "responses"                       # the Responses API; "chat" (the default) otherwise
    context_tokens = 24000                  # the prompt budget; BOOKING_LLM_CONTEXT_TOKENS otherwise

With no TOML file and no ``BOOKING_LLM_MODEL``, the built-in offline model answers, through the
same ``openai`` SDK code path as any provider.
A model from ``BOOKING_LLM_MODEL`` speaks Chat Completions; only the TOML file chooses the protocol
per model, and a fallback may speak the other one.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from booking.agent.models.base import Pricing
from booking.agent.models.openai_chat import ModelSpec, OpenAIChatModel, RetryPolicy, Timeouts
from booking.domain.dates import Clock
from booking.errors import ValidationFailed
from booking.offline_model.prices import DEFAULT_USD_VND_RATE
from booking.offline_model.transport import MODEL_ID, OfflineModel, OfflineTransport
from booking.settings import Settings

OFFLINE_NAME = "offline"
#: A base URL no request ever leaves the process for: the offline transport answers in-process.
OFFLINE_BASE_URL = "http://offline.invalid/v1"
#: The offline model's prompt budget. It has no window of its own (it reads the history with
#: rules), so this is the window of a typical small hosted model: conversations run through it
#: are fitted the way they would be in production.
OFFLINE_CONTEXT_TOKENS = 32_000


class ModelConfigError(ValidationFailed):
    code = "model_config_invalid"


def offline_spec(
    clock: Clock, pace_s: float = 0.0, usd_rate: int = DEFAULT_USD_VND_RATE
) -> ModelSpec:
    return ModelSpec(
        name=OFFLINE_NAME,
        model=MODEL_ID,
        base_url=OFFLINE_BASE_URL,
        api_key="offline",
        pricing=Pricing(0.0, 0.0),
        context_tokens=OFFLINE_CONTEXT_TOKENS,
        transport=OfflineTransport(OfflineModel(clock, pace_s=pace_s, usd_rate=usd_rate)),
    )


def model_specs(
    settings: Settings, clock: Clock, env: Mapping[str, str]
) -> tuple[list[ModelSpec], str]:
    """(every configured model, the primary's name)."""
    offline = offline_spec(clock, settings.offline_pace_ms / 1000, settings.usd_vnd_rate)
    if settings.llm_config is not None:
        specs, primary = _from_toml(settings, env)
        return [*specs, offline], primary
    if settings.llm_model:
        if not settings.llm_base_url:
            raise ModelConfigError("BOOKING_LLM_MODEL is set but BOOKING_LLM_BASE_URL is not.")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none"
        spec = ModelSpec(
            name=settings.llm_model,
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=key,
            context_tokens=settings.llm_context_tokens,
        )
        return [spec, offline], spec.name
    return [offline], OFFLINE_NAME


def build_model_client(settings: Settings, clock: Clock, env: Mapping[str, str]) -> OpenAIChatModel:
    specs, primary = model_specs(settings, clock, env)
    return OpenAIChatModel(
        specs,
        primary,
        timeouts=Timeouts(
            connect_s=settings.llm_connect_timeout_s,
            first_chunk_s=settings.llm_first_chunk_timeout_s,
            stall_s=settings.llm_stall_timeout_s,
        ),
        retry=RetryPolicy(
            retries=settings.llm_max_retries, max_wait_s=settings.llm_retry_max_wait_s
        ),
    )


def _from_toml(settings: Settings, env: Mapping[str, str]) -> tuple[list[ModelSpec], str]:
    assert settings.llm_config is not None
    try:
        data: dict[str, Any] = tomllib.loads(settings.llm_config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelConfigError(f"cannot read {settings.llm_config}: {exc}") from exc
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise ModelConfigError(f"{settings.llm_config}: no [models.NAME] tables")
    specs = []
    for name, entry in models.items():
        try:
            key_env = entry.get("api_key_env")
            key = env.get(key_env, "") if key_env else entry.get("api_key", "none")
            if key_env and not key:
                raise ModelConfigError(f"model {name}: environment variable {key_env} is not set")
            pricing = None
            if "input_per_million_usd" in entry:
                pricing = Pricing(
                    float(entry["input_per_million_usd"]),
                    float(entry.get("output_per_million_usd", 0)),
                )
            api = entry.get("api", "chat")
            if api not in ("chat", "responses"):
                raise ModelConfigError(
                    f'model {name}: api must be "chat" or "responses", not {api!r}'
                )
            specs.append(
                ModelSpec(
                    name=name,
                    model=str(entry.get("model", name)),
                    base_url=str(entry["base_url"]),
                    api_key=str(key),
                    pricing=pricing,
                    fallbacks=tuple(entry.get("fallbacks", ())),
                    api=api,
                    context_tokens=_context_tokens(name, entry, settings.llm_context_tokens),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelConfigError(f"model {name} in {settings.llm_config}: {exc}") from exc
    primary = str(data.get("default") or next(iter(models)))
    if primary not in models:
        raise ModelConfigError(f"default model {primary!r} is not under [models]")
    for spec in specs:
        unknown = [f for f in spec.fallbacks if f not in models and f != OFFLINE_NAME]
        if unknown:
            raise ModelConfigError(f"model {spec.name}: unknown fallbacks {unknown}")
    return specs, primary


def _context_tokens(name: str, entry: dict[str, Any], default: int) -> int:
    value = entry.get("context_tokens", default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1_000:
        raise ModelConfigError(
            f"model {name}: context_tokens must be a whole number of tokens >= 1000, not {value!r}"
        )
    return value
