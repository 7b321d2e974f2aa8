"""The soak in short (``python -m bench.soak_bench`` is the ten-minute version): a server process
with the built-in offline model answers flight searches back to back from several clients for
half a minute, each turn running a real search on the database.

Every stream must complete with all its events (ids contiguous from ``start`` to ``[DONE]``, a
``finish``), every tenth conversation replayed from ``/events`` must equal what was seen, and the
server's memory must not run away: after the load it stays near where it stood idle (a generous
bound here; the slope in MiB/min is the benchmark's figure).
"""

from __future__ import annotations

import asyncio

from bench.soak_bench import MiB, soak
from tests.support.api import MakeKey
from tests.support.server import SpawnServer

CLIENTS = 6
DURATION_S = 30.0


def test_every_stream_completes_and_memory_settles(spawn: SpawnServer, make_key: MakeKey) -> None:
    server = spawn(db_pool_size=4)
    key = make_key()

    tally, memory = asyncio.run(
        soak(
            server.base_url,
            server.process.pid,
            clients=CLIENTS,
            duration_s=DURATION_S,
            text="Tìm vé máy bay từ Sài Gòn đi Hà Nội ngày 15/6",
            chunks=None,
            headers={"authorization": f"Bearer {key}"},
        )
    )

    assert tally.turns >= CLIENTS * 5, tally
    assert dict(tally.problems) == {}
    assert tally.complete == tally.turns
    assert tally.replayed > 0
    # A leak of a few kilobytes per turn would show over these hundreds of turns.
    assert memory.after - memory.idle < max(0.25 * memory.idle, 32 * MiB), memory.describe(10)
