"""Running the solution notebook's graded functions in the kernel, as `grader expected` needs them.

The solution is run by the very runner a student's notebook gets (grader.grading.runner, in the
sandbox unless the command said --no-sandbox): its setup and graded cells are loaded, each case is
called by the harness, and the answer comes back as plain data (grader.kernel.untrusted), never
unpickled. An authored mistake is run the same way, in a kernel of its own, with its wrong copy in
place of its function's graded cell: a fresh kernel per mistake keeps one variant's state (a global
it set, a function it redefined) from reaching the next, and is exactly a student's notebook holding
that mistake.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from grader.assignment.manifest import Assignment
from grader.grading.judging import CaseJudge
from grader.grading.runner import KernelRunner, kernel_folder
from grader.judge.agreement import Answer
from grader.judge.authored import solution_cells
from grader.model import Case, CaseVerdict
from grader.model.notebook import CodeCell, ParsedNotebook
from grader.model.options import GradeOptions

#: (function -> source of the cell to run in place of its graded cell, the cases) -> each case's answer
SolutionRunner = Callable[[dict[str, str], list[Case]], dict[str, Answer]]


def with_cells(parsed: ParsedNotebook, replaced: dict[str, str]) -> ParsedNotebook:
    """The notebook with some graded cells' code replaced, each at its cell's place."""
    changed = copy.copy(parsed)
    changed.graded = dict(parsed.graded)
    for function, source in replaced.items():
        index = parsed.graded[function].index
        changed.graded[function] = CodeCell(index, source)
    changed.cells = [changed.graded.get(_graded_at(parsed, c.index), c) for c in parsed.cells]
    return changed


def _graded_at(parsed: ParsedNotebook, index: int) -> str:
    return next((name for name, cell in parsed.graded.items() if cell.index == index), "")


def run_notebook(
    parsed: ParsedNotebook, assignment: Assignment, cases: list[Case], sandbox: object
) -> dict[str, Answer]:
    """Each case's answer from one fresh kernel loaded with the notebook (public cases first, as in grading)."""
    runner = None
    with kernel_folder(assignment, "grader-solution-") as workdir:
        try:
            runner = KernelRunner(parsed, assignment, workdir, GradeOptions(sandbox=sandbox), assignment.limits)
            judge = CaseJudge(runner, assignment)
            answers: dict[str, Answer] = {}
            for case in sorted(cases, key=lambda c: not c.public):
                called = judge.call(case)
                answers[case.id] = called if isinstance(called, CaseVerdict) else called[0]
            return answers
        finally:
            if runner is not None:
                runner.close()


def solution_runner(assignment: Assignment, sandbox: Callable[[], object]) -> SolutionRunner | None:
    """How `grader expected` runs the solution notebook (None when the assignment has none). `sandbox`
    gives the kernels' launcher, asked for only when a kernel is to start (it may refuse)."""
    cells = solution_cells(assignment)
    if cells is None:
        return None
    chosen: list[object] = []

    def run(replaced: dict[str, str], cases: list[Case]) -> dict[str, Answer]:
        if not chosen:
            chosen.append(sandbox())
        return run_notebook(with_cells(cells.parsed, replaced), assignment, cases, chosen[0])

    return run
