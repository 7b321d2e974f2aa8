"""Annotated dependencies, so endpoint signatures read as prose."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from booking.api.auth import Client, authenticate
from booking.api.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.booking
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def current_client(request: Request, state: StateDep) -> Client:
    client = await authenticate(request, state.sessionmaker, state.settings.auth == "on")
    state.limiter.check(client.key_id or request.client.host if request.client else "anonymous")
    return client


CurrentClient = Annotated[Client, Depends(current_client)]
