"""``booking offline-model``: the built-in offline model served on its own."""

from __future__ import annotations

from typing import Annotated

import typer

from booking.cli.common import console
from booking.settings import Settings

app = typer.Typer(help="The built-in offline model (rule-based, not an LLM).", no_args_is_help=True)


@app.command("serve")
def offline_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8081,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the offline model as an OpenAI-compatible endpoint at http://HOST:PORT/v1."""
    import uvicorn

    from booking.domain.dates import clock_from
    from booking.offline_model.transport import OfflineModel, asgi_app

    settings = Settings()
    model = OfflineModel(
        clock_from(settings),
        pace_s=settings.offline_pace_ms / 1000,
        usd_rate=settings.usd_vnd_rate,
    )
    console.print(f"offline model (rule-based, not an LLM) at http://{host}:{port}/v1")
    uvicorn.run(asgi_app(model), host=host, port=port, log_level="warning")
