"""The understanding corpus as tests: every conversation in tests/corpus/understanding.

A case the model still gets wrong is listed in ``known_failures.txt`` beside the corpus with
the reason, and runs as a strict xfail: fixing it fails the run until the line is removed, so
the list only shrinks. ``python -m bench.understanding`` prints the pass rate per kind.
"""

from __future__ import annotations

import json

import pytest

from bench.understanding import CORPUS, Case, load_cases, run_case

CASES = load_cases()
#: Case id -> why the model still gets it wrong (the comment on its line).
KNOWN = {
    line.split("#", 1)[0].strip(): line.partition("#")[2].strip() or "listed"
    for line in (CORPUS / "known_failures.txt").read_text(encoding="utf-8").splitlines()
    if line.split("#", 1)[0].strip()
}


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 600
    kinds = {case.kind for case in CASES}
    assert len(kinds) >= 12
    assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"


def test_known_failures_name_real_cases() -> None:
    ids = {case.id for case in CASES}
    assert set(KNOWN) <= ids, f"unknown ids in known_failures.txt: {sorted(set(KNOWN) - ids)}"


def test_most_of_the_corpus_passes() -> None:
    """The issue's bar: at least 95 % of conversations get exactly the right calls."""
    assert 1 - len(KNOWN) / len(CASES) >= 0.95


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=f"known_failures.txt: {KNOWN[case.id]}")]
            if case.id in KNOWN
            else [],
        )
        for case in CASES
    ],
)
def test_conversation(case: Case) -> None:
    result = run_case(case)
    if not result.passed:
        turn = case.turns[result.turn or 0]
        pytest.fail(
            f"turn {result.turn}: {turn['user']!r}\n"
            f"want {json.dumps(turn.get('calls', {'ask': turn.get('ask')}), ensure_ascii=False)}\n"
            f"got  {json.dumps(result.got, ensure_ascii=False)}\nsaid {result.reply!r}"
        )
