"""The JSON bodies the offline model answers with, in the Chat Completions and Responses shapes.

Ids derive from ``seed`` (a hash of the request body), so the same request gives the same body;
token counts are estimated from the text (four characters a token).
"""

from __future__ import annotations

import json
import math
from typing import Any

from booking.offline_model.brain import Response

#: The one model id the offline model answers to (and lists at ``GET /models``).
MODEL_ID = "booking-offline"


def count_completion_tokens(response: Response) -> int:
    """The answer's size in tokens, estimated: text, tool names and arguments."""
    size = len(response.text or "") + sum(
        len(c.name) + len(json.dumps(c.arguments, ensure_ascii=False)) for c in response.calls
    )
    return max(1, math.ceil(size / 4))


def chat_completion(
    response: Response, seed: str, created: int, prompt_tokens: int
) -> dict[str, Any]:
    """A whole (not streamed) Chat Completions answer."""
    message: dict[str, Any] = {"role": "assistant", "content": response.text}
    if response.calls:
        message["tool_calls"] = [
            {
                "id": f"call_{seed[:8]}_{i}",
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": json.dumps(c.arguments, ensure_ascii=False),
                },
            }
            for i, c in enumerate(response.calls)
        ]
    completion_tokens = count_completion_tokens(response)
    return {
        "id": f"chatcmpl-{seed}",
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if response.calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def output_text(text: str) -> dict[str, Any]:
    """A Responses ``output_text`` content part."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_items(response: Response, seed: str, status: str) -> list[dict[str, Any]]:
    """The Responses message item of the answer's text (none without text)."""
    if not response.text:
        return []
    content = [output_text(response.text)] if status == "completed" else []
    return [
        {
            "id": f"msg_{seed}",
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": content,
        }
    ]


def call_items(response: Response, seed: str) -> list[dict[str, Any]]:
    """One Responses ``function_call`` item per tool call, its arguments complete."""
    return [
        {
            "id": f"fc_{seed[:8]}_{index}",
            "type": "function_call",
            "call_id": f"call_{seed[:8]}_{index}",
            "name": call.name,
            "arguments": json.dumps(call.arguments, ensure_ascii=False),
            "status": "completed",
        }
        for index, call in enumerate(response.calls)
    ]


def responses_usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The Responses ``usage`` object."""
    return {
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt_tokens + completion_tokens,
    }


def response_object(
    seed: str,
    created: int,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    """A Responses ``response`` object; ``output`` and ``usage`` as far as known."""
    return {
        "id": f"resp_{seed}",
        "object": "response",
        "created_at": created,
        "status": status,
        "model": MODEL_ID,
        "output": output,
        "usage": usage,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "store": False,
        "metadata": {},
    }
