"""`from grader import check; check()`: the self-check from inside a student's notebook.

It grades the SAVED notebook file, as `grader check` does (public cases, a fresh sandboxed kernel,
never the kernel the student is working in), and returns a display object: HTML in Jupyter, the
same text as `grader check` elsewhere. It saves nothing on the student's behalf; when cells ran in
this kernel that the saved file does not hold, it says the file looks unsaved.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.model import SubmissionReport, SubmissionStatus
from grader.render.jupyter import check_html, unsaved_note


@dataclass
class CheckResult:
    """What check() shows: _repr_html_ for Jupyter, __repr__ (the terminal's text) elsewhere."""

    notebook: Path
    assignment: Assignment | None = None
    report: SubmissionReport | None = None
    not_isolated: str = ""  # the line saying the kernel was not isolated ("" when it was)
    problem: str = ""  # the check could not run: what is wrong and what to do
    unsaved: list[str] = field(default_factory=list)  # cells run in this kernel, absent from the file

    @property
    def passed(self) -> bool:
        report = self.report
        return (
            report is not None
            and report.status != SubmissionStatus.INVALID
            and bool(report.cases)
            and all(v.passed for v in report.cases)
        )

    def __repr__(self) -> str:
        from grader.render.console import Style, print_report

        lines = [f"Unsaved changes? {unsaved_note(self.notebook, self.unsaved)}", ""] if self.unsaved else []
        if self.problem or self.report is None:
            return "\n".join([*lines, self.problem])
        buffer = io.StringIO()
        print_report(self.report, self.assignment, self.notebook, self.not_isolated, Style(False), out=buffer)
        return "\n".join(lines) + buffer.getvalue().rstrip()

    def _repr_html_(self) -> str:
        return check_html(self.report, self.assignment, self.notebook, self.not_isolated, self.problem, self.unsaved)


def _executed_cells() -> list[str]:
    """The cells this IPython kernel ran before the current one ([] outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    if shell is None:
        return []
    history = list(getattr(shell.history_manager, "input_hist_raw", []) or [])
    return [cell for cell in history[1:-1] if cell.strip()]  # [0] is empty; [-1] is the running cell


def unsaved_cells(notebook: Path, executed: list[str]) -> list[str]:
    """Executed cells whose source the saved notebook does not hold (first lines, for the message)."""
    import nbformat

    try:
        saved = {
            cell.source.strip() for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"
        }
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the grading itself
        return []
    return [cell.strip().splitlines()[0][:60] for cell in executed if cell.strip() not in saved]


def _locate(notebook: str | Path | None, assignment: str | Path | None) -> tuple[Path, Assignment]:
    from grader.assignment.locate import find_assignment

    if notebook is not None:
        path = Path(notebook)
        return path, find_assignment(assignment, near=[path])
    found = find_assignment(assignment, near=[Path.cwd()])
    return Path.cwd() / found.student_notebook, found


def _grade_in_subprocess(path: Path, found: Assignment, no_sandbox: bool) -> tuple[SubmissionReport | None, str, str]:
    """Grade in a fresh Python process: not in the student's kernel, whose event loop is running and
    whose modules the notebook's code may have changed. Returns (report, not-isolated line, problem)."""
    command = [sys.executable, "-m", "grader.verbs.jupyter", str(path.resolve()), str(found.folder)]
    command += ["--no-sandbox"] if no_sandbox else []
    try:
        limit = found.limits.submission_seconds + 120
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit)
        document = json.loads(done.stdout.strip().splitlines()[-1])
        if document.get("problem"):
            return None, "", f"The check cannot start: {document['problem']}"
        return SubmissionReport.from_dict(document["report"]), document["not_isolated"], ""
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, KeyError, TypeError):
        return None, "", "The check could not run: the grader's process failed. Run `grader check` in a terminal."


def _displayed() -> bool:
    """Whether what check() returns is shown: in IPython (Jupyter, the IPython shell) and at the plain
    `python` prompt. A script shows nothing it is not told to print."""
    if hasattr(sys, "ps1"):
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def check(
    notebook: str | Path | None = None, assignment: str | Path | None = None, no_sandbox: bool = False
) -> CheckResult:
    """Check the saved notebook (default: the kernel's folder plus the bundle's student_notebook)
    on the public cases, in a fresh sandboxed kernel; returns what Jupyter displays. Outside
    Jupyter and IPython (a plain script) it also prints the plain-text report. Where no sandbox
    exists the check runs unsandboxed under your own account and says so; as root it needs
    no_sandbox=True to run without one."""
    shown = _displayed()
    result = _checked(notebook, assignment, in_jupyter=shown, no_sandbox=no_sandbox)
    if not shown:
        if notebook is None and not result.problem:
            print(
                f"check(): no notebook path given, so checking {result.notebook} (the assignment's notebook in "
                "the current folder); pass check('my_notebook.ipynb') for another"
            )
        print(repr(result))
    return result


def _checked(
    notebook: str | Path | None, assignment: str | Path | None, in_jupyter: bool, no_sandbox: bool = False
) -> CheckResult:
    from grader.errors import GraderError

    how = (
        ""
        if in_jupyter or notebook is not None
        else " Outside Jupyter, check() needs the notebook's path: check('my_notebook.ipynb')."
    )
    try:
        path, found = _locate(notebook, assignment)
    except GraderError as error:
        return CheckResult(Path(notebook or "notebook.ipynb"), problem=f"The check cannot start: {error}.{how}")
    if not path.is_file():
        return CheckResult(
            path,
            problem=f"{path} is not a saved notebook file: save the notebook, or pass its "
            f"path: check('my_notebook.ipynb').{how}",
        )
    unsaved = unsaved_cells(path, _executed_cells())
    report, not_isolated, problem = _grade_in_subprocess(path, found, no_sandbox)
    return CheckResult(path, found, report, not_isolated=not_isolated, problem=problem, unsaved=unsaved)


def _grade_and_print(notebook: Path, folder: Path, no_sandbox: bool) -> int:
    """The subprocess: grade on the public cases and print the report as one line of JSON."""
    from grader.assignment.manifest import load_assignment
    from grader.errors import GraderError
    from grader.grading import GradeOptions, grade_one
    from grader.judge.expected import ExpectedValues
    from grader.kernel.isolation import kernel_launcher
    from grader.render.errors import error_text
    from grader.verbs.check import not_isolated_note

    found = load_assignment(folder)
    try:
        hidden = () if found.is_bundle else (found.folder, *found.instructor_paths)
        # Only a student's bundle runs unsandboxed as its user: the instructor's folder is never exposed.
        launcher = kernel_launcher(own_code=found.is_bundle, no_sandbox=no_sandbox, hidden=hidden)
    except GraderError as error:
        print(json.dumps({"problem": error_text(error, "call check(no_sandbox=True)")}))
        return 0
    options = GradeOptions(public_only=True, trim_setup=True, sandbox=launcher)
    report = grade_one(notebook, found, ExpectedValues(found), options)
    print(
        json.dumps({"report": report.to_dict(), "not_isolated": not_isolated_note(launcher, no_sandbox)}, default=str)
    )
    return 0


if __name__ == "__main__":  # check()'s process: python -m grader.verbs.jupyter NOTEBOOK ASSIGNMENT [--no-sandbox]
    sys.exit(_grade_and_print(Path(sys.argv[1]), Path(sys.argv[2]), "--no-sandbox" in sys.argv[3:]))
