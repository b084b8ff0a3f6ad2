"""Naming a catalogued mistake: the stored variants whose outcome on a case the student's matches.

A variant matches only when every quantity the case compares agrees within the assignment's
tolerance (grader.judge.outcomes.same_outcome), so a wrong answer is named only when it behaves
exactly like the catalogued mistake, and only when that cannot mislead: its usual line is in the
student's cell, or no other catalogued variant also matches and the match is more than an
exception (many mistakes raise the same error). When several have their line in the cell, the
first is named and the others are kept as also possible. A mistake written as a wrong
copy finds that line by comparing the student's cell with the copy and the solution's (astdiff).
"""

from __future__ import annotations

from collections.abc import Callable

from grader.assignment.manifest import Assignment
from grader.judge.authored import authored_line
from grader.judge.catalogue import mistake_texts
from grader.judge.outcomes import same_outcome, student_outcome
from grader.judge.patterns import locate, place_at
from grader.model import Case, Expected, KernelResult
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.model.notebook import CodeCell


def match_mistakes(assignment: Assignment, case: Case, expected: Expected, result: KernelResult) -> list[str]:
    """Ids of the catalogued variants whose outcome on this case the student's outcome matches."""
    variants = expected.variants
    if not variants:
        return []
    mine = _mine(assignment, case, expected, result)
    tol = assignment.tolerance(case.function, case)
    return [
        mistake_id for mistake_id, outcome in variants.items() if same_outcome(case, outcome, mine, tol.rtol, tol.atol)
    ]


def _mine(assignment: Assignment, case: Case, expected: Expected, result: KernelResult) -> dict:
    tol = assignment.tolerance(case.function, case)
    return student_outcome(result, expected, case, assignment.function(case.function).returns, tol)


def named_mistake(
    assignment: Assignment,
    case: Case,
    expected: Expected,
    result: KernelResult,
    cell: CodeCell | None,
    on_error: Callable[[str, BaseException], None] | None = None,
) -> Diagnosis | None:
    """The catalogued mistake the student's outcome matches, with the line it most likely sits on
    (`on_error(mistake_id, error)` hears of a pattern function that raised)."""
    matched = match_mistakes(assignment, case, expected, result)
    if not matched:
        return None
    texts = mistake_texts(assignment)
    known = [m for m in texts if m in matched]  # catalogue order
    if not known:
        return None
    # Variants can behave alike (a flipped sign in two places gives the same numbers): prefer
    # the one whose usual line is actually in the student's code.
    lines = {m: _line(assignment, m, texts[m], case, cell, on_error) for m in known}
    placed = [m for m in known if lines[m]]
    if not placed and (len(mistakes_among(known)) > 1 or exception_alone(_mine(assignment, case, expected, result))):
        return None  # several explain it, or only an exception does: naming one could mislead
    chosen = placed[0] if placed else known[0]
    return mistake_diagnosis(assignment, chosen, cell, lines[chosen], tuple(m for m in known if m != chosen))


def mistakes_among(ids: list[str]) -> set[str]:
    """The distinct mistakes among stored variants: a family's members (`family=value`) are one."""
    return {mistake_id.split("=")[0] for mistake_id in ids}


# Exceptions that name an identifier of the student's code (a variable never assigned, or read
# before it is): the message points at the mistake itself, not only at the data's shapes.
NAMING_ERRORS = ("NameError", "UnboundLocalError")


def exception_alone(outcome: dict) -> bool:
    """Whether an outcome is an exception that says nothing of where the mistake is (a shape error,
    a key error): matching one names nothing unless the mistake's line is in the cell."""
    return "error" in outcome and str(outcome["error"][0]) not in NAMING_ERRORS


def mistake_diagnosis(
    assignment: Assignment, mistake_id: str, cell: CodeCell | None, line: int | None, also: tuple[str, ...] = ()
) -> Diagnosis:
    """A catalogued mistake as a diagnosis: the author's texts, and the student's line when found."""
    mistake = mistake_texts(assignment)[mistake_id]
    return Diagnosis(
        DiagnosisKind.MISTAKE,
        mistake_id,
        str(mistake["title"]),
        str(mistake["explanation"]),
        str(mistake.get("fix") or ""),
        place=place_at(cell, line) if cell is not None else None,
        also_possible=also,
    )


def mistake_line(assignment: Assignment, mistake_id: str, case: Case, cell: CodeCell | None) -> int | None:
    """The student's line a catalogued mistake most likely sits on (None: not found, or no cell)."""
    return _line(assignment, mistake_id, mistake_texts(assignment)[mistake_id], case, cell, None)


def _line(
    assignment: Assignment, mistake_id: str, text: dict, case: Case, cell: CodeCell | None, on_error
) -> int | None:
    """The line of the student's cell a mistake most likely sits on: for a wrong copy, found by comparing
    the cells (grader.judge.authored); for a module's mistake, by its regex pattern."""
    if cell is None:
        return None
    if text.get("authored"):
        return authored_line(assignment, mistake_id, case.function, cell.source)
    heard = (lambda error: on_error(mistake_id, error)) if on_error is not None else None
    return locate(text.get("pattern"), cell.source, heard)
