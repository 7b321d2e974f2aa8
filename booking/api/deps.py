"""Annotated dependencies, so endpoint signatures read as prose."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from booking.api.auth import Client, authenticate
from booking.api.state import AppState

# Declares the scheme in the OpenAPI document; `authenticate` reads and checks the header itself
# (auto_error=False), so every refusal is our own 401 problem document.
_bearer = HTTPBearer(
    scheme_name="ApiKey", description="An API key: `Authorization: Bearer bk_…`.", auto_error=False
)


async def get_state(request: Request) -> AppState:
    # Async although it awaits nothing: FastAPI runs a plain ``def`` dependency in a worker
    # thread, a hop that cost every request a few hundred microseconds (#17).
    state: AppState = request.app.state.booking
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def current_client(
    request: Request,
    state: StateDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Client:
    client = await authenticate(request, state.sessionmaker, state.settings.auth == "on")
    # Per key; without one (auth off), per peer address.
    peer = request.client.host if request.client else "anonymous"
    state.limiter.check(client.key_id or peer)
    return client


CurrentClient = Annotated[Client, Depends(current_client)]
