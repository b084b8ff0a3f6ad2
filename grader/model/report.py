"""The outcome of grading, as plain records every report, gradebook row and summary is made from.

Nothing here is a sentence the grader wrote: a verdict holds its differences, its notes and its
diagnosis as records, a report its problems and findings, and grader.render words them wherever
they are shown. `to_json` and `from_json` are the gradebook's form; a row an earlier version stored
(with sentences) reads back with each sentence kept as a Text record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from grader.model.diagnosis import Diagnosis, DiagnosisKind, Evidence, Place
from grader.model.differences import Difference
from grader.model.mutation import Slip
from grader.model.notes import KernelError, Text, from_json, to_json
from grader.model.phases import PhaseCpu
from grader.model.status import CaseStatus, Isolation, SubmissionStatus, Visibility


class FindingRule(StrEnum):
    """A course submission rule a notebook breaks (grader.judge.rules finds them)."""

    EXTRA_PRINT = "extra-print"  #: a print the released cell has not: code, inside (the function's body)
    NO_FUNCTION = "no-function"  #: the graded cell no longer defines its function
    PARAMETER_ORDER = "parameter-order"  #: the def takes other names (names) than the grader passes (expected)
    PARAMETER_NAMES = "parameter-names"  #: the def's names (names) are not the released ones (expected)
    PARAMETER_DEFAULTS = "parameter-defaults"  #: changed defaults: changes ((name, mine, theirs), ...)
    GLOBAL_DECLARED = "global-declared"  #: the function declares a global variable
    GLOBAL_READ = "global-read"  #: the function reads a notebook variable: name, set_in
    MARKER_CHANGED = "marker-changed"  #: a YOUR CODE marker line removed or changed: code
    EDIT_REPLACED = "edit-replaced"  #: a line outside the regions differs: code, released, more
    EDIT_ADDED = "edit-added"  #: a line added outside the regions: code, more
    EDIT_REMOVED = "edit-removed"  #: a released line removed outside the regions: released, more
    EDITS_MORE = "edits-more"  #: more places differ outside the regions: count
    SECOND_GRADED_CELL = "second-graded-cell"  #: a second graded cell for a function
    EXTRA_CELL = "extra-cell"  #: a code cell the released notebook does not have
    SYNTAX_ERROR = "syntax-error"  #: the graded cell has a syntax error: detail
    NOT_PYTHON = "not-python"  #: the graded cell cannot be read as Python: detail
    UNCHECKED = "unchecked"  #: the rules could not be checked on something: what, detail (the error's type)
    NOT_CHECKED = "not-checked"  #: the rules were not checked on something: what, why (+ count, size)
    TEXT = "text"  #: a finding an earlier version stored as a sentence: detail


RULE_FAMILIES = {  # the course rule each finding belongs to, as the feedback names it (data-rule)
    "extra-print": (FindingRule.EXTRA_PRINT,),
    "changed-parameters": (
        FindingRule.NO_FUNCTION,
        FindingRule.PARAMETER_ORDER,
        FindingRule.PARAMETER_NAMES,
        FindingRule.PARAMETER_DEFAULTS,
    ),
    "global-variable": (FindingRule.GLOBAL_DECLARED, FindingRule.GLOBAL_READ),
    "edited-outside-regions": (
        FindingRule.MARKER_CHANGED,
        FindingRule.EDIT_REPLACED,
        FindingRule.EDIT_ADDED,
        FindingRule.EDIT_REMOVED,
        FindingRule.EDITS_MORE,
    ),
    "extra-cell": (FindingRule.SECOND_GRADED_CELL, FindingRule.EXTRA_CELL),
    "syntax-error": (FindingRule.SYNTAX_ERROR, FindingRule.NOT_PYTHON),
    "unchecked": (FindingRule.UNCHECKED, FindingRule.NOT_CHECKED, FindingRule.TEXT),
}


@dataclass
class Finding:
    """A submission rule broken, placed at a cell and line when known; grader.render words it."""

    rule: FindingRule
    cell: int | None = None  #: 1-based position of the cell in the notebook
    line: int | None = None  #: 1-based line within the cell
    function: str = ""  #: the graded function whose cell it is
    code: str = ""  #: the student's line (cut), or the call or marker it is about
    released: str = ""  #: the released notebook's line (cut)
    name: str = ""  #: a variable's name
    set_in: int = 0  #: GLOBAL_READ: the cell that sets the variable
    inside: bool = False  #: EXTRA_PRINT: the print is inside the function's body
    more: int = 0  #: how many more lines (EDIT_*), places (EDITS_MORE)
    names: tuple[str, ...] = ()  #: PARAMETER_*: the def's parameter names
    expected: tuple[str, ...] = ()  #: PARAMETER_*: the names the grader passes or the released def has
    changes: tuple[tuple[str, str, str], ...] = ()  #: PARAMETER_DEFAULTS: (name, mine or "", released or "")
    what: str = ""  #: UNCHECKED, NOT_CHECKED: what was not checked
    detail: str = ""  #: SYNTAX_ERROR, NOT_PYTHON: the parser's words; UNCHECKED: the error's type
    why: str = ""  #: NOT_CHECKED: "too_many_cells", "too_slow", "too_large"
    count: int = 0  #: NOT_CHECKED: the cells counted
    size: str = ""  #: NOT_CHECKED: the cell's size (too_large)

    @property
    def family(self) -> str:
        """The course rule the finding belongs to (RULE_FAMILIES)."""
        return next(family for family, rules in RULE_FAMILIES.items() if self.rule in rules)

    def to_json(self) -> dict[str, Any]:
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != f.default
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        if "message" in data:  # an older row: the sentence as it was stored, shown as written
            return cls(FindingRule.TEXT, data.get("cell"), data.get("line"), detail=str(data["message"]))
        values = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        values["rule"] = FindingRule(values["rule"])
        for name in ("names", "expected"):
            values[name] = tuple(values.get(name, ()))
        values["changes"] = tuple(tuple(change) for change in values.get("changes", ()))
        return cls(**values)


@dataclass
class CaseVerdict:
    """One case's verdict: what differs, what else happened, and the likely cause."""

    case_id: str
    function: str
    description: str
    visibility: Visibility  #: visible or hidden
    status: CaseStatus  #: passed, failed, error, timeout, crashed, skipped
    score: float = 0.0
    max_score: float = 0.0
    differences: list[Difference] = field(default_factory=list)  #: what differs, as records
    notes: list[Any] = field(default_factory=list)  #: why it was not run or how it ended (grader.model.notes)
    diagnosis: Diagnosis | None = None  #: the likely cause, when it failed
    series: list[float] = field(default_factory=list)  #: the returned series the manifest draws as a curve
    seconds: float = 0.0
    #: a failing case rerun with correct (the solution's) failing callees: True passed there and earns its
    #: points, False failed there too, None not rerun (grader.grading.alone; it brings back nothing else)
    alone: bool | None = None

    @property
    def passed(self) -> bool:
        return self.status == CaseStatus.PASSED

    @property
    def earns(self) -> bool:
        """It earns its points: passed as written, or only its failing callees kept it from passing."""
        return self.passed or self.alone is True

    @property
    def public(self) -> bool:
        return self.visibility == Visibility.VISIBLE


@dataclass
class SubmissionReport:
    """One submission's grading: its verdicts, problems, findings and score."""

    name: str
    path: str
    sha256: str
    assignment: str
    assignment_version: str
    status: SubmissionStatus  #: graded, invalid, error
    score: float = 0.0
    max_score: float = 0.0
    cases: list[CaseVerdict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)  #: the submission as a whole (grader.model.notes problems)
    function_points: dict[str, float] = field(default_factory=dict)
    function_scores: dict[str, float] = field(default_factory=dict)
    isolation: Isolation = Isolation.NONE  #: how its kernels were kept apart (the grader's launcher, never the kernel)
    seconds: float = 0.0
    #: for the instructor only (never in a student's report): what the catalogue's hooks raised (HookFailed)
    instructor_notes: list[Any] = field(default_factory=list)
    #: where its CPU went, phase by phase; measured only when GradeOptions.phases asks (`grader bench`)
    phases: PhaseCpu | None = None

    @property
    def isolated(self) -> bool:
        """The kernels ran in the sandbox or as a dedicated unprivileged account."""
        return self.isolation != Isolation.NONE

    @property
    def ran_unisolated(self) -> bool:
        """Its code ran without isolation (a submission that was never run ran nothing at all)."""
        return not self.isolated and self.status == SubmissionStatus.GRADED

    def cases_of(self, function: str) -> list[CaseVerdict]:
        return [c for c in self.cases if c.function == function]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the gradebook's form)."""
        data = {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in ("cases", "findings", "problems", "instructor_notes", "phases")
        }
        data["isolated"] = self.isolated
        if self.phases is not None:
            data["phases"] = self.phases.to_json()
        data["cases"] = [_verdict_json(verdict) for verdict in self.cases]
        data["findings"] = [finding.to_json() for finding in self.findings]
        data["problems"] = [to_json(problem) for problem in self.problems]
        data["instructor_notes"] = [to_json(note) for note in self.instructor_notes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionReport:
        """A report `to_dict` wrote, or one an earlier version stored (sentences kept as Text)."""
        data = dict(data)
        isolated = data.pop("isolated", False)
        data.pop("curves", None)
        isolation = data.get("isolation") or (Isolation.SANDBOX if isolated else Isolation.NONE)
        data["isolation"] = Isolation(isolation)
        data["status"] = SubmissionStatus(data["status"])
        data["cases"] = [_verdict_from(c) for c in data.get("cases", [])]
        data["findings"] = [Finding.from_json(f) for f in data.get("findings", [])]
        data["problems"] = [from_json(p) for p in data.get("problems", [])]
        data["instructor_notes"] = [from_json(n) for n in data.get("instructor_notes", [])]
        data["phases"] = PhaseCpu.from_json(data["phases"]) if data.get("phases") else None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _plain(value: object) -> object:
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _verdict_json(verdict: CaseVerdict) -> dict[str, Any]:
    data = {
        f.name: _plain(getattr(verdict, f.name))
        for f in dataclasses.fields(verdict)
        if f.name not in ("differences", "notes", "diagnosis")
    }
    data["differences"] = [to_json(d) for d in verdict.differences]
    data["notes"] = [to_json(note) for note in verdict.notes]
    data["diagnosis"] = to_json(verdict.diagnosis) if verdict.diagnosis is not None else None
    return data


def _verdict_from(data: dict[str, Any]) -> CaseVerdict:
    data = dict(data)
    for old in ("first_difference", "costs"):  # written by older versions
        data.pop(old, None)
    messages = data.pop("messages", None)
    data["differences"] = [Difference.from_dict(d) for d in data.get("differences", [])]
    notes = [from_json(n) for n in data.get("notes", [])]
    if messages is not None:  # an older row: its messages were sentences, the differences' ones first
        notes = [Text(m) for m in messages[len(data["differences"]) :]]
        data["differences"] = [] if len(messages) < len(data["differences"]) else data["differences"]
    data["notes"] = notes
    data["diagnosis"] = diagnosis_from(data.get("diagnosis"))
    data["status"] = CaseStatus(data["status"])
    data["visibility"] = Visibility(data["visibility"])
    return CaseVerdict(**data)


def diagnosis_from(data: object) -> Diagnosis | None:
    """A stored diagnosis: a record's JSON, or an older row's dict of texts."""
    if not isinstance(data, dict):
        return None
    if "kind" not in data:  # an older row: the texts as they were shown
        kind = DiagnosisKind.MISTAKE if data.get("mistake") else DiagnosisKind.ADVICE
        return Diagnosis(
            kind,
            data.get("mistake"),
            str(data.get("title", "")),
            str(data.get("explanation", "")),
            str(data.get("fix", "") or ""),
            advice="text" if kind == DiagnosisKind.ADVICE else "",
        )
    values = dict(data)
    values["kind"] = DiagnosisKind(values["kind"])
    values["evidence"] = Evidence(values["evidence"]) if values.get("evidence") else None
    values["place"] = Place(**values["place"]) if isinstance(values.get("place"), dict) else None
    values["first"] = Difference.from_dict(values["first"]) if isinstance(values.get("first"), dict) else None
    values["cell_error"] = KernelError(**values["cell_error"]) if isinstance(values.get("cell_error"), dict) else None
    values["slip"] = Slip.from_dict(values["slip"]) if isinstance(values.get("slip"), dict) else None
    for name in ("also_possible", "differing", "everything", "callees"):
        values[name] = tuple(values.get(name, ()))
    known = {f.name for f in dataclasses.fields(Diagnosis)}
    return Diagnosis(**{k: v for k, v in values.items() if k in known})
