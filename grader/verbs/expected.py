"""`grader expected [--check]`: write the stored expected values from the reference, or verify them.

The solution notebook is run in the sandbox kernel (grader.grading.solution), as a student's is:
as the reference when the assignment has no other, checked against the reference when it has one,
and with each authored mistake in place of its function. The kernels' launcher is chosen only when
a kernel is about to start, so that an assignment answered by a reference module alone needs none.
"""

from __future__ import annotations

import sys

from grader.assignment.manifest import Assignment
from grader.errors import UserError
from grader.grading.solution import solution_runner
from grader.judge import expected as store
from grader.judge.agreement import SolutionRefused
from grader.kernel.isolation import kernel_launcher
from grader.render.mutant_wording import mutants_text
from grader.render.staleness import deviation_text, refused_text, stale_text, unclear_text


def expected(*, assignment: Assignment, check: bool = False, no_sandbox: bool = False) -> int:
    """Write the expected values (0), or with `check` compare them: 0 current, 1 stale; 2 when the
    solution notebook's run is refused (nothing is written)."""
    if assignment.is_bundle:
        raise UserError(
            f"{assignment.folder} is a release bundle: expected values are made in the instructor's assignment folder"
        )
    hidden = (assignment.folder, *assignment.instructor_paths)
    solution = solution_runner(
        assignment, lambda: kernel_launcher(own_code=False, no_sandbox=no_sandbox, hidden=hidden)
    )
    try:
        return _check(assignment, solution) if check else _write(assignment, solution)
    except SolutionRefused as error:
        print(refused_text(error, assignment), file=sys.stderr)
        return 2


def _check(assignment: Assignment, solution: store.SolutionRunner | None) -> int:
    report = store.check(assignment, solution)
    for problem in report.problems:
        print(stale_text(problem))
    print(deviation_text(report.largest))
    if report.mutants is not None:
        print(mutants_text(report.mutants))
    print(
        "expected values are current"
        if not report.problems
        else f"{len(report.problems)} stored values differ from the reference: run `grader expected`"
    )
    return 1 if report.problems else 0


def _write(assignment: Assignment, solution: store.SolutionRunner | None) -> int:
    paths, warnings, mutants = store.write(assignment, solution)
    for path in paths:
        print(f"wrote {path}")
    if mutants is not None:
        print(mutants_text(mutants))
    for warning in warnings:
        print(f"warning: {unclear_text(warning)}")
    return 0
