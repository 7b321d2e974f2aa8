"""The assistant's text in a terminal: rendered as Markdown (rich's) while it streams.

Shared by ``booking chat`` and the demo (``seed.rendering``), so both show the same thing.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

_FENCED = re.compile(r"(```.*?(?:```|$))", re.DOTALL)
_SINGLE_NEWLINE = re.compile(r"(?<=[^\n])\n(?=[^\n])")


def with_line_breaks(text: str) -> str:
    """A chat answer's single newline is a line break (as GitHub's comments and most chat
    renderers read it), not a space: "Hành khách: …" and "Tổng tiền: …" stay on their lines.
    Fenced code is left as written."""
    parts = _FENCED.split(text)
    return "".join(
        part if i % 2 else _SINGLE_NEWLINE.sub("  \n", part) for i, part in enumerate(parts)
    )


class MarkdownStream:
    """One segment of streamed text, re-rendered in place as deltas arrive: no ``**`` or list
    marker is ever shown raw. Off a terminal (pipes, CI logs) it is printed once, when flushed."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self.live: Live | None = None

    def add(self, delta: str) -> None:
        self.text += delta
        if self.live is None:
            self.live = Live(
                Markdown(with_line_breaks(self.text)),
                console=self.console,
                vertical_overflow="visible",
                refresh_per_second=8,
            )
            self.live.start()
        else:
            self.live.update(Markdown(with_line_breaks(self.text)))

    def flush(self) -> bool:
        """End the segment (before a tool call's line, or at the reply's end); whether any text
        was shown."""
        if self.live is None:
            return False
        self.live.update(Markdown(with_line_breaks(self.text)), refresh=True)
        self.live.stop()
        if not self.console.is_terminal:
            # Off a terminal rich prints the final render without ending its last line.
            self.console.line()
        self.live, self.text = None, ""
        return True


def usage_line(usage: dict[str, Any]) -> str:
    """The developer's line (``--details``): model, time to first token, tokens, cost.

    ``usage`` is the stream's usage metadata (``models``, ``ttftMs``, ``promptTokens``,
    ``completionTokens``, ``modelCalls``, ``costUsd``)."""
    cost = usage.get("costUsd")
    return (
        f"{', '.join(usage.get('models') or [])} · first token {usage.get('ttftMs') or 0:.0f} ms · "
        f"tokens {usage.get('promptTokens')} in, {usage.get('completionTokens')} out · "
        f"{usage.get('modelCalls')} model calls · "
        + (f"${cost:.4f}" if cost is not None else "cost n/a (no prices configured)")
    )
