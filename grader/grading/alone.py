"""The second, isolated pass: a caller's failing cases rerun as if the functions it calls were correct.

A function's points reflect its own code ([grading] callers = "alone", the default). After the
as-written run, every graded function with failing cases that calls, directly or through others
(the manifest's `calls`), a graded function failing its own cases has those cases run again with
the solution's cells of those failing callees in place.

Where: in the same kernel, once every as-written case has been judged and everything reported of
it has been read (rerun_in_kernel), so the pass costs the reruns only, not a kernel start. The
callers run callees first: a failing callee's own reruns run before the solution's version of it is
bound. A case the same kernel cannot answer (the kernel stopped or timed out during the pass, a
solution cell would not load) runs in a fresh kernel with the same sandbox, limits and runner, from
the student's notebook with those cells replaced (rerun_callers).

The solution's code is readable in either kernel, so the pass brings back one bit per case, passed
or not. No value, message, printed line, error, note or diagnosis of it reaches a report, a
gradebook row or the feedback: the verdicts keep the as-written run's differences, and only
`CaseVerdict.alone` records the bit. Without a solution notebook (a student's bundle), or when a
case cannot be run at all, the case keeps `alone = None` and its as-written verdict.
"""

from __future__ import annotations

import dataclasses
import time

from grader.assignment.manifest import Assignment, AssignmentError
from grader.grading.judging import CaseJudge
from grader.grading.runner import KernelRunner, kernel_folder
from grader.grading.solution import with_cells
from grader.judge.authored import solution_cells
from grader.judge.compare import compare
from grader.judge.expected import ExpectedValues
from grader.model import Case, CaseVerdict, CellStatus, SubmissionReport
from grader.model.notebook import ParsedNotebook
from grader.model.options import GradeOptions


def callees_of(assignment: Assignment, function: str) -> tuple[str, ...]:
    """The graded functions `function` calls, directly first, then through others (the manifest's `calls`)."""
    found: list[str] = []
    frontier = [function]
    while frontier:
        for callee in assignment.function(frontier.pop(0)).calls:
            if callee != function and callee not in found:
                found.append(callee)
                frontier.append(callee)
    return tuple(found)


def failing_callees(assignment: Assignment, function: str, failing: set[str]) -> tuple[str, ...]:
    """The functions `function` calls (directly or not) that fail their own cases."""
    return tuple(name for name in callees_of(assignment, function) if name in failing)


def plan(report: SubmissionReport, assignment: Assignment, cases: list[Case]) -> dict[tuple[str, ...], list[Case]]:
    """The failing cases still to rerun (no `alone` bit yet), grouped by the failing callees to replace."""
    failing = {verdict.function for verdict in report.cases if not verdict.passed}
    by_id = {case.id: case for case in cases}
    groups: dict[tuple[str, ...], list[Case]] = {}
    for verdict in report.cases:
        rerun = not verdict.passed and verdict.alone is None
        callees = failing_callees(assignment, verdict.function, failing) if rerun else ()
        if callees and verdict.case_id in by_id:
            groups.setdefault(tuple(sorted(callees)), []).append(by_id[verdict.case_id])
    return groups


def rerun_in_kernel(report: SubmissionReport, judge: CaseJudge, cases: list[Case], expected: ExpectedValues) -> None:
    """Set `alone` on the failing cases of callers of failing callees, in the as-written kernel: call
    this only once nothing more of that kernel will be reported. Callers run callees first, each with
    the solution's cells of its failing callees bound; the pass stops at the first case that leaves the
    kernel unusable (the rest go to rerun_callers' fresh kernels)."""
    groups = plan(report, judge.assignment, cases)
    solution = _solution(judge.assignment) if groups else None
    if not groups or solution is None:
        return
    assignment, runner = judge.assignment, judge.runner
    reruns: dict[str, list[Case]] = {}
    for case in (case for group in groups.values() for case in group):
        reruns.setdefault(case.function, []).append(case)
    failing = {verdict.function for verdict in report.cases if not verdict.passed}
    bound: set[str] = set()
    outcomes: dict[str, bool] = {}
    for function in sorted(reruns, key=lambda name: len(callees_of(assignment, name))):  # callees first
        wanted = set(failing_callees(assignment, function, failing)) - bound
        if wanted & set(reruns) - set(_done(reruns, outcomes)) or not wanted <= set(solution):
            continue  # a callee whose own reruns are not done (calls in a cycle), or not in the solution
        if not _bind(runner, [solution[name] for name in sorted(wanted)]):
            break
        bound |= wanted
        for case in sorted(reruns[function], key=lambda c: not c.public):
            passed = _passed(judge, case, expected) if runner.ready else None
            if passed is None:
                break
            outcomes[case.id] = passed
        if not runner.ready:
            break
    for verdict in report.cases:
        verdict.alone = outcomes.get(verdict.case_id, verdict.alone)


def _done(reruns: dict[str, list[Case]], outcomes: dict[str, bool]) -> list[str]:
    """The functions whose reruns all have a bit."""
    return [name for name, group in reruns.items() if all(case.id in outcomes for case in group)]


def _bind(runner: KernelRunner, sources: list[str]) -> bool:
    """Run the solution's cells in the kernel (their functions replace the student's); False when one
    did not run cleanly, or the kernel is not there. Nothing of what they printed or raised is kept."""
    for source in sources:
        if not runner.ready or runner.remaining() <= 0:
            return False
        outcome = runner.session.run(source, runner.case_timeout())
        if not outcome.ok:
            runner.ready = outcome.status not in (CellStatus.TIMEOUT, CellStatus.DIED) and runner.ready
            return False
    return True


def rerun_callers(
    report: SubmissionReport,
    parsed: ParsedNotebook,
    assignment: Assignment,
    cases: list[Case],
    expected: ExpectedValues,
    options: GradeOptions,
) -> None:
    """Set `alone` on every failing case of a caller of failing callees that could be rerun. All the
    kernels together get one submission's time (Limits.submission_seconds) at most.

    One kernel mostly does: every caller's failing cases run with the failing callees that are not
    themselves rerun replaced (linear_forward, for linear_activation_forward and L_model_forward).
    A caller whose failing callee is rerun there (L_model_forward, through linear_activation_forward)
    keeps that result only if the callee passed all its reruns: right when its own callees are. The
    others run again, each group of cases with all its failing callees replaced, in a kernel of its own."""
    groups = plan(report, assignment, cases)
    if not groups or (options.execute_all and not parsed.setup):  # without setup cells: no imports to run them
        return
    solution = _solution(assignment)
    if solution is None:
        return
    limits = options.limits or assignment.limits
    deadline = time.monotonic() + limits.submission_seconds
    callers: dict[str, list[Case]] = {}
    for case in (case for group in groups.values() for case in group):
        callers.setdefault(case.function, []).append(case)
    leaves = {callee for callees in groups for callee in callees} - set(callers)
    outcomes = _run_with(
        parsed, assignment, solution, leaves, [c for g in groups.values() for c in g], expected, options, deadline
    )
    standing = _standing(groups, callers, outcomes)
    outcomes = {case.id: outcomes[case.id] for d in standing for case in callers[d] if case.id in outcomes}
    for callees, group in groups.items():
        again = [case for case in group if case.function not in standing]
        if again:
            outcomes.update(_run_with(parsed, assignment, solution, set(callees), again, expected, options, deadline))
    for verdict in report.cases:
        verdict.alone = outcomes.get(verdict.case_id, verdict.alone)


def _standing(
    groups: dict[tuple[str, ...], list[Case]], callers: dict[str, list[Case]], outcomes: dict[str, bool]
) -> set[str]:
    """The callers whose results in the first kernel stand: each failing callee of theirs was replaced
    there, or is a caller that stands and passed every one of its reruns (right when its callees are)."""
    callees_of_caller = {case.function: set(callees) for callees, group in groups.items() for case in group}
    standing: set[str] = set()
    changed = True
    while changed:  # the calls form a small graph: settle it from the callers with no rerun callee up
        changed = False
        for caller, callees in callees_of_caller.items():
            rerun = callees & set(callers)
            right = all(d in standing and all(outcomes.get(c.id) is True for c in callers[d]) for d in rerun)
            if caller not in standing and right:
                standing.add(caller)
                changed = True
    return standing


def _run_with(
    parsed: ParsedNotebook,
    assignment: Assignment,
    solution: dict[str, str],
    replaced: set[str],
    cases: list[Case],
    expected: ExpectedValues,
    options: GradeOptions,
    deadline: float,
) -> dict[str, bool]:
    """The cases' pass or fail in one fresh kernel with the solution's cells of `replaced` (none run
    when the solution lacks one, or the time is up)."""
    if not replaced or not replaced <= set(solution) or time.monotonic() >= deadline:
        return {}
    notebook = with_cells(parsed, {name: solution[name] for name in sorted(replaced)})
    return passes_alone(notebook, assignment, cases, expected, options, deadline)


def _solution(assignment: Assignment) -> dict[str, str] | None:
    """The solution notebook's graded cells' code by function (None without one, as in a bundle)."""
    try:
        cells = solution_cells(assignment)
    except AssignmentError:  # `grader expected` names it; grading goes on as written
        return None
    if cells is None:
        return None
    return {name: cell.source for name, cell in cells.parsed.graded.items()}


def passes_alone(
    parsed: ParsedNotebook,
    assignment: Assignment,
    cases: list[Case],
    expected: ExpectedValues,
    options: GradeOptions,
    deadline: float,
) -> dict[str, bool]:
    """Each case's pass (True) or fail (False) in a fresh kernel loaded with `parsed`; a case that could
    not be run is left out. Nothing else the kernel did is kept: not its notes, problems or errors."""
    runner = None
    with kernel_folder(assignment, "grader-alone-") as workdir:
        try:
            only_cells = dataclasses.replace(options, execute_all=False)
            runner = KernelRunner(parsed, assignment, workdir, only_cells, options.limits or assignment.limits)
            runner.deadline = min(runner.deadline, deadline)
            judge = CaseJudge(runner, assignment)
            outcomes: dict[str, bool] = {}
            for case in sorted(cases, key=lambda c: not c.public):  # public first, as in grading
                passed = _passed(judge, case, expected)
                if passed is not None:
                    outcomes[case.id] = passed
            return outcomes
        except Exception:  # noqa: BLE001 - the pass only ever adds points: when it breaks, the verdicts stand
            return {}
        finally:
            if runner is not None:
                runner.close()


def _passed(judge: CaseJudge, case: Case, expected: ExpectedValues) -> bool | None:
    """Whether the case passes; None when the kernel sent nothing back (it stopped, timed out, or never
    started). Compared only: no diagnosis is looked for, and nothing of the result is kept."""
    called = judge.call(case)
    if isinstance(called, CaseVerdict):
        return None
    result, _seconds = called
    names = judge.assignment.function(case.function).returns
    tolerance = judge.assignment.tolerance(case.function, case)
    return compare(case, expected.for_case(case.id), result, tolerance, names).passed
