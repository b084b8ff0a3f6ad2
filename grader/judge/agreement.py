"""Whether the solution notebook's answers can stand as the expected values, or agree with a reference.

`grader expected` runs the solution notebook in the sandbox kernel on every case. Without a
reference module, its answers become the expected values, so a case where it raised or did not
finish is refused. With one, each answer is judged against the reference's exactly as a student's
would be (grader.judge.compare, within the case's tolerance): a reference that drifted from the
solution would otherwise grade the instructor's own solution wrong, silently.
"""

from __future__ import annotations

from grader.assignment.manifest import Assignment
from grader.errors import GraderError
from grader.judge.compare import compare
from grader.model import Case, CaseVerdict, Expected, KernelResult
from grader.model.staleness import Disagreement

#: what the kernel sent back for a case, or the verdict of a call that did not finish
Answer = KernelResult | CaseVerdict


class SolutionRefused(GraderError):
    """The solution notebook's run cannot give the expected values (grader.render.staleness words it)."""

    def __init__(self, found: list[Disagreement], reference: bool):
        super().__init__(f"the solution notebook's run is refused on {len(found)} case(s)")
        self.found = found
        self.reference = reference  #: True: it was checked against a reference module


def unfinished(case: Case, answer: Answer, mistake: str = "") -> Disagreement | None:
    """The case's problem when its call gave no answer, or raised (None when it answered)."""
    if isinstance(answer, CaseVerdict):
        return Disagreement(case.id, case.function, status=str(answer.status), mistake=mistake)
    error = answer.meta.error
    if error is not None and not mistake:
        return Disagreement(case.id, case.function, error=(error.type, error.message))
    return None


def failures(cases: list[Case], answers: dict[str, Answer]) -> list[Disagreement]:
    """The cases where the solution's run gives no value to store."""
    found = [unfinished(case, answers[case.id]) for case in cases]
    return [problem for problem in found if problem is not None]


def disagreements(
    assignment: Assignment, cases: list[Case], expected: dict[str, Expected], answers: dict[str, Answer]
) -> list[Disagreement]:
    """The cases where the solution's answer fails against the reference's, with what differs."""
    found = []
    for case in cases:
        answer = answers[case.id]
        if isinstance(answer, CaseVerdict):
            found.append(Disagreement(case.id, case.function, status=str(answer.status)))
            continue
        names = assignment.function(case.function).returns
        comparison = compare(case, expected[case.id], answer, assignment.tolerance(case.function, case), names)
        if not comparison.passed:
            found.append(Disagreement(case.id, case.function, differences=tuple(comparison.differences)))
    return found
