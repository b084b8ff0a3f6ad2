"""Saying what a failing case most likely got wrong, not only which number differs: the entry point.

`diagnose` picks the diagnosis to show, from what the other modules find:

- grader.judge.matching: a catalogued mistake whose stored variant behaves exactly like the
  student's answer (grader.judge.catalogue loads the catalogue, grader.judge.outcomes builds and
  compares the outcomes, grader.judge.outcome_store keeps the variants' outcomes);
- grader.judge.families: a family's variant, with a value stated in the cell or fitted, confirmed
  by re-running it;
- grader.judge.mutant_match (after every case ran: `name_by_mutants`): a slip of the solution that
  no catalogue entry describes, whose stored mutant behaves as the student's function on every case;
- grader.judge.advice: when nothing matches, where the numbers first go wrong and what that
  usually points to.

A correct solution (which passes) is never diagnosed, and a wrong one is named only when it
behaves exactly like the catalogued mistake.
"""

from __future__ import annotations

from grader.assignment.manifest import Assignment
from grader.judge.advice import localise, unwritten_region
from grader.judge.catalogue import mistake_texts
from grader.judge.compare import Comparison
from grader.judge.expected import ExpectedValues
from grader.judge.families import family_mistake
from grader.judge.matching import exception_alone, mistake_diagnosis, mistake_line, mistakes_among, named_mistake
from grader.judge.mutant_match import Ran, behaves_as, mutant_diagnosis
from grader.judge.mutant_store import read_mutants
from grader.judge.outcomes import same_outcome, student_outcome, variant_outcome
from grader.model import Case, CaseStatus, CaseVerdict, Expected, KernelResult, python_value
from grader.model.diagnosis import Diagnosis, DiagnosisBudget, DiagnosisKind
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


def note_outcome(
    assignment: Assignment, case: Case, expected: Expected, result: KernelResult, budget: DiagnosisBudget
) -> None:
    """Keep the student's outcome on a compared case, passed or failed: what `name_by_mutants` compares
    with the stored variants over all of a function's cases."""
    try:
        names, tol = assignment.function(case.function).returns, assignment.tolerance(case.function, case)
        budget.outcomes[case.id] = student_outcome(result, expected, case, names, tol)
    except Exception as error:  # noqa: BLE001 - a diagnosis is a bonus
        budget.hook_failed("mutants", "", case.id, error)


def name_by_mutants(
    assignment: Assignment,
    cases: list[Case],
    verdicts: list[CaseVerdict],
    cells: dict[str, CodeCell],
    budget: DiagnosisBudget,
    expected: ExpectedValues | None = None,
) -> None:
    """Once every case ran, what needs all of a function's cases: a catalogued mistake named on a case
    is kept only when its stored outcomes are the student's on every case the function ran (else the
    case gets the plain advice); then, for each function whose failures nothing catalogued explains,
    the slip of the solution its outcomes match on every case (grader.judge.mutant_match) becomes the
    diagnosis of its failing cases."""
    failing = {v.function for v in verdicts if v.status != CaseStatus.PASSED}
    by_id = {case.id: case for case in cases}
    for function in dict.fromkeys(v.function for v in verdicts):
        if function not in failing:
            continue
        own = [v for v in verdicts if v.function == function]
        ran = _ran(assignment, by_id, own, budget, expected)
        if ran is None:
            continue
        if expected is not None:
            _keep_consistent(assignment, by_id, own, ran, expected)
            _name_across(assignment, by_id, own, ran, expected, cells.get(function))
        if set(assignment.function(function).calls) & failing:
            continue
        if any(v.diagnosis is not None and v.diagnosis.kind not in _REPLACED for v in own if not v.passed):
            continue
        try:
            table = read_mutants(assignment)  # read only when needed (once per process and file)
            if table is None:
                return
            found = mutant_diagnosis(assignment, cases, ran, table, function, cells.get(function))
        except Exception as error:  # noqa: BLE001 - a diagnosis is a bonus
            budget.hook_failed("mutants", "", own[0].case_id, error)
            continue
        for verdict in own:
            if found is not None and not verdict.passed:
                verdict.diagnosis = found


_REPLACED = (DiagnosisKind.ADVICE,)  # what a mutant's name may replace


def _keep_consistent(
    assignment: Assignment,
    cases: dict[str, Case],
    own: list[CaseVerdict],
    ran: dict[str, Ran],
    expected: ExpectedValues,
) -> None:
    """A catalogued mistake named on one case whose stored variant behaves otherwise than the student's
    function on another case it ran (passes where the student failed, fails where the student
    passed, or fails otherwise) is not the student's mistake: those cases get the plain advice. One
    that behaves so on every case is the diagnosis of the failing cases that got only the advice."""
    named = [v.diagnosis for v in own if v.diagnosis is not None and v.diagnosis.kind == DiagnosisKind.MISTAKE]
    for mistake in dict.fromkeys(d.mistake for d in named):
        if all(_alike(assignment, cases[case_id], expected, mistake, mine) for case_id, mine in ran.items()):
            found = next(d for d in named if d.mistake == mistake)
            for verdict in own:
                if not verdict.passed and verdict.diagnosis is not None and verdict.diagnosis.kind in _REPLACED:
                    verdict.diagnosis = found
            continue
        for verdict in own:
            if verdict.diagnosis is not None and verdict.diagnosis.mistake == mistake:
                verdict.diagnosis = localise(assignment, cases[verdict.case_id], Comparison(list(verdict.differences)))


def _name_across(
    assignment: Assignment,
    cases: dict[str, Case],
    own: list[CaseVerdict],
    ran: dict[str, Ran],
    expected: ExpectedValues,
    cell: CodeCell | None,
) -> None:
    """When no case of the function is named, a catalogued mistake whose stored variant behaves as
    the student's function on every case it ran, the only one to, names its failing cases (several
    variants may match one case, and only one all of them). Through exceptions alone, only with its
    line in the cell."""
    failing = [v for v in own if not v.passed]
    if not failing or any(v.diagnosis is None or v.diagnosis.kind not in _REPLACED for v in failing):
        return
    stored = {m for case_id in ran for m in expected.for_case(case_id).variants}
    matching = [
        m
        for m in mistake_texts(assignment)
        if m in stored and all(_alike(assignment, cases[case_id], expected, m, mine) for case_id, mine in ran.items())
    ]
    if len(mistakes_among(matching)) != 1:
        return
    case = cases[failing[0].case_id]
    line = mistake_line(assignment, matching[0], case, cell)
    if not line and all(exception_alone(ran[v.case_id].outcome or {}) for v in failing):
        return
    found = mistake_diagnosis(assignment, matching[0], cell, line)
    for verdict in failing:
        verdict.diagnosis = found


def _alike(assignment: Assignment, case: Case, expected: ExpectedValues, mistake: str | None, mine: Ran) -> bool:
    return behaves_as(assignment, case, expected.for_case(case.id).variants.get(mistake or ""), mine)


def _ran(
    assignment: Assignment,
    cases: dict[str, Case],
    own: list[CaseVerdict],
    budget: DiagnosisBudget,
    expected: ExpectedValues | None,
) -> dict[str, Ran] | None:
    """{case id: whether it passed, the student's outcome, and whether that is the reference's} over
    the cases that were compared; None when a case was not (a timeout, a crash, a cell that did not
    run): the function's record is not whole."""
    ran: dict[str, Ran] = {}
    for verdict in own:
        if verdict.status in (CaseStatus.PASSED, CaseStatus.FAILED) and verdict.case_id in budget.outcomes:
            mine = budget.outcomes[verdict.case_id]
            case = cases[verdict.case_id]
            like = expected is not None and _like_reference(assignment, case, expected.for_case(case.id), mine)
            ran[verdict.case_id] = Ran(verdict.passed, mine, like)
        elif verdict.status != CaseStatus.SKIPPED:
            return None
    return ran


def _like_reference(assignment: Assignment, case: Case, expected: Expected, mine: dict) -> bool:
    """Whether an outcome is the reference's, as a stored variant's is compared with it."""
    names, tol = assignment.function(case.function).returns, assignment.tolerance(case.function, case)
    raw = {"returned": python_value(expected.returned), "stdout": list(expected.stdout)}
    return same_outcome(case, variant_outcome(raw, case, names), mine, tol.rtol, tol.atol)
