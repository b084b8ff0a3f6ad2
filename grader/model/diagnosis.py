"""What a failing case most likely got wrong, as a record: the judge finds it, grader.render words it.

A catalogued mistake's title, explanation and fix are the author's words (the assignment's
catalogue, a family's texts with its value filled in): they travel as data. Everything the grader
says about them (the evidence, where the numbers part, that a called function fails first) is
made from the other fields by grader.render.

The records the judge's diagnosis works with live here too: the assignment's catalogue as loaded
(`Catalogue`), the key each stored part of a variant's outcome goes under (`OutcomeKey`), and what
one submission may spend re-running variants (`DiagnosisBudget`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from grader.model.differences import Difference
from grader.model.limits import Limits
from grader.model.mutation import Slip
from grader.model.notes import HookFailed, KernelError

MAX_HOOK_DETAIL = 300  # characters of a hook's exception message kept


class DiagnosisKind(StrEnum):
    """How the likely cause was found."""

    MISTAKE = "mistake"  #: the case's outcome equals a catalogued mistake's stored variant
    FAMILY = "family"  #: a catalogued family's variant, with a value stated in the cell or fitted, reproduces it
    ADVICE = "advice"  #: no mistake matches: where the numbers first part, and what that usually means
    CELL_FAILED = "cell_failed"  #: the cell defining the function raised when it was run
    CALLEE = "callee"  #: a graded function it calls fails its own cases
    MUTANT = "mutant"  #: no catalogued mistake matches, but one slip of the solution (a mutant) does, on every case


class Evidence(StrEnum):
    """Why a family's value is believed."""

    STATED = "stated"  #: the student's cell states it, and a run with it gives the student's outcome
    FITTED = "fitted"  #: fitted from the student's returned values, and a run with it confirms it


@dataclass(frozen=True)
class Place:
    """Where in the student's notebook: a line of a cell, and the code there."""

    cell: int  #: the cell's position in the notebook, from 1
    line: int  #: the line in the cell, from 1
    code: str  #: that line's code, stripped and cut


@dataclass(frozen=True)
class Diagnosis:
    """The likely cause of one failing case."""

    kind: DiagnosisKind  #: how it was found
    mistake: str | None = None  #: the catalogue's id (a family's for a member: its value is `parameter`)
    title: str = ""  #: the author's title (MISTAKE, FAMILY; ADVICE from the assignment's own table)
    explanation: str = ""  #: the author's explanation
    fix: str = ""  #: the author's fix
    place: Place | None = None  #: the student's line it most likely sits on
    evidence: Evidence | None = None  #: for a family: stated in the cell, or fitted
    parameter: str = ""  #: for a family: the value, as its catalogue shows it
    parameter_name: str = ""  #: for a family: what the value is ("the learning rate")
    value_shown: bool = True  #: False for a value fitted on a hidden case: the code could have chosen it
    also_possible: tuple[str, ...] = ()  #: other catalogued mistakes with the same outcome
    advice: str = ""  #: for ADVICE from the grader's own table: the entry's key (grader.render words it)
    differing: tuple[str, ...] = ()  #: for ADVICE: the parts that differ like the first one, as paths
    everything: tuple[str, ...] = ()  #: for ADVICE: every differing part, as paths
    exception: str = ""  #: for ADVICE on a raise: the exception's type, as the case may show it
    first: Difference | None = None  #: for ADVICE: the first difference
    function: str = ""  #: for CELL_FAILED, ADVICE and MUTANT: the function; for CALLEE: the caller
    callees: tuple[str, ...] = ()  #: for CALLEE: the called functions that fail
    #: for CALLEE: the case rerun with correct callees passed (True), failed (False), or was not rerun (None)
    alone: bool | None = None
    cell_error: KernelError | None = None  #: for CELL_FAILED: what its cell raised when it was run
    slip: Slip | None = None  #: for MUTANT: the slip (its operator and detail: grader.render words them)

    @property
    def named(self) -> bool:
        """A catalogued mistake, a family member or a mutant (not only where the numbers part)."""
        return self.mistake is not None


@dataclass
class Catalogue:
    """An assignment's catalogue of known mistakes, loaded (grader.judge.catalogue)."""

    module: (
        ModuleType | None
    )  #: the catalogue module (MISTAKES, variant_outputs, optionally FAMILIES and ADVICE); None without one
    mistakes: dict[
        str, dict[str, Any]
    ]  #: id -> the module's entry (id, title, explanation, fix, functions, pattern), then the authored ones
    values_path: Path  #: where the variants' outcomes are stored


class OutcomeKey(NamedTuple):
    """Where one part of a catalogued variant's stored outcome goes: its mistake, its case and the part.
    The files spell it `mistake|case|part` (`mistake|case|leaf|path` for a leaf); grader.judge.outcome_store
    reads that text once, when a file is loaded, and writes it only when one is saved."""

    mistake: str  #: the mistake's id (a family member's `family=value`)
    case: str  #: the case's id
    part: str  #: "error", "signature", "stdout", "leaf" or "inputs_changed"
    leaf: str | None = None  #: for a leaf: the path of the value fingerprinted (returned[0]['W1'], ...)


@dataclass
class DiagnosisBudget:
    """What one submission's family confirmations and fits may spend re-running variants in the
    grader process: seconds and runs (Limits.diagnosis_seconds and diagnosis_runs, which the
    manifest's [limits] may override). It is checked before each run; a run already started
    finishes, and each is one call of the instructor's variant on one case's inputs."""

    seconds: float  #: seconds the submission's runs may take together
    runs: int  #: how many runs it may make
    spent_seconds: float = 0.0  #: seconds spent so far
    spent_runs: int = 0  #: runs made so far
    confirmed: dict[str, list[Any]] = field(default_factory=dict)  #: family id -> values confirmed on earlier cases
    hook_failures: list[HookFailed] = field(default_factory=list)  #: what the catalogue's hooks raised, once each
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  #: case id -> the student's outcome (failing)

    def hook_failed(self, hook: str, entry: object, case: str, error: BaseException) -> None:
        """Note that a hook of the instructor's catalogue raised (once per hook, entry and exception type)."""
        note = HookFailed(hook, str(entry or ""), case, type(error).__name__, str(error)[:MAX_HOOK_DETAIL])
        if not any((n.hook, n.entry, n.error) == (note.hook, note.entry, note.error) for n in self.hook_failures):
            self.hook_failures.append(note)

    @classmethod
    def from_limits(cls, limits: Limits) -> DiagnosisBudget:
        return cls(float(limits.diagnosis_seconds), int(limits.diagnosis_runs))

    @property
    def exhausted(self) -> bool:
        return self.spent_runs >= self.runs or self.spent_seconds >= self.seconds

    def run(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """call()'s result, or None (nothing run) once the budget is spent."""
        if self.exhausted:
            return None
        started = time.monotonic()
        try:
            return call()
        finally:
            self.spent_runs += 1
            self.spent_seconds += time.monotonic() - started
