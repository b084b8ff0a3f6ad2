"""Naming a slip nobody catalogued: the solution's mutant whose outcomes are the student's on every case.

`grader expected` stored each mutant's outcome on every case where it differs from the reference
(grader.judge.mutant_store). After a submission's cases ran, a function that fails some of them and
that no catalogued mistake or family explains is compared with its mutants, over every case it
ran: a passed case must be one the mutant passes too, a failed one must give the mutant's outcome.
The match is named only when it cannot mislead:

- a match through exceptions alone names nothing (many slips raise the same error, and a blank
  function raises the NameError a dropped assignment does), unless the mutant's changed statement
  is written in the student's cell;
- when the matching mutants are one slip (the same operator and detail), it is named;
- when they are several slips, the one whose changed statement is written in the student's cell
  is named, and only when exactly one is (a change made in several places is written there only
  when the cell writes every statement it changed);
- a function whose graded callees fail is left alone (their slip, not its own, may be what shows).

The student's line is the statement of the cell written as the mutant writes what it changed. The
same rules run on the bundle's public copy, so the self-check names what the batch names from the
same public outcomes.
"""

from __future__ import annotations

from typing import NamedTuple

from grader.assignment.manifest import Assignment
from grader.judge.mutant_store import MutantTable, StoredMutant, line_of
from grader.judge.outcomes import same_outcome
from grader.judge.patterns import place_at
from grader.model import Case
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.model.notebook import CodeCell


class Ran(NamedTuple):
    """A case the student's function ran and was compared on."""

    passed: bool  #: it passed the case
    outcome: dict | None  #: what it did (grader.judge.outcomes), when it was kept
    like_reference: bool = False  #: its outcome is the reference's (a failure outcomes cannot see: a shape)


def behaves_as(assignment: Assignment, case: Case, stored: dict | None, mine: Ran) -> bool:
    """Whether a stored variant (None: it gives the reference's outcome, so it passes) behaves as the
    student's function on a case: the same outcome, or both passing. A variant stored on a case the
    student passed may still pass it (its outcome differs from the reference's only where the case
    does not compare, a shape (n,) for (n, 1)): its outcome then equals the student's."""
    if stored is None:  # the variant's outcome is the reference's: so must the student's be
        return mine.passed or mine.like_reference
    if mine.outcome is None:
        return False
    tol = assignment.tolerance(case.function, case)
    return same_outcome(case, stored, mine.outcome, tol.rtol, tol.atol)


def matching_mutants(
    assignment: Assignment, cases: list[Case], ran: dict[str, Ran], table: MutantTable, function: str
) -> list[StoredMutant]:
    """The function's mutants that behave as the student's function on every case it ran."""
    known = [case for case in cases if case.function == function and case.id in ran]
    return [
        mutant
        for mutant in table.of(function)
        if all(
            behaves_as(assignment, case, table.outcome(function, case.id, mutant.slip.id), ran[case.id])
            for case in known
        )
    ]


def _line(cell: CodeCell | None, function: str, mutant: StoredMutant) -> int | None:
    """The student's line of the slip; for a change made in several places, only when the cell
    writes every one of them."""
    if cell is None:
        return None
    return line_of(cell.source, function, mutant.keys, every=mutant.slip.detail.places > 1)


def mutant_diagnosis(
    assignment: Assignment,
    cases: list[Case],
    ran: dict[str, Ran],
    table: MutantTable,
    function: str,
    cell: CodeCell | None,
) -> Diagnosis | None:
    """The slip the student's function shows, by the rules above; None when nothing may be named."""
    failed = [mine.outcome or {} for mine in ran.values() if not mine.passed]
    if not failed:
        return None
    matched = matching_mutants(assignment, cases, ran, table, function)
    lines = {m.slip.id: _line(cell, function, m) for m in matched}
    if all("error" in outcome for outcome in failed):  # an exception is no evidence (a blank function raises
        # NameError as a dropped assignment does); its line in the cell is
        matched = [m for m in matched if lines[m.slip.id]]
    if not matched:
        return None
    slips = {(m.slip.operator, m.slip.detail) for m in matched}
    if len(slips) == 1:
        chosen = next((m for m in matched if lines[m.slip.id]), matched[0])
    else:
        placed = [m for m in matched if lines[m.slip.id]]
        if len({(m.slip.operator, m.slip.detail) for m in placed}) != 1:
            return None
        chosen = placed[0]
    line = lines[chosen.slip.id]
    return Diagnosis(
        DiagnosisKind.MUTANT,
        chosen.slip.id,
        place=place_at(cell, line) if cell is not None else None,
        slip=chosen.slip,
        function=function,
    )
