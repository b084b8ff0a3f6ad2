"""`grader check NOTEBOOK`: the student's self-check on the public cases, in one screen.

It needs only what the release bundle holds (the manifest, the support files and the public
tests' expected values), and grades exactly as the instructor's grader does, minus the hidden
cases. Per graded function it says passed or failed and, for a failure, which quantity differs;
the course's submission rules come out as warnings.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.grading import GradeOptions, grade_notebook
from grader.judge.expected import ExpectedValues
from grader.model import CaseVerdict, Limits, SubmissionReport
from grader.reports.text import shown

MAX_MESSAGES_PER_CASE = 3
MAX_FINDINGS = 8
EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class _Style:
    """ANSI colours when wanted, plain text otherwise."""

    CODES = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(self.CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"


def use_color(color: str, stream=None) -> bool:
    """--color always/never, or auto: colour only on a terminal, and never when NO_COLOR is set."""
    stream = stream or sys.stdout
    if color == "always":
        return True
    if color == "never":
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


class _Printer:
    """Lines on a terminal: a student's text (any text but the printer's own colours) goes through
    wrapped(), which shows its control characters as escapes, and nothing the stream cannot encode
    is ever written."""

    def __init__(self, style: _Style, out):
        self.style, self.out = style, out
        self.width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 110))
        self.encoding = getattr(out, "encoding", None) or "utf-8"

    def line(self, text: str = "") -> None:
        print(text.encode(self.encoding, "backslashreplace").decode(self.encoding), file=self.out)

    def wrapped(self, text: str, indent: int, max_lines: int | None = None, *styles: str, lead: str = "") -> None:
        """`text` wrapped, its control characters shown as escapes; `lead`, a label of the printer's
        own, starts it in bold."""
        lines = textwrap.wrap(lead + shown(text), width=self.width - indent, break_long_words=False,
                              break_on_hyphens=False, max_lines=max_lines, placeholder=" …") or [""]
        label = lead.rstrip()
        if label and lines[0].startswith(label):
            lines[0] = self.style(label, "bold") + lines[0][len(label):]
        for line in lines:
            self.line(" " * indent + self.style(line, *styles))


def _case_lines(printer: _Printer, verdict: CaseVerdict, seen: dict[tuple[str, ...], str],
                diagnosed: set[str]) -> None:
    printer.wrapped(f"✗ {verdict.description}", 4, None, "red")
    messages = tuple(verdict.messages) or (f"{verdict.status}",)
    if messages in seen:
        printer.wrapped("fails the same way as the case above", 8, None, "dim")
    else:
        seen[messages] = verdict.description
        for message in messages[:MAX_MESSAGES_PER_CASE]:
            printer.wrapped(message, 8)
        if len(messages) > MAX_MESSAGES_PER_CASE:
            rest = len(messages) - MAX_MESSAGES_PER_CASE
            printer.wrapped(f"(and {rest} more difference{'s' if rest > 1 else ''})", 8, None, "dim")
    diagnosis = verdict.diagnosis
    if isinstance(diagnosis, dict) and diagnosis.get("title") and diagnosis["title"] not in diagnosed:
        diagnosed.add(diagnosis["title"])  # said once per function
        if diagnosis.get("mistake"):  # a catalogued mistake: named, with the line and the fix
            printer.wrapped(str(diagnosis["title"]), 8, lead="Likely mistake: ")
            if diagnosis.get("line"):
                printer.wrapped(f"at {diagnosis['line']}", 10)
            for key in ("explanation", "fix"):
                if diagnosis.get(key):
                    printer.wrapped(("Fix: " if key == "fix" else "") + str(diagnosis[key]).strip(), 10, 5)
            return
        explanation = str(diagnosis.get("explanation", "")).strip()
        printer.wrapped(f"{diagnosis['title']}" + (f" — {explanation}" if explanation else ""), 8, 5,
                        lead="Likely cause: ")


def _function_block(printer: _Printer, report: SubmissionReport, function: str) -> bool:
    style = printer.style
    verdicts = report.cases_of(function)
    passed = sum(v.passed for v in verdicts)
    ok = bool(verdicts) and passed == len(verdicts)
    status = style("passed", "green", "bold") if ok else style("FAILED", "red", "bold")
    counted = f"{passed} of {len(verdicts)} public cases" if verdicts else "no public case"
    printer.line(f"{style(function, 'bold')}: {status} ({counted})")
    seen: dict[tuple[str, ...], str] = {}
    diagnosed: set[str] = set()
    for verdict in verdicts:
        if not verdict.passed:
            _case_lines(printer, verdict, seen, diagnosed)
    return ok


def not_isolated_note(sandbox, no_sandbox: bool) -> str:
    """The one line a self-check prints when its kernel was not isolated ("" when it was)."""
    from grader.kernel.isolation import Isolation, describe, isolation_of, not_sandboxed_reason

    if isolation_of(sandbox) != Isolation.NONE:
        return ""
    if no_sandbox:
        return f"note: this run was not isolated (--no-sandbox): {describe(sandbox)}."
    return (f"note: this run was not isolated, because {not_sandboxed_reason()} The notebook's code ran with your "
            "own permissions.")


def print_report(report: SubmissionReport, assignment: Assignment, notebook: Path, not_isolated: str,
                 style: _Style, out=None) -> int:
    """Print the self-check of one graded report; returns the exit status. `not_isolated` is the
    line saying the kernel was not isolated ("" when it was)."""
    printer = _Printer(style, out or sys.stdout)
    printer.line(style(f"Checking {shown(notebook.name)} on the public cases of {assignment.title}", "bold"))
    if not_isolated:
        printer.wrapped(not_isolated, 0, None, "dim")
    if report.status == "invalid":
        printer.line()
        for problem in report.problems:
            printer.wrapped(problem, 0, None, "red")
        printer.line(style("This file cannot be graded.", "red", "bold"))
        return EXIT_INVALID
    printer.line()
    results = [_function_block(printer, report, graded.name) for graded in assignment.functions]

    shown_messages = {m for v in report.cases for m in v.messages}
    problems = [p for p in report.problems if p not in shown_messages]  # a cell's load error: said with its cases
    if report.findings:
        printer.line()
        printer.line(style("Warnings", "yellow", "bold") + " (the course's submission rules; fix them before "
                                                           "submitting):")
        for finding in report.findings[:MAX_FINDINGS]:
            where = finding.where()
            printer.wrapped(f"{where}: {finding.message}" if where else finding.message, 2)
        if len(report.findings) > MAX_FINDINGS:
            printer.wrapped(f"… and {len(report.findings) - MAX_FINDINGS} more warnings of the same kinds", 2,
                            None, "dim")
    if problems:
        printer.line()
        printer.line(style("Problems", "red", "bold") + ":")
        for problem in problems:
            printer.wrapped(problem, 2)

    passed = sum(v.passed for v in report.cases)
    printer.line()
    if all(results) and report.cases:
        printer.line(style(f"All {passed} public cases passed", "green", "bold")
                     + f" in {report.seconds:.1f} s. Hidden cases are graded after you submit.")
        return EXIT_PASSED
    printer.line(style(f"{passed} of {len(report.cases)} public cases passed", "red", "bold")
                 + f" in {report.seconds:.1f} s. Fix what is listed above and check again.")
    return EXIT_FAILED


def run_check(notebook: Path, assignment: Assignment, color: str, sandbox, limits: Limits | None = None,
              no_sandbox: bool = False) -> int:
    """Grade a notebook on the public cases and print what passed and what differs.

    Exit status: 0 every public case passed, 1 something failed, 2 the file cannot be graded.
    """
    notebook = Path(notebook)
    style = _Style(use_color(color))
    if not notebook.is_file():
        print(style(f"{notebook} is not a file: pass the path of your .ipynb notebook.", "red"), file=sys.stdout)
        return EXIT_INVALID
    expected = ExpectedValues(assignment)
    report = grade_notebook(notebook, assignment, expected,
                            GradeOptions(public_only=True, sandbox=sandbox, limits=limits))
    return print_report(report, assignment, notebook, not_isolated_note(sandbox, no_sandbox), style=style)
