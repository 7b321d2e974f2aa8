"""The baseline: a plain FastAPI relay of the same fake provider, as people wire it by hand
(openai SDK stream -> StreamingResponse), with no persistence, resume, tools or events.

Emits the same ``text-delta`` / ``finish`` part shapes, so ``bench.api_bench`` reads both the
same way. Run by ``python -m bench.api_bench --baseline`` and ``--only compare`` (the
baseline the comparison's ratios are to); the model is ``BENCH_MODEL``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

import openai
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()
client = openai.AsyncOpenAI(base_url=os.environ["BENCH_PROVIDER_URL"], api_key="k", max_retries=0)
MODEL = os.environ.get("BENCH_MODEL", "bench-20-2000")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/chat")
async def chat(request: Request) -> StreamingResponse:
    body = await request.json()
    text = body["messages"][-1]["parts"][0]["text"]

    async def relay() -> AsyncIterator[str]:
        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                part = {"type": "text-delta", "id": "t", "delta": chunk.choices[0].delta.content}
                yield f"data: {json.dumps(part)}\n\n"
        yield 'data: {"type":"finish"}\n\ndata: [DONE]\n\n'

    return StreamingResponse(relay(), media_type="text/event-stream")
