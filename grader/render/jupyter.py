"""check()'s view in Jupyter: the self-check's report as HTML, through the `check.html` template."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grader.model import SubmissionReport
from grader.render.console import check_view
from grader.render.feedback import environment

if TYPE_CHECKING:
    from grader.assignment.manifest import Assignment

MAX_UNSAVED_SHOWN = 3


def unsaved_note(notebook: Path, unsaved: list[str]) -> str:
    """What to say when the kernel ran cells the saved file does not hold ("" when it holds them all)."""
    if not unsaved:
        return ""
    return (
        f"The saved file {notebook.name} does not hold {len(unsaved)} cell(s) this kernel ran (for example: "
        + "; ".join(repr(s) for s in unsaved[:MAX_UNSAVED_SHOWN])
        + "). The check grades the saved file: save "
        "the notebook (Ctrl-S / Cmd-S) and run check() again."
    )


def check_html(
    report: SubmissionReport | None,
    assignment: Assignment | None,
    notebook: Path,
    not_isolated: str,
    problem: str,
    unsaved: list[str],
) -> str:
    """The check's HTML: the problem that stopped it, or per function passed or failed, the first
    failing case and its likely cause."""
    view = None
    if report is not None and assignment is not None and not problem:
        view = check_view(report, assignment, notebook, not_isolated)
    return (
        environment()
        .get_template("check.html")
        .render(view=view, problem=problem, unsaved=unsaved_note(notebook, unsaved))
    )
