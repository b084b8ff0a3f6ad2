"""Cases that cannot tell things apart, found when `grader expected` runs the catalogue (warnings only).

A catalogued mistake is named when a student's outcome matches its stored one; so a mistake whose
outcome on a public case is the blank function's would be named on a notebook nobody wrote; two
mistakes with the same outcome on every case cannot be told apart; and a case that every wrong
version of its function passes checks nothing the catalogue knows of (it is weak). Each finding is
an `Unclear` record; grader.render.staleness words it.
"""

from __future__ import annotations

import numpy as np

from grader.assignment.manifest import Assignment
from grader.judge.agreement import Answer
from grader.judge.outcome_store import outcomes_by_case
from grader.judge.outcomes import outcome_of, same_outcome
from grader.model import Case, KernelResult
from grader.model.diagnosis import Catalogue, OutcomeKey
from grader.model.staleness import Unclear, UnclearKind


def unclear(
    assignment: Assignment,
    catalogue: Catalogue,
    cases: list[Case],
    variants: dict[OutcomeKey, np.ndarray],
    blank: dict[str, Answer] | None,
) -> list[Unclear]:
    """Every finding, in the cases' and the catalogue's order (`blank`: the released notebook's answers
    on the public cases, when it could be run)."""
    by_case = outcomes_by_case(variants)
    return [
        *_no_effect(catalogue, cases, by_case),
        *_weak_cases(catalogue, cases, by_case),
        *_same_mistakes(assignment, catalogue, cases, by_case),
        *_like_blank(assignment, cases, by_case, blank or {}),
    ]


def _covering(catalogue: Catalogue, function: str) -> list[str]:
    return [m for m, entry in catalogue.mistakes.items() if function in entry["functions"]]


def _no_effect(catalogue: Catalogue, cases: list[Case], by_case: dict[str, dict]) -> list[Unclear]:
    """Mistakes that differ from the reference on no case: nothing could ever name them."""
    found = []
    for mistake, entry in catalogue.mistakes.items():
        covered = [case for case in cases if case.function in entry["functions"]]
        if covered and not any(mistake in by_case.get(case.id, {}) for case in covered):
            found.append(Unclear(UnclearKind.NO_EFFECT, covered[0].function, mistakes=(mistake,)))
    return found


def _weak_cases(catalogue: Catalogue, cases: list[Case], by_case: dict[str, dict]) -> list[Unclear]:
    """Cases on which no catalogued wrong version of their function differs from the reference."""
    return [
        Unclear(UnclearKind.WEAK_CASE, case.function, case.id)
        for case in cases
        if _covering(catalogue, case.function) and not by_case.get(case.id)
    ]


def _same_mistakes(
    assignment: Assignment, catalogue: Catalogue, cases: list[Case], by_case: dict[str, dict]
) -> list[Unclear]:
    """Pairs of mistakes of one function whose outcomes agree on every case of the functions they cover."""
    found = []
    ids = list(catalogue.mistakes)
    for index, first in enumerate(ids):
        for second in ids[index + 1 :]:
            functions = set(catalogue.mistakes[first]["functions"]) | set(catalogue.mistakes[second]["functions"])
            if not set(catalogue.mistakes[first]["functions"]) & set(catalogue.mistakes[second]["functions"]):
                continue
            covered = [case for case in cases if case.function in functions]
            stored = any(first in by_case.get(case.id, {}) for case in covered)
            if stored and all(_alike(assignment, case, by_case.get(case.id, {}), first, second) for case in covered):
                function = sorted(functions)[0]
                found.append(Unclear(UnclearKind.SAME_MISTAKES, function, mistakes=(first, second)))
    return found


def _alike(assignment: Assignment, case: Case, outcomes: dict[str, dict], first: str, second: str) -> bool:
    """Two mistakes agree on a case: neither stored (both gave the reference's), or the same outcome."""
    a, b = outcomes.get(first), outcomes.get(second)
    if a is None or b is None:
        return a is None and b is None
    tol = assignment.tolerance(case.function, case)
    return same_outcome(case, a, b, tol.rtol, tol.atol)


def _like_blank(
    assignment: Assignment, cases: list[Case], by_case: dict[str, dict], blank: dict[str, Answer]
) -> list[Unclear]:
    """Mistakes whose outcome on a public case is what the blank (released) function gives."""
    found = []
    for case in cases:
        answer = blank.get(case.id)
        if not case.public or not isinstance(answer, KernelResult):
            continue
        tol = assignment.tolerance(case.function, case)
        empty = outcome_of(answer, case, assignment.function(case.function).returns)
        for mistake, outcome in by_case.get(case.id, {}).items():
            if same_outcome(case, outcome, empty, tol.rtol, tol.atol):
                found.append(Unclear(UnclearKind.LIKE_BLANK, case.function, case.id, (mistake,)))
    return found
