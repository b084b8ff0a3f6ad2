"""The records every layer shares: statuses, limits, values, differences, cases, kernel results,
verdicts and reports. They are plain data: typed, documented field by field, made and read by the
layers above, and worded only by grader.render."""

from grader.model.differences import Difference, Kind, Step
from grader.model.graded import AuthoredMistake, Case, GradedFunction, ReleaseMarkers
from grader.model.limits import MIN_CASE_SECONDS, MIN_MEMORY_MB, Limits
from grader.model.report import CaseVerdict, Finding, SubmissionReport
from grader.model.result import Expected, KernelResult, RaisedError, ResultMeta
from grader.model.status import CaseStatus, CellStatus, Isolation, SubmissionStatus, Visibility
from grader.model.types import KNOWN_TYPES, shown_type
from grader.model.values import Array, Atom, Mapping, Node, Number, Opaque, Seq, Tolerance, python_value

__all__ = [
    "Array",
    "Atom",
    "Case",
    "Expected",
    "CaseStatus",
    "CaseVerdict",
    "CellStatus",
    "Difference",
    "Finding",
    "GradedFunction",
    "AuthoredMistake",
    "ReleaseMarkers",
    "Isolation",
    "KNOWN_TYPES",
    "KernelResult",
    "Kind",
    "Limits",
    "MIN_CASE_SECONDS",
    "MIN_MEMORY_MB",
    "Mapping",
    "Node",
    "Number",
    "Opaque",
    "RaisedError",
    "ResultMeta",
    "Seq",
    "Step",
    "SubmissionReport",
    "SubmissionStatus",
    "Tolerance",
    "Visibility",
    "python_value",
    "shown_type",
]
