"""The second, isolated pass: a caller's failing cases rerun as if the functions it calls were correct.

A function's points reflect its own code ([grading] callers = "alone", the default). After the
as-written run, every graded function with failing cases that calls, directly or through others
(the manifest's `calls`), a graded function failing its own cases has those cases run again: in a
fresh kernel with the same sandbox, limits and runner, from the student's notebook with each
failing callee's graded cell replaced by the solution's. The solution's code is readable in that
kernel, so the pass brings back one bit per case, passed or not. No value, message, printed line,
error, note or diagnosis of it reaches a report, a gradebook row or the feedback: the verdicts keep
the as-written run's differences, and only `CaseVerdict.alone` records the bit. Without a solution
notebook (a student's bundle), or when a case cannot be run there (the kernel died, timed out or
never started), the case keeps `alone = None` and its as-written verdict.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

from grader.assignment.manifest import Assignment, AssignmentError
from grader.grading.judging import CaseJudge
from grader.grading.runner import KernelRunner
from grader.grading.solution import with_cells
from grader.judge.authored import solution_cells
from grader.judge.compare import compare
from grader.judge.expected import ExpectedValues
from grader.model import Case, CaseVerdict, SubmissionReport
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
    """The failing cases to rerun, grouped by the failing callees to replace (one kernel per group)."""
    failing = {verdict.function for verdict in report.cases if not verdict.passed}
    by_id = {case.id: case for case in cases}
    groups: dict[tuple[str, ...], list[Case]] = {}
    for verdict in report.cases:
        callees = () if verdict.passed else failing_callees(assignment, verdict.function, failing)
        if callees and verdict.case_id in by_id:
            groups.setdefault(tuple(sorted(callees)), []).append(by_id[verdict.case_id])
    return groups


def rerun_callers(
    report: SubmissionReport,
    parsed: ParsedNotebook,
    assignment: Assignment,
    cases: list[Case],
    expected: ExpectedValues,
    options: GradeOptions,
) -> None:
    """Set `alone` on every failing case of a caller of failing callees that could be rerun. All the
    groups together get one submission's time (Limits.submission_seconds) at most."""
    groups = plan(report, assignment, cases)
    if options.execute_all and not parsed.setup:  # only the graded cells would load: no imports to run them
        return
    solution = _solution(assignment) if groups else None
    if solution is None:
        return
    limits = options.limits or assignment.limits
    deadline = time.monotonic() + limits.submission_seconds
    outcomes: dict[str, bool] = {}
    for callees, group in groups.items():
        replaced = {name: solution[name] for name in callees if name in solution}
        if len(replaced) == len(callees) and time.monotonic() < deadline:
            outcomes.update(passes_alone(with_cells(parsed, replaced), assignment, group, expected, options, deadline))
    for verdict in report.cases:
        verdict.alone = outcomes.get(verdict.case_id, verdict.alone)


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
    workdir = Path(tempfile.mkdtemp(prefix="grader-alone-"))
    runner = None
    try:
        os.chmod(workdir, 0o755)
        assignment.prepare_workdir(workdir)
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
        shutil.rmtree(workdir, ignore_errors=True)


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
