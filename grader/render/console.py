"""The self-check's screen (`grader check`, and check() outside Jupyter): a view of the report, printed
through the `check.txt` template.

A student's text (anything but the template's own labels and colours) goes through the `wrapped`
filter, which shows its control characters as escapes and wraps it to the terminal; nothing the
stream cannot encode is ever written.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from grader.model import CaseVerdict, SubmissionReport, SubmissionStatus
from grader.model.notes import CellRaised, SetupLinesSkipped, to_json
from grader.render.diagnosis import DiagnosisWords, diagnosis_words
from grader.render.feedback import environment
from grader.render.findings import finding_text, where
from grader.render.notes import note_text, skipped_setup_text
from grader.render.text import shown
from grader.render.verdicts import case_messages
from grader.render.views import CheckCaseView, CheckFunctionView, CheckView

if TYPE_CHECKING:
    from grader.assignment.manifest import Assignment

MAX_MESSAGES_PER_CASE = 3
MAX_FINDINGS = 8
EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
CODES = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}


def use_color(color: str, stream=None) -> bool:
    """--color always/never, or auto: colour only on a terminal, and never when NO_COLOR is set."""
    stream = stream or sys.stdout
    if color == "always":
        return True
    if color == "never":
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


class Style:
    """ANSI colours when wanted, plain text otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        return f"\033[{';'.join(CODES[s] for s in styles)}m{text}\033[0m"


def _wrapper(style: Style, width: int):
    def wrapped(text: str, indent: int, max_lines: int | None = None, styles: tuple = (), lead: str = "") -> str:
        """`text` wrapped, its control characters shown as escapes; `lead`, a label of the printer's
        own, starts it in bold."""
        lines = textwrap.wrap(
            lead + shown(text),
            width=width - indent,
            break_long_words=False,
            break_on_hyphens=False,
            max_lines=max_lines,
            placeholder=" …",
        ) or [""]
        label = lead.rstrip()
        if label and lines[0].startswith(label):
            lines[0] = style(label, "bold") + lines[0][len(label) :]
        return "\n".join(" " * indent + style(line, *styles) for line in lines)

    return wrapped


def _key(verdict: CaseVerdict) -> str:
    """Two cases that fail the same way, told apart by their records, never by their sentences."""
    return (
        json.dumps(
            [to_json(d) for d in verdict.differences] + [to_json(n) for n in verdict.notes], sort_keys=True, default=str
        )
        or verdict.status
    )


def _case(verdict: CaseVerdict, same: bool, found: DiagnosisWords | None, names: tuple, labels: tuple) -> CheckCaseView:
    messages = case_messages(verdict, names, labels) or [str(verdict.status)]
    return CheckCaseView(
        description=verdict.description,
        same=same,
        messages=tuple(messages[:MAX_MESSAGES_PER_CASE]),
        more=max(0, len(messages) - MAX_MESSAGES_PER_CASE),
        diagnosis=found,
    )


def _failing_cases(verdicts: list[CaseVerdict], names: tuple, labels: tuple) -> tuple[CheckCaseView, ...]:
    """A function's failing cases: one failing the same way as a case before it says so, and each likely
    mistake is said once per function, with the first case it explains."""
    seen: set[str] = set()
    diagnosed: set[str] = set()
    cases = []
    for verdict in verdicts:
        if verdict.passed:
            continue
        key = _key(verdict)
        found = diagnosis_words(verdict.diagnosis, verdict.public) if verdict.diagnosis is not None else None
        if found is not None and (not found.title or found.title in diagnosed):
            found = None
        cases.append(_case(verdict, key in seen, found, names, labels))
        seen.add(key)
        if found is not None:
            diagnosed.add(found.title)
    return tuple(cases)


def _function(report: SubmissionReport, graded) -> CheckFunctionView:
    verdicts = report.cases_of(graded.name)
    passed = sum(v.passed for v in verdicts)
    cases = _failing_cases(verdicts, tuple(graded.returns), tuple(graded.labels))
    return CheckFunctionView(
        name=graded.name, ok=bool(verdicts) and passed == len(verdicts), passed=passed, total=len(verdicts), cases=cases
    )


def check_view(report: SubmissionReport, assignment: Assignment, notebook: Path, not_isolated: str) -> CheckView:
    """What the self-check's screen shows."""
    functions = tuple(_function(report, graded) for graded in assignment.functions)
    said_with_cases = {note.function for v in report.cases for note in v.notes if isinstance(note, CellRaised)}
    problems = tuple(
        note_text(p)
        for p in report.problems
        if not (isinstance(p, CellRaised) and p.function in said_with_cases or isinstance(p, SetupLinesSkipped))
    )
    findings = [f"{where(f)}: {finding_text(f)}" if where(f) else finding_text(f) for f in report.findings]
    passed = sum(v.passed for v in report.cases)
    return CheckView(
        notebook=notebook.name,
        title=assignment.title,
        not_isolated=not_isolated,
        invalid=report.status == SubmissionStatus.INVALID,
        functions=functions,
        problems=problems,
        skipped=skipped_setup_text([p for p in report.problems if isinstance(p, SetupLinesSkipped)]),
        findings=tuple(findings[:MAX_FINDINGS]),
        more_findings=max(0, len(findings) - MAX_FINDINGS),
        passed=passed,
        total=len(report.cases),
        all_passed=all(f.ok for f in functions) and bool(report.cases),
        seconds=report.seconds,
    )


def print_report(
    report: SubmissionReport, assignment, notebook: Path, not_isolated: str, style: Style, out=None
) -> int:
    """Print the self-check of one graded report; returns the exit status. `not_isolated` is the
    line saying the kernel was not isolated ("" when it was)."""
    out = out or sys.stdout
    view = check_view(report, assignment, notebook, not_isolated)
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 110))
    template = environment().get_template("check.txt")
    text = template.render(view=view, style=style, wrapped=_wrapper(style, width), shown=shown)
    encoding = getattr(out, "encoding", None) or "utf-8"
    out.write(text.encode(encoding, "backslashreplace").decode(encoding))
    if view.invalid:
        return EXIT_INVALID
    return EXIT_PASSED if view.all_passed else EXIT_FAILED
