"""How well the offline model understands travellers: the corpus replayed, the pass rate per kind.

``python -m bench.understanding [--show-failures] [--kind KIND] [FILE ...]``

The corpus (``tests/corpus/understanding/*.jsonl``, one conversation a line) holds what
travellers type and, for every turn, the tool calls the model must make or ``ask`` (no call, a
reply instead). A conversation passes when every turn does. Calls are compared as a multiset;
places are compared as the cities they name (``"SGN"``, ``"Sài Gòn"`` and ``"HCM"`` are one
city, but an airport code of a city with several airports must match exactly); arguments left
at the tool's default count as given. Between turns the model's own message is appended, with a
stub tool result for each call, as a chat client would.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from booking.domain.places import alias_key
from booking.offline_model import respond
from booking.reference import load_network

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "understanding"

#: What an argument left out means, per tool.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "search_flights": {"passengers": 1, "cabin": "economy", "sort": "price"},
}
_PLACE_ARGUMENTS = frozenset({"from_city", "to_city", "city"})
_IGNORED = frozenset({"limit"})


@dataclass(frozen=True, slots=True)
class Case:
    """One conversation of the corpus."""

    id: str
    kind: str
    today: date
    turns: tuple[Mapping[str, Any], ...]
    source: str


@dataclass(slots=True)
class Result:
    """How one conversation went: the first turn that failed, and why."""

    case: Case
    passed: bool
    turn: int | None = None
    got: list[dict[str, Any]] = field(default_factory=list)
    reply: str | None = None


@cache
def _places() -> dict[str, str]:
    """Folded alias, name or airport code -> the city (or destination) slug."""
    network = load_network()
    index: dict[str, str] = {}
    for row in network.cities:
        for text in [row["name_vi"], row["name_en"], *row.get("aliases", ())]:
            index.setdefault(alias_key(text), row["slug"])
        for code in row.get("airports", ()):
            index[alias_key(code)] = row["slug"]
    # A place without an airport is itself, even where an airport city lists it as an alias.
    for row in getattr(network, "destinations", ()):
        for text in [row["name_vi"], row["name_en"], *row.get("aliases", ())]:
            index[alias_key(text)] = row["slug"]
    return index


@cache
def _multi_airport_codes() -> frozenset[str]:
    return frozenset(
        code
        for row in load_network().cities
        if len(row.get("airports", ())) > 1
        for code in row["airports"]
    )


def _place(value: Any) -> str:
    text = str(value)
    if text.upper() in _multi_airport_codes():
        return text.upper()
    return _places().get(alias_key(text), "?" + alias_key(text))


def _normal(name: str, arguments: Mapping[str, Any], today: date) -> tuple[str, str]:
    """A call in a comparable form: name and sorted, defaulted, place-resolved arguments."""
    merged: dict[str, Any] = {**_DEFAULTS.get(name, {}), **arguments}
    if name == "get_weather":
        merged.setdefault("date", today.isoformat())
    out: dict[str, Any] = {}
    for key, value in merged.items():
        if key in _IGNORED or value is None:
            continue
        out[key] = _place(value) if key in _PLACE_ARGUMENTS else value
    return name, json.dumps(out, sort_keys=True, ensure_ascii=False)


def load_cases(paths: Iterable[Path] | None = None) -> list[Case]:
    """Every conversation of the corpus files (all of ``tests/corpus/understanding`` by default)."""
    cases: list[Case] = []
    for path in sorted(paths or CORPUS.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            cases.append(
                Case(
                    id=row["id"],
                    kind=row["kind"],
                    today=date.fromisoformat(row["today"]),
                    turns=tuple(row["turns"]),
                    source=f"{path.name}:{number}",
                )
            )
    return cases


def run_case(case: Case) -> Result:
    """Replay the conversation turn by turn against the offline model."""
    messages: list[dict[str, Any]] = []
    for position, turn in enumerate(case.turns):
        messages.append({"role": "user", "content": turn["user"]})
        response = respond(messages, case.today)
        got: list[dict[str, Any]] = [{"name": c.name, "args": c.arguments} for c in response.calls]
        if "calls" in turn:
            want = Counter(_normal(c["name"], c["args"], case.today) for c in turn["calls"])
            have = Counter(_normal(c["name"], c["args"], case.today) for c in got)
            ok = want == have
        else:
            ok = not got and bool(response.text)
        if not ok:
            return Result(case, False, position, got, response.text)
        _append_answer(messages, response.text, got, position)
    return Result(case, True)


def _append_answer(
    messages: list[dict[str, Any]], text: str | None, calls: Sequence[dict[str, Any]], turn: int
) -> None:
    if not calls:
        messages.append({"role": "assistant", "content": text or ""})
        return
    ids = [f"call_{turn}_{index}" for index in range(len(calls))]
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
    for call_id in ids:
        messages.append({"role": "tool", "tool_call_id": call_id, "content": "{}"})
    messages.append({"role": "assistant", "content": "(answer)"})


def run(cases: Sequence[Case]) -> list[Result]:
    return [run_case(case) for case in cases]


def report(results: Sequence[Result], *, show_failures: bool) -> str:
    by_kind: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_kind[result.case.kind].append(result)
    lines = [f"{'kind':<20} {'passed':>7} {'total':>6} {'rate':>7}"]
    for kind in sorted(by_kind):
        rows = by_kind[kind]
        ok = sum(r.passed for r in rows)
        lines.append(f"{kind:<20} {ok:>7} {len(rows):>6} {ok / len(rows):>7.1%}")
    ok = sum(r.passed for r in results)
    total = len(results) or 1
    lines.append(f"{'all':<20} {ok:>7} {len(results):>6} {ok / total:>7.1%}")
    if show_failures:
        for result in results:
            if result.passed:
                continue
            turn = result.case.turns[result.turn or 0]
            want = turn.get("calls", {"ask": turn.get("ask")})
            lines.append(
                f"\nFAIL {result.case.id} ({result.case.source}, today {result.case.today},"
                f" turn {result.turn})\n  user: {turn['user']}\n  want: "
                f"{json.dumps(want, ensure_ascii=False)}\n  got:  "
                f"{json.dumps(result.got, ensure_ascii=False)}"
                + (f"\n  said: {(result.reply or '')[:200]!r}" if not result.got else "")
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--kind", action="append", help="only these kinds")
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    cases = load_cases(args.files or None)
    if args.kind:
        cases = [c for c in cases if c.kind in args.kind]
    print(report(run(cases), show_failures=args.show_failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
