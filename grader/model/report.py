"""The outcome of grading, as plain data every report, gradebook and summary is written from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from grader.model.differences import Difference


@dataclass
class Finding:
    """A submission rule broken (or another remark), placed at a cell and line when known."""

    rule: str
    message: str
    cell: int | None = None  # 1-based position of the cell in the notebook
    line: int | None = None  # 1-based line within the cell

    def where(self) -> str:
        if self.cell is None:
            return ""
        return f"cell {self.cell}" + (f", line {self.line}" if self.line else "")


@dataclass
class CaseVerdict:
    case_id: str
    function: str
    description: str
    visibility: str  # "visible" or "hidden"
    status: str  # passed, failed, error, timeout, crashed, skipped
    score: float = 0.0
    max_score: float = 0.0
    messages: list[str] = field(default_factory=list)  # worded from `differences` (grader.wording), then notes
    differences: list[Difference] = field(default_factory=list)  # what differs, as records
    diagnosis: dict | None = None  # filled by the mistake catalogue when one matches
    series: list[float] = field(default_factory=list)  # the returned series the manifest draws as a curve
    seconds: float = 0.0

    @property
    def first_difference(self) -> str | None:
        """The first difference as "kind:path" (e.g. "values:[1][0]"), None when nothing differs."""
        if not self.differences:
            return None
        first = self.differences[0]
        return f"{first.kind.value}:" + "".join(f"[{s}]" if isinstance(s, int) else f'["{s}"]' for s in first.path)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class SubmissionReport:
    name: str
    path: str
    sha256: str
    assignment: str
    assignment_version: str
    status: str  # graded, invalid
    score: float = 0.0
    max_score: float = 0.0
    cases: list[CaseVerdict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # submission-level messages (crashes, limits)
    function_points: dict[str, float] = field(default_factory=dict)
    function_scores: dict[str, float] = field(default_factory=dict)
    isolated: bool = False  # the kernel ran in the sandbox or as a dedicated unprivileged account
    isolation: str = ""  # how: grader.kernel.isolation.Isolation's value ("" in rows older than it)
    seconds: float = 0.0
    curves: dict[str, str] = field(default_factory=dict)  # case id -> base64 PNG of the cost curves

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionReport:
        data = dict(data)
        data["cases"] = [_verdict_from(c) for c in data.get("cases", [])]
        data["findings"] = [Finding(**f) for f in data.get("findings", [])]
        return cls(**data)

    def cases_of(self, function: str) -> list[CaseVerdict]:
        return [c for c in self.cases if c.function == function]


def _verdict_from(data: dict) -> CaseVerdict:
    data = dict(data)
    data.pop("first_difference", None)  # written by older versions
    data.pop("costs", None)
    data["differences"] = [Difference.from_dict(d) for d in data.get("differences", [])]
    return CaseVerdict(**data)
