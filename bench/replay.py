"""Replay conversations against a model's ``respond(messages, today)``: what it said each turn.

Kept free of imports from ``booking`` at module level so the same loop can run against an older
checkout of the offline model (``python -m bench.understanding --baseline REV`` runs this file
with that checkout first on ``sys.path``): the baseline and today's model are replayed alike.

As a script: reads cases (JSON lines) on stdin, writes one JSON line per case on stdout:
``{"id": ..., "turns": [{"calls": [{"name", "args"}], "text": ...}]}``.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

Respond = Callable[..., Any]

#: Where each version of the project kept the offline model's entry point.
ENTRY_POINTS = ("booking.offline_model", "booking.agent.models.offline")


def load_respond() -> Respond:
    """The ``respond`` function of whichever checkout is first on ``sys.path``."""
    for name in ENTRY_POINTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        if hasattr(module, "respond"):
            return module.respond  # type: ignore[no-any-return]
        return importlib.import_module(f"{name}.brain").respond  # type: ignore[no-any-return]
    raise ModuleNotFoundError("no offline model found on sys.path")


def replay(respond: Respond, turns: Iterable[str], today: date) -> Iterator[dict[str, Any]]:
    """Each user turn in order; the model's own answer is appended before the next."""
    messages: list[dict[str, Any]] = []
    for position, text in enumerate(turns):
        messages.append({"role": "user", "content": text})
        response = respond(messages, today)
        calls = [{"name": c.name, "args": c.arguments} for c in response.calls]
        yield {"calls": calls, "text": response.text}
        if not calls:
            messages.append({"role": "assistant", "content": response.text or ""})
            continue
        ids = [f"call_{position}_{index}" for index in range(len(calls))]
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": c["name"], "arguments": json.dumps(c["args"])},
                    }
                    for call_id, c in zip(ids, calls, strict=True)
                ],
            }
        )
        messages.extend({"role": "tool", "tool_call_id": i, "content": "{}"} for i in ids)
        messages.append({"role": "assistant", "content": "(answer)"})


def _prefer_sys_path() -> None:
    """Let the checkout on ``PYTHONPATH`` win over this project's editable install, whose finder
    maps ``booking`` to the working tree whatever ``sys.path`` says."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()]
    sys.meta_path[:] = [
        f for f in sys.meta_path if "editable" not in getattr(f, "__name__", "").lower()
    ]


def main() -> None:
    _prefer_sys_path()
    respond = load_respond()
    for line in sys.stdin:
        case = json.loads(line)
        turns = [t["user"] for t in case["turns"]]
        said = list(replay(respond, turns, date.fromisoformat(case["today"])))
        print(json.dumps({"id": case["id"], "turns": said}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
