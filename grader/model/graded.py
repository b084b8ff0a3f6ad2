"""What an assignment grades: its graded functions and its cases, validated when the assignment loads
(grader.assignment.manifest) and read by every layer above."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from grader.model.status import Visibility


class CallerPolicy(StrEnum):
    """How a graded function that calls failing graded functions is scored (the manifest's [grading] callers)."""

    ALONE = "alone"  #: as if its callees were correct: its failing cases are rerun with the solution's callees
    AS_WRITTEN = "as-written"  #: as written: it loses the points its callees cost it (told to fix them first)


@dataclass(frozen=True)
class GradedFunction:
    name: str  #: the function's name in the notebook
    points: float  #: its share of the grade, split evenly over its cases
    signature: tuple[str, ...]  #: the argument names, in the order the function is called with
    returns: tuple[str, ...] = ()  #: names of the returned tuple's parts (messages then read "costs[3]")
    rtol: float | None = None  #: this function's tolerance, when not the assignment's
    atol: float | None = None
    #: words for nested parts, (path template, label): "caches[*][0][1]" -> "the W of layer {1+1}'s linear cache"
    labels: tuple[tuple[str, str], ...] = ()
    calls: tuple[str, ...] = ()  #: the other graded functions it calls (a failure there is named first)
    given: bool = False  #: its graded cell deliberately has no learner region: release keeps it as written


@dataclass(frozen=True)
class Case:
    """One grading case, validated when the assignment loads."""

    id: str  #: unique, e.g. "function/slug"
    function: str  #: the graded function it calls
    description: str  #: one line: all a student sees of a hidden case
    visibility: Visibility  #: visible (public) or hidden
    recipe: dict[str, Any]  #: how the inputs are built (grader.kernel.harness's recipe language, or the builder's)
    compare: tuple[str, ...] = ("returned",)  #: what is compared, in order (see grader.compare.compare)
    rtol: float | None = None  #: this case's tolerance, when not the function's
    atol: float | None = None
    misleading_globals: dict[str, Any] = field(default_factory=dict)  #: set in the notebook's namespace during the call
    checks: tuple[str, ...] = ("equality",)  #: the notebook's public tests' checks (public cases)
    public_expected: dict[str, Any] | None = None  #: a bundle's expected values (public cases only)
    exact_shapes: bool = False  #: a number must come back as a number, not as a one-value array

    @property
    def public(self) -> bool:
        """Whether the student sees this case's inputs and expected values."""
        return self.visibility == Visibility.VISIBLE


@dataclass(frozen=True)
class AuthoredMistake:
    """A known mistake written as a wrong copy of one graded function: the texts come from the
    manifest's [[mistake]] table, the copy from the solution notebook's `# MISTAKE: id` cell."""

    id: str  #: unique across the catalogue, e.g. "sum-not-mean"
    function: str  #: the graded function the copy replaces
    title: str  #: what is wrong, in a few words (the author's)
    explanation: str  #: why it is wrong (the author's)
    fix: str  #: what to do (the author's); it must not quote the solution


@dataclass(frozen=True)
class ReleaseMarkers:
    """The comment texts that mark a learner region and an instructor-only mistake cell (the
    manifest's [release] table; nbgrader's markers are configurable the same way)."""

    region_start: str = "YOUR CODE STARTS HERE"
    region_end: str = "YOUR CODE ENDS HERE"
    mistake_marker: str = "MISTAKE:"
