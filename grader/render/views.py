"""What the templates show, as frozen views: the feedback pages (feedback.html, feedback.md), the self-check
(check.txt, check.html) and the class summary (summary.html).

Each view is built in one pass from the records (grader/model) by the module that renders it and is never
changed afterwards; sequences are tuples. The templates read them by attribute. Nothing secret is in them:
a hidden case appears by its description, verdict and messages only (see grader.render.feedback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.model import CaseStatus, SubmissionReport
from grader.render.diagnosis import DiagnosisWords

if TYPE_CHECKING:
    from grader.assignment.manifest import Assignment

# --- the feedback pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagnosisView:
    """A likely mistake of a function's failing cases, said once at the top of its section."""

    title: str  #: the mistake, in a few words
    explanation: str  #: why it is believed ("" when none)
    fix: str  #: what to change ("" when none)
    place: str  #: "cell 5, line 12" ("" when no line is pointed at)
    code: str  #: the code on that line
    line: str  #: "cell 5, line 12: code"
    named: bool  #: a catalogued mistake, not only where the numbers part
    anchor: str  #: its id in feedback.html
    cases: tuple[str, ...]  #: the descriptions of the failing cases it explains
    seen_in: str  #: "Seen in 2 of the 3 failing cases."


@dataclass(frozen=True)
class CaseView:
    """One case of a function, as the feedback lists it."""

    id: str  #: the case's id
    anchor: str  #: its id in feedback.html
    description: str  #: its one-line description
    hidden: bool  #: a hidden case (its inputs and expected values are never shown)
    status: CaseStatus  #: passed, failed, error, ...
    label: str  #: the status as shown ("timed out", "not run", ...)
    passed: bool  #: the case passed
    score: float  #: the points it earned
    max_score: float  #: the points it is worth
    messages: tuple[str, ...]  #: its differences and notes in words, long runs capped
    diagnosis: DiagnosisWords | None  #: its own likely mistake (None when there is none)
    diagnosis_ref: DiagnosisView | None  #: the function's shared diagnosis it points at (None when none)
    curve: str | None  #: a base64 PNG of its curve (public cases only; None when there is none)


@dataclass(frozen=True)
class CurveView:
    """A failing case's curve drawn in a function's section."""

    data: str  #: the base64 PNG
    case: str  #: the case's description
    case_anchor: str  #: the case's id in feedback.html


@dataclass(frozen=True)
class FunctionView:
    """A graded function's section: its score, shared diagnoses, curves and cases."""

    name: str  #: the function's name
    anchor: str  #: its section's id in feedback.html
    score: float  #: the points it earned
    points: float  #: the points it is worth
    lost_points: bool  #: it earned less than its points, or a case failed
    cases: tuple[CaseView, ...]  #: all its cases, in order
    failed_cases: tuple[CaseView, ...]  #: the cases that did not pass
    passed_cases: tuple[CaseView, ...]  #: the cases that passed
    passed: int  #: how many cases passed
    diagnoses: tuple[DiagnosisView, ...]  #: each distinct diagnosis of its failing cases, once
    curves: tuple[CurveView, ...]  #: the curves of its failing cases


@dataclass(frozen=True)
class FirstDifferenceView:
    """What "What to fix" says of a function with no named mistake: its first failing case's first message."""

    case: str  #: the case's description
    case_anchor: str  #: the case's id in feedback.html
    message: str  #: its first message (its status when it has none)
    meaning: str  #: the title of its own diagnosis ("" when none)


@dataclass(frozen=True)
class ToFixView:
    """One entry of "What to fix": a function that lost points, and its likeliest mistake or first difference."""

    function: FunctionView  #: the function's section (its name, anchor, points and cases)
    mistakes: tuple[DiagnosisView, ...]  #: its named (catalogued) mistakes
    first_difference: FirstDifferenceView | None  #: when no mistake is named, its first difference


@dataclass(frozen=True)
class FindingView:
    """A submission rule the notebook breaks, as the feedback lists it."""

    where: str  #: "cell 31, line 2" ("" when the finding has no place)
    rule: str  #: the course rule's family (RULE_FAMILIES)
    message: str  #: the finding in words
    spans: tuple[tuple[str, bool], ...] = ()  #: the same words as (text, is code) pieces


@dataclass(frozen=True)
class FeedbackView:
    """Everything feedback.html and feedback.md show of one submission."""

    title: str  #: the assignment's title (its name without an assignment)
    report: SubmissionReport  #: the report (its name, hash, versions and time)
    score: float  #: the points earned
    max_score: float  #: the points it is worth
    verdict: str  #: one sentence for the whole submission
    all_passed: bool  #: every case passed
    isolated: bool  #: graded inside the OS sandbox
    not_isolated: str  #: the warning shown when it was not
    problems: tuple[str, ...]  #: the submission's problems in words
    findings: tuple[FindingView, ...]  #: the submission rules it breaks
    functions: tuple[FunctionView, ...]  #: one section per function, in the assignment's order
    to_fix: tuple[ToFixView, ...]  #: the functions that lost points (none unless graded)
    curve_name: str  #: the series the curves draw


# --- the self-check (check.txt, check.html) ---------------------------------------------------------------


@dataclass(frozen=True)
class CheckCaseView:
    """A failing public case on the self-check's screen."""

    description: str  #: its one-line description
    same: bool  #: it fails the same way as a case listed before it
    messages: tuple[str, ...]  #: its first messages (at most MAX_MESSAGES_PER_CASE)
    more: int  #: how many messages are left out
    diagnosis: DiagnosisWords | None  #: its likely mistake, unless the function already said it (or none)


@dataclass(frozen=True)
class CheckFunctionView:
    """A graded function on the self-check's screen: passed or not, and its failing cases."""

    name: str  #: the function's name
    ok: bool  #: it has cases and all passed
    passed: int  #: how many of its cases passed
    total: int  #: how many cases it has
    cases: tuple[CheckCaseView, ...]  #: its failing cases


@dataclass(frozen=True)
class CheckView:
    """Everything the self-check shows, in the terminal (check.txt) and in Jupyter (check.html)."""

    notebook: str  #: the notebook's file name
    title: str  #: the assignment's title
    not_isolated: str  #: the line saying the kernel was not isolated ("" when it was)
    invalid: bool  #: the file cannot be graded
    functions: tuple[CheckFunctionView, ...]  #: one per graded function
    problems: tuple[str, ...]  #: the problems in words (a cell's error already said with its cases left out)
    skipped: str  #: the setup lines this check left out, in words ("" when none)
    findings: tuple[str, ...]  #: the first rule findings in words (at most MAX_FINDINGS)
    more_findings: int  #: how many findings are left out
    passed: int  #: how many cases passed
    total: int  #: how many cases were run
    all_passed: bool  #: there are cases and every function passed
    seconds: float  #: how long the check took


# --- the class summary (summary.html) ---------------------------------------------------------------------


@dataclass(frozen=True)
class HistogramBinView:
    """One column of the score histogram."""

    label: str  #: "30-39" (percent of the maximum score)
    count: int  #: the submissions in it
    height: float  #: its height, in percent of the tallest column


@dataclass(frozen=True)
class CaseRateView:
    """A case's pass rate over the graded submissions."""

    id: str  #: the case's id
    function: str  #: its function's name
    description: str  #: its one-line description
    hidden: bool  #: a hidden case
    passed: int  #: the submissions that passed it
    total: int  #: the submissions graded on it
    rate: float  #: passed / total (0 when none)
    percent: float  #: the rate in percent, to one decimal
    low: bool  #: the rate is under LOW_PASS_RATE


@dataclass(frozen=True)
class CaseGroupView:
    """A function's cases in the pass-rate table."""

    function: str  #: the function's name
    cases: tuple[CaseRateView, ...]  #: its cases' pass rates


@dataclass(frozen=True)
class MistakeCountView:
    """A catalogued mistake and how many submissions made it."""

    id: str  #: the mistake's id in the catalogue
    title: str  #: its title in words
    count: int  #: the graded submissions that made it
    functions: tuple[str, ...]  #: the functions it was seen in, sorted


@dataclass(frozen=True)
class SubmissionRowView:
    """One submission's row in the summary's table."""

    name: str  #: the submission's name
    score: float  #: its score
    max_score: float  #: the points it was graded out of
    status: str  #: graded, invalid or error
    functions: tuple[float, ...]  #: its score per function, in the table's order
    note: str  #: its first problem in words ("" when none)


@dataclass(frozen=True)
class SummaryView:
    """Everything summary.html shows of a class."""

    title: str  #: the assignment's title (the first row's assignment, or "Gradebook")
    assignment: Assignment | None  #: the assignment summed up (None: every assignment in the gradebook)
    count: int  #: the submissions
    graded: int  #: those graded
    invalid: int  #: those that are not a notebook of the assignment (score 0)
    errors: int  #: those the grader failed on (not scored)
    full_marks: int  #: those with the maximum score
    not_isolated: int  #: the graded submissions graded without the OS sandbox
    max_score: float  #: the maximum score
    mean: float | None  #: the mean score of the graded and invalid ones (None when there are none)
    median: float | None  #: their median score (None when there are none)
    histogram: tuple[HistogramBinView, ...]  #: the score distribution, in percent of the maximum
    cases: tuple[CaseRateView, ...]  #: every case's pass rate
    case_groups: tuple[CaseGroupView, ...]  #: the same, by function
    low_percent: int  #: the pass rate, in percent, under which a case is marked
    mistakes: tuple[MistakeCountView, ...]  #: the catalogued mistakes, most frequent first
    functions: tuple[str, ...]  #: the functions, in the table's order
    submissions: tuple[SubmissionRowView, ...]  #: one row per submission
