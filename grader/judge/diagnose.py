"""Saying what a failing case most likely got wrong, not only which number differs: the entry point.

`diagnose` picks the diagnosis to show, from what the other modules find:

- grader.judge.matching: a catalogued mistake whose stored variant behaves exactly like the
  student's answer (grader.judge.catalogue loads the catalogue, grader.judge.outcomes builds and
  compares the outcomes, grader.judge.outcome_store keeps the variants' outcomes);
- grader.judge.families: a family's variant, with a value stated in the cell or fitted, confirmed
  by re-running it;
- grader.judge.advice: when nothing matches, where the numbers first go wrong and what that
  usually points to.

A correct solution (which passes) is never diagnosed, and a wrong one is named only when it
behaves exactly like the catalogued mistake.
"""

from __future__ import annotations

from grader.assignment.manifest import Assignment
from grader.judge.advice import localise, unwritten_region
from grader.judge.compare import Comparison
from grader.judge.families import family_mistake
from grader.judge.matching import named_mistake
from grader.model import Case, Expected, KernelResult
from grader.model.diagnosis import Diagnosis, DiagnosisBudget
from grader.model.notebook import CodeCell


def diagnose(
    assignment: Assignment,
    case: Case,
    expected: Expected,
    result: KernelResult,
    comparison: Comparison,
    cell: CodeCell | None = None,
    budget: DiagnosisBudget | None = None,
) -> Diagnosis | None:
    """The likely mistake behind a failing case (None when it passed); never raises.

    `budget` is what the submission may still spend re-running variants (one per submission,
    shared by its cases); without one, this case gets the limits' whole budget to itself. What the
    catalogue's hooks raise is noted in it (`hook_failures`) for the instructor, never hidden."""
    if comparison.passed:
        return None
    budget = budget if budget is not None else DiagnosisBudget.from_limits(assignment.limits)
    stored = None
    try:
        stored = named_mistake(
            assignment, case, expected, result, cell, lambda m, e: budget.hook_failed("pattern", m, case.id, e)
        )
        if stored is not None and stored.place is not None:
            return stored
    except Exception as error:  # noqa: BLE001 - a diagnosis is a bonus: grading goes on, the instructor hears
        budget.hook_failed("catalogue", "", case.id, error)
    try:  # a family read in the cell and confirmed beats a stored variant whose line is not there;
        # a value merely fitted from the numbers does not beat a stored variant that gives them exactly
        named = family_mistake(assignment, case, expected, result, cell, budget, fit=stored is None)
        if named:
            return named
    except Exception as error:  # noqa: BLE001 - likewise
        budget.hook_failed("families", "", case.id, error)
    if stored:
        return stored
    try:  # no catalogued mistake: a NameError with a region left empty says so, before the advice
        return unwritten_region(assignment, comparison, cell) or localise(assignment, case, comparison)
    except Exception as error:  # noqa: BLE001 - likewise (an ADVICE explanation function that raised)
        budget.hook_failed("advice", "", case.id, error)
        return None
