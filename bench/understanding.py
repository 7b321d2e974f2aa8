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
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from bench.replay import replay
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


def judge(case: Case, said: Sequence[Mapping[str, Any]]) -> Result:
    """Compare what the model said each turn with what the case expects."""
    for position, turn in enumerate(case.turns):
        got = list(said[position]["calls"])
        if "calls" in turn:
            want = Counter(_normal(c["name"], c["args"], case.today) for c in turn["calls"])
            have = Counter(_normal(c["name"], c["args"], case.today) for c in got)
            ok = want == have
        else:
            ok = not got and bool(said[position]["text"])
        if not ok:
            return Result(case, False, position, got, said[position]["text"])
    return Result(case, True)


def run_case(case: Case) -> Result:
    """Replay the conversation turn by turn against today's offline model."""
    turns = [turn["user"] for turn in case.turns]
    return judge(case, list(replay(respond, turns, case.today)))


def run(cases: Sequence[Case]) -> list[Result]:
    return [run_case(case) for case in cases]


def run_baseline(cases: Sequence[Case], revision: str) -> list[Result]:
    """The same cases against the offline model of an older commit, in its own process."""
    root = Path(__file__).resolve().parents[1]
    checkout = root / ".booking" / f"baseline-{revision}"
    if not checkout.exists():
        subprocess.run(
            ["git", "-C", str(root), "worktree", "add", "--detach", str(checkout), revision],
            check=True,
            capture_output=True,
        )
    lines = "".join(
        json.dumps({"id": c.id, "today": c.today.isoformat(), "turns": list(c.turns)}) + "\n"
        for c in cases
    )
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "replay.py")],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        cwd=checkout,
    )
    said = {row["id"]: row["turns"] for row in map(json.loads, done.stdout.splitlines())}
    return [judge(case, said[case.id]) for case in cases]


def report(
    results: Sequence[Result],
    *,
    show_failures: bool,
    baseline: Sequence[Result] | None = None,
) -> str:
    def rate(rows: Sequence[Result]) -> str:
        return f"{sum(r.passed for r in rows) / (len(rows) or 1):>8.1%}"

    by_kind: dict[str, list[Result]] = defaultdict(list)
    base_by_kind: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_kind[result.case.kind].append(result)
    for result in baseline or ():
        base_by_kind[result.case.kind].append(result)
    head = f"{'kind':<20} {'passed':>7} {'total':>6} {'rate':>8}"
    lines = [head + (f" {'baseline':>9}" if baseline is not None else "")]
    for kind in [*sorted(by_kind), "all"]:
        rows = results if kind == "all" else by_kind[kind]
        line = f"{kind:<20} {sum(r.passed for r in rows):>7} {len(rows):>6} {rate(rows)}"
        if baseline is not None:
            line += " " + rate(baseline if kind == "all" else base_by_kind[kind])
        lines.append(line)
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
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also replay the corpus against the offline model of this commit (e.g. eeff667, "
        "the model before the understanding issue) and print its rate beside ours",
    )
    args = parser.parse_args(argv)
    cases = load_cases(args.files or None)
    if args.kind:
        cases = [c for c in cases if c.kind in args.kind]
    baseline = run_baseline(cases, args.baseline) if args.baseline else None
    print(report(run(cases), show_failures=args.show_failures, baseline=baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
