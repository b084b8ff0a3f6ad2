"""`grader expected [--check]`: write the stored expected values from the reference, or verify them."""

from __future__ import annotations

from grader.assignment.manifest import Assignment
from grader.errors import UserError
from grader.judge import expected as store
from grader.render.staleness import deviation_text, stale_text


def expected(*, assignment: Assignment, check: bool = False) -> int:
    """Write the expected values (0), or with `check` compare them: 0 current, 1 stale."""
    if assignment.is_bundle:
        raise UserError(
            f"{assignment.folder} is a release bundle: expected values are made in the instructor's assignment folder"
        )
    if check:
        report = store.check(assignment)
        for problem in report.problems:
            print(stale_text(problem))
        print(deviation_text(report.largest))
        print(
            "expected values are current"
            if not report.problems
            else f"{len(report.problems)} stored values differ from the reference: run `grader expected`"
        )
        return 1 if report.problems else 0
    for path in store.write(assignment):
        print(f"wrote {path}")
    return 0
