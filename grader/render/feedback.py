"""Per-submission reports: results.json for Gradescope, feedback.md and feedback.html for the student.

All three are written from the SubmissionReport alone. A hidden case appears by its one-line
description, its verdict and the verdict's messages (compare.py keeps those free of expected
values); its recipe, inputs and expected values are never passed to a template, so no report can
show them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from grader.model import CaseVerdict, SubmissionReport
from grader.model.paths import display_path
from grader.render.diagnosis import DiagnosisWords, diagnosis_words
from grader.render.findings import RULES_INTRO, finding_spans, finding_text, where
from grader.render.notes import note_text
from grader.render.text import shown, shown_tree
from grader.render.verdicts import case_messages
from grader.render.views import (
    CaseView,
    CurveView,
    DiagnosisView,
    FeedbackView,
    FindingView,
    FirstDifferenceView,
    FunctionView,
    ToFixView,
)

if TYPE_CHECKING:
    from grader.assignment.manifest import Assignment

TEMPLATES = Path(__file__).parent / "templates"

# Gradescope's visibility for our hidden cases. "visible": the student sees the case's description
# and verdict right after submitting, which is what makes a hidden case useful feedback ("five
# layers: the cost at iteration 0 differs") while its inputs and expected values stay secret; they
# never reach results.json at all. Gradescope's own "hidden"/"after_published" would instead hold
# back the very verdict the student needs to fix the code before the deadline.
HIDDEN_CASE_VISIBILITY = "visible"

NOT_ISOLATED = (
    "WARNING: NOT ISOLATED. This submission was graded without the OS sandbox: its code could "
    "have read or changed files on the grading machine, including the hidden cases. Treat this "
    "result with care and grade again with the sandbox before relying on it."
)

STATUS_LABELS = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "timeout": "timed out",
    "crashed": "crashed",
    "skipped": "not run",
}
BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
MAX_CURVE_CHARS = 4_000_000
MAX_PARAMETER_MESSAGES = 4  # differences shown per dict or list before the rest are summed up
MAX_NAMES_LISTED = 12
# What markdown_text escapes with a backslash: every character that opens or closes an inline
# construct (links, images, emphasis, code, autolinks of bare URLs and addresses, tables).
# An underscore between two letters or digits can neither open nor close emphasis, so names like
# train_model stay as they are.
MARKDOWN_ACTIVE = re.compile(r"[\\`*\[\]()!~|:@{}]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
BLOCK_STARTS = tuple("#+-=")
DiagnosisKey = tuple[str, str, str, str]  # what makes two cases' diagnoses the same one: title, explanation, fix, line


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The templates' environment: HTML templates autoescaped, every variable required."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_text
    env.filters["code"] = markdown_code
    env.filters["points"] = points
    env.filters["md_spans"] = markdown_spans
    env.globals["rules_intro"] = RULES_INTRO
    env.globals["cases_passed"] = cases_passed
    return env


def _one_line(value: object) -> str:
    """Text on one line: a line break inside a list item would end the item (or start a heading)."""
    return re.sub(r"\s*[\r\n]\s*", " / ", str(value).strip()).replace("\t", " ")


def markdown_text(value: object) -> str:
    """Plain text made inert inside Markdown: shown as written, never as a link, image, HTML or emphasis.

    <, > and & become entities (no raw HTML); every other character that can open or close an
    inline construct is backslash-escaped, ':' and '@' included, so that no bare URL or address
    turns into a link; a leading character that could start a block (a heading, a list) too.
    """
    text = _one_line(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = MARKDOWN_ACTIVE.sub(lambda match: "\\" + match.group(0), text)
    text = re.sub(r"(?i)\b(www)\.", r"\1\\.", text)
    text = re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", text)  # "1." would start an ordered list
    return "\\" + text if text[:1] in BLOCK_STARTS else text


def markdown_code(value: object) -> str:
    """A whole Markdown code span holding `value` literally: nothing in a code span is active.

    Its fence is one backtick longer than the longest run of backticks in the text, and spaces pad
    a text that starts or ends with a backtick, so no text can close the span early.
    """
    text = _one_line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text[:1] in "` " or text[-1:] in "` " else text
    return f"{fence}{padded or ' '}{fence}"


def cases_passed(passed: int, total: int, kind: str = "") -> str:
    """ "All 4 public cases passed", "the public case passed", "1 of 3 cases passed": agreeing in number."""
    kind = f"{kind} " if kind else ""
    if total == 1 and passed == 1:
        return f"the {kind}case passed"
    if passed == total:
        return f"all {total} {kind}cases passed"
    return f"{passed} of {total} {kind}case{'s' if total != 1 else ''} passed"


def markdown_spans(spans: tuple[tuple[str, bool], ...]) -> str:
    """(text, is code) pieces as one Markdown line: code as code spans, text inert, and the spaces
    between the pieces kept."""
    out = []
    for text, code in spans:
        if code:
            out.append(markdown_code(text))
            continue
        stripped = text.strip()
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        out.append((" " if lead else "") + (markdown_text(stripped) if stripped else "") + (" " if trail else ""))
    return "".join(out)


def points(value: float) -> str:
    """6.25, 50, 12.5: as few digits as the number needs."""
    return f"{round(float(value), 2):g}"


def anchor(text: str) -> str:
    """A stable, HTML-safe id fragment for a function or a case."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def verdict_line(report: SubmissionReport) -> tuple[str, bool]:
    """One sentence for the whole submission, and whether it is all good."""
    if report.status == "invalid":
        return "Not graded: this file cannot be graded as a notebook of this assignment (see the problem below).", False
    if report.status == "error":
        return (
            "Not graded: the grader itself failed on this submission (see the problems below); "
            "it is graded again on the next run."
        ), False
    passed = sum(1 for c in report.cases if c.passed)
    total = len(report.cases)
    sentence = cases_passed(passed, total)
    return sentence[:1].upper() + sentence[1:] + ".", bool(total) and passed == total


def _function_order(report: SubmissionReport, assignment) -> list[str]:
    names = [f.name for f in assignment.functions] if assignment is not None else list(report.function_points)
    for verdict in report.cases:
        if verdict.function not in names:
            names.append(verdict.function)
    return names


def _diagnosis(verdict: CaseVerdict) -> DiagnosisWords | None:
    """The likely cause, in the words the templates show (None when there is none)."""
    if verdict.diagnosis is None:
        return None
    words = diagnosis_words(verdict.diagnosis, verdict.public)
    return words if words.title else None


def capped_messages(
    verdict: CaseVerdict, keep: int = MAX_PARAMETER_MESSAGES, names: tuple[str, ...] = (), labels: tuple = ()
) -> list[str]:
    """A case's messages with a long run of differences inside one dict or list cut to the first `keep`.

    A five-layer network that trains wrongly differs in all ten of its arrays; ten near-identical
    lines bury the one that matters, so the rest are named in a single "and N more" line. The
    messages worded from `verdict.differences` come first, one per difference, in their order.
    """
    messages = case_messages(verdict, names, labels)
    differences = verdict.differences[: len(messages)]
    groups: dict[tuple, list[int]] = {}
    for index, difference in enumerate(differences):
        if len(difference.path) >= 2:
            groups.setdefault(difference.path[:-1], []).append(index)
    dropped = [index for members in groups.values() if len(members) > keep + 1 for index in members[keep:]]
    if not dropped:  # "and 1 more" would save nothing
        return messages
    listed_names = [display_path(differences[i].path, names) for i in dropped]
    listed = ", ".join(listed_names[:MAX_NAMES_LISTED]) + (", ..." if len(listed_names) > MAX_NAMES_LISTED else "")
    summary = f"and {len(dropped)} more differ as well: {listed}"
    gone = set(dropped)
    shown = [message for index, message in enumerate(messages) if index not in gone]
    shown.insert(min(dropped), summary)  # every message before the first dropped one is kept
    return shown


def _returns(assignment, function: str) -> tuple[tuple[str, ...], tuple]:
    """The manifest's names of a function's returned parts, and its labels (none without an assignment)."""
    try:
        graded = assignment.function(function) if assignment is not None else None
    except KeyError:
        graded = None
    return (tuple(graded.returns), tuple(graded.labels)) if graded is not None else ((), ())


def curves_of(report: SubmissionReport, assignment) -> dict[str, str]:
    """The student's curve (the returned series the manifest names as `curve`) beside the reference's,
    for public cases long enough to draw one, in the functions that lost points: where a student would
    rather look than read. (Drawing costs a fifth of a second per curve, so passing functions, whose
    curves coincide, get none.)"""
    failing = {verdict.function for verdict in report.cases if not verdict.passed}
    if not failing or assignment is None or not assignment.curve:
        return {}
    from grader.render.plots import curves_for

    shown = dataclasses.replace(report, cases=[v for v in report.cases if v.function in failing])
    try:
        return curves_for(shown, _expected_values(assignment), assignment)
    except Exception:  # noqa: BLE001 - a picture must never cost a report
        return {}


_EXPECTED: dict[tuple[str, str], object] = {}


def _expected_values(assignment):
    """The assignment's expected values, read once per process (the curves' reference series)."""
    from grader.judge.expected import ExpectedValues

    key = (str(assignment.folder), assignment.version)
    if key not in _EXPECTED:
        _EXPECTED[key] = ExpectedValues(assignment)
    return _EXPECTED[key]


def _curve(extras: dict, case_id: str) -> str | None:
    """A base64 PNG for the case from extras["curves"], when well formed."""
    curves = extras.get("curves") if isinstance(extras, dict) else None
    data = curves.get(case_id) if isinstance(curves, dict) else None
    if not isinstance(data, str):
        return None
    data = "".join(data.split())
    if len(data) > MAX_CURVE_CHARS or not BASE64.match(data):
        return None
    return data


def _case(
    verdict: CaseVerdict,
    found: DiagnosisWords | None,
    shared: DiagnosisView | None,
    extras: dict,
    names: tuple[str, ...] = (),
    labels: tuple = (),
) -> CaseView:
    return CaseView(
        id=verdict.case_id,
        anchor="case-" + anchor(verdict.case_id),
        description=verdict.description,
        hidden=verdict.visibility != "visible",
        status=verdict.status,
        label=STATUS_LABELS.get(verdict.status, verdict.status),
        passed=verdict.passed,
        score=verdict.score,
        max_score=verdict.max_score,
        messages=tuple(capped_messages(verdict, names=names, labels=labels)),
        diagnosis=found,
        diagnosis_ref=shared,  # the function-level diagnosis this case shares
        curve=_curve(extras, verdict.case_id) if verdict.public else None,
    )


def _diagnosis_key(found: DiagnosisWords) -> DiagnosisKey:
    return found.title, found.explanation, found.fix, found.line


def _seen_in(count: int, failing: int) -> str:
    if count == failing > 1:
        return f"Seen in all {failing} failing cases."
    return "Seen in the failing case." if count == failing else f"Seen in {count} of the {failing} failing cases."


def _shared_diagnoses(
    function_anchor: str, failed: list[tuple[str, DiagnosisWords | None]]
) -> dict[DiagnosisKey, DiagnosisView]:
    """Each distinct diagnosis of a function's failing cases (their descriptions and diagnoses) once, with
    the cases it explains, by its key.

    The same mistake usually breaks every case of a function; its explanation is said once at the
    top of the function's section and each case only points at it.
    """
    first: dict[DiagnosisKey, DiagnosisWords] = {}
    explained: dict[DiagnosisKey, list[str]] = {}
    for description, found in failed:
        if found is not None:
            key = _diagnosis_key(found)
            first.setdefault(key, found)
            explained.setdefault(key, []).append(description)
    return {
        key: DiagnosisView(
            title=found.title,
            explanation=found.explanation,
            fix=found.fix,
            place=found.place,
            code=found.code,
            line=found.line,
            named=found.named,
            anchor=f"{function_anchor}-diagnosis-{number}",
            cases=tuple(explained[key]),
            seen_in=_seen_in(len(explained[key]), len(failed)),
        )
        for number, (key, found) in enumerate(first.items(), start=1)
    }


def _function(name: str, report: SubmissionReport, extras: dict, assignment=None) -> FunctionView:
    names, labels = _returns(assignment, name)
    verdicts = report.cases_of(name)
    found = [_diagnosis(verdict) for verdict in verdicts]
    function_anchor = "function-" + anchor(name)
    shared = _shared_diagnoses(
        function_anchor,
        [(verdict.description, words) for verdict, words in zip(verdicts, found, strict=True) if not verdict.passed],
    )
    cases = tuple(
        _case(
            verdict,
            words,
            shared[_diagnosis_key(words)] if words and not verdict.passed else None,
            extras,
            names,
            labels,
        )
        for verdict, words in zip(verdicts, found, strict=True)
    )
    failed = tuple(c for c in cases if not c.passed)
    passed = tuple(c for c in cases if c.passed)
    # The cost curves worth a look: those of failing cases (a passing case's curve is the reference's).
    curves = tuple(CurveView(data=c.curve, case=c.description, case_anchor=c.anchor) for c in failed if c.curve)
    points_of = report.function_points.get(name, sum(c.max_score for c in cases))
    score = report.function_scores.get(name, 0.0)
    return FunctionView(
        name=name,
        anchor=function_anchor,
        score=score,
        points=points_of,
        # a case that failed only through its callees (it passed with correct ones) needs no fix here
        lost_points=score < points_of - 1e-9 or any(not verdict.earns for verdict in verdicts),
        cases=cases,
        failed_cases=failed,
        passed_cases=passed,
        passed=len(passed),
        diagnoses=tuple(shared.values()),
        curves=curves,
    )


def _to_fix(function: FunctionView) -> ToFixView:
    """One entry of "What to fix": the function's score and its likeliest mistake or first difference."""
    named = tuple(d for d in function.diagnoses if d.named)
    first_failed = function.failed_cases[0] if function.failed_cases else None
    first = None
    if not named and first_failed is not None:
        localised = first_failed.diagnosis
        first = FirstDifferenceView(
            case=first_failed.description,
            case_anchor=first_failed.anchor,
            message=first_failed.messages[0] if first_failed.messages else first_failed.label,
            meaning=localised.title if localised else "",
        )
    return ToFixView(function=function, mistakes=named, first_difference=first)


def feedback_view(
    report: SubmissionReport, assignment: Assignment | None = None, extras: dict | None = None
) -> FeedbackView:
    """Everything the feedback templates show (nothing secret is in it)."""
    extras = dict(extras or {})
    if "curves" not in extras:
        extras["curves"] = curves_of(report, assignment)
    verdict, all_passed = verdict_line(report)
    functions = tuple(_function(name, report, extras, assignment) for name in _function_order(report, assignment))
    graded = report.status == "graded"
    return FeedbackView(
        title=getattr(assignment, "title", None) or report.assignment,
        report=report,
        score=report.score,
        max_score=report.max_score,
        verdict=verdict,
        all_passed=all_passed,
        isolated=not report.ran_unisolated,
        not_isolated=NOT_ISOLATED,
        problems=tuple(note_text(problem) for problem in report.problems),
        findings=tuple(
            FindingView(where=where(f), rule=f.family, message=finding_text(f), spans=finding_spans(f))
            for f in report.findings
        ),
        functions=functions,
        to_fix=tuple(_to_fix(f) for f in functions if f.lost_points) if graded else (),
        curve_name=getattr(assignment, "curve", "") or "returned values",  # the series the curves draw
    )


def _case_output(verdict: CaseVerdict, names: tuple[str, ...] = (), labels: tuple = ()) -> str:
    lines = [f"{STATUS_LABELS.get(verdict.status, verdict.status)}: {verdict.description}"]
    lines += case_messages(verdict, names, labels)
    found = _diagnosis(verdict)
    if found:
        lines.append(f"Likely mistake: {found.title}" + (f" ({found.place}: {found.code})" if found.place else ""))
        lines += [text for text in (found.explanation, found.fix) if text]
    return "\n".join(lines)


def case_text(verdict: CaseVerdict, assignment=None) -> str:
    """A case's verdict, messages and likely mistake, as results.json and the pytest plugin show it."""
    return _case_output(verdict, *_returns(assignment, verdict.function))


def _submission_output(report: SubmissionReport) -> str:
    lines = []
    if report.ran_unisolated:
        lines += [NOT_ISOLATED, ""]
    lines.append(f"Score: {points(report.score)} / {points(report.max_score)}. {verdict_line(report)[0]}")
    if report.problems:
        lines += ["", "Problems:"] + [f"- {note_text(p)}" for p in report.problems]
    if report.findings:
        lines += ["", "Submission rules:"]
        lines += [f"- {where(f) + ': ' if where(f) else ''}{finding_text(f)}" for f in report.findings]
    return "\n".join(lines)


def gradescope_results(report: SubmissionReport, assignment=None) -> dict:
    """The Gradescope autograder results document: one test per case, named after its function.

    Each test's name starts with the function's name and its tags hold it, so Gradescope can group
    them. A hidden case is shown with HIDDEN_CASE_VISIBILITY (see there): by description and verdict.
    """
    tests = []  # the texts are shown as a report holds them (grader.render.text): strict JSON readers too
    for number, name in enumerate(_function_order(report, assignment), start=1):
        for index, verdict in enumerate(report.cases_of(name), start=1):
            public = verdict.visibility == "visible"
            tests.append(
                {
                    "name": f"{name}: {verdict.description}",
                    "number": f"{number}.{index}",
                    "score": round(verdict.score, 6),
                    "max_score": round(verdict.max_score, 6),
                    "status": "passed" if verdict.earns else "failed",  # right alone: its output says why
                    "output": _case_output(verdict, *_returns(assignment, name)),
                    "visibility": "visible" if public else HIDDEN_CASE_VISIBILITY,
                    "tags": [name, "public" if public else "hidden", verdict.status],
                }
            )
    document = shown_tree(
        {
            "score": round(report.score, 6),
            "execution_time": round(report.seconds, 2),
            "output": _submission_output(report),
            "tests": tests,
            "extra_data": {
                "submission": report.name,
                "sha256": report.sha256,
                "assignment": report.assignment,
                "assignment_version": report.assignment_version,
                "status": report.status,
                "isolated": report.isolated,
            },
        }
    )
    assert isinstance(document, dict)  # shown_tree keeps the shape it is given
    return document


def render_markdown(report: SubmissionReport, assignment: Assignment | None = None, extras: dict | None = None) -> str:
    return environment().get_template("feedback.md").render(view=feedback_view(report, assignment, extras))


def render_html(report: SubmissionReport, assignment: Assignment | None = None, extras: dict | None = None) -> str:
    return environment().get_template("feedback.html").render(view=feedback_view(report, assignment, extras))


def write_text_atomically(path: Path, text: str) -> None:
    """Write a report through a temporary file and a rename, so a reader never sees half of it.

    The text is written as shown() makes it: a student's lone surrogate or control character
    becomes an escape, so every report is written, as valid UTF-8, whatever the student wrote.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(shown(text))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_submission_reports(
    report: SubmissionReport, folder: Path, assignment=None, extras: dict | None = None
) -> None:
    """Write results.json, feedback.md and feedback.html for one submission into `folder`."""
    folder = Path(folder)
    write_text_atomically(folder / "results.json", json.dumps(gradescope_results(report, assignment), indent=1) + "\n")
    view = feedback_view(report, assignment, extras)  # once for both pages: its curves are drawn once
    write_text_atomically(folder / "feedback.md", environment().get_template("feedback.md").render(view=view))
    write_text_atomically(folder / "feedback.html", environment().get_template("feedback.html").render(view=view))
