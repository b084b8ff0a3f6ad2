"""`grader check NOTEBOOK`: the student's self-check on the public cases, in one screen.

It needs only what the release bundle holds (the manifest, the support files and the public
tests' expected values), and grades exactly as the instructor's grader does, minus the hidden
cases. Per graded function it says passed or failed and, for a failure, which quantity differs;
the course's submission rules come out as warnings.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.grading import GradeOptions, grade_one
from grader.judge.expected import ExpectedValues
from grader.model import Limits
from grader.render.console import EXIT_INVALID, Style, print_report, use_color


def not_isolated_note(sandbox, no_sandbox: bool) -> str:
    """The one line a self-check prints when its kernel was not isolated ("" when it was)."""
    from grader.kernel.isolation import Isolation, isolation_of, not_sandboxed_reason
    from grader.render.isolation import not_isolated_note as note

    if isolation_of(sandbox) != Isolation.NONE:
        return ""
    return note(sandbox, no_sandbox, None if no_sandbox else not_sandboxed_reason())


def run_check(
    notebook: Path,
    assignment: Assignment,
    color: str,
    sandbox,
    limits: Limits | None = None,
    no_sandbox: bool = False,
    kernel=None,
) -> int:
    """Grade a notebook on the public cases and print what passed and what differs; `kernel`, one
    started ahead for it (grader.kernel.ahead), the caller's to discard.

    Exit status: 0 every public case passed, 1 something failed, 2 the file cannot be graded.
    """
    notebook = Path(notebook)
    style = Style(use_color(color))
    if not notebook.is_file():
        print(style(f"{notebook} is not a file: pass the path of your .ipynb notebook.", "red"), file=sys.stdout)
        return EXIT_INVALID
    expected = ExpectedValues(assignment)
    options = GradeOptions(public_only=True, trim_setup=True, sandbox=sandbox, limits=limits, kernel=kernel)
    report = grade_one(notebook, assignment, expected, options)
    return print_report(report, assignment, notebook, not_isolated_note(sandbox, no_sandbox), style=style)
