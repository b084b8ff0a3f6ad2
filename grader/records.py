"""Typed records every layer shares: the statuses (string enums whose values are the strings that
results.json and the gradebook hold) and the limits, whose defaults live here and only here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import StrEnum


class SubmissionStatus(StrEnum):
    """What became of one submission as a whole."""

    GRADED = "graded"
    """Its code ran on the cases; the score counts."""
    INVALID = "invalid"
    """The file is not a gradable notebook (unreadable, too large, not JSON); score 0."""
    ERROR = "error"
    """The grader failed on it (not the student's fault); grade it again."""


class CaseStatus(StrEnum):
    """What became of one case of one graded function."""

    PASSED = "passed"
    """Every returned value and printed line matched within the tolerance."""
    FAILED = "failed"
    """The function ran and something differed."""
    TIMEOUT = "timeout"
    """The case ran past its time limit and was stopped."""
    CRASHED = "crashed"
    """The kernel died during the case (a crash, os._exit, the memory limit)."""
    ERROR = "error"
    """The function raised, or what it returned could not be read."""
    SKIPPED = "skipped"
    """Not run (the file could not be read, an earlier timeout, the submission's time was up)."""


class CellStatus(StrEnum):
    """What one cell executed in the kernel came to (kernel.session.CellOutcome)."""

    OK = "ok"
    """The cell finished without raising."""
    ERROR = "error"
    """The cell raised; the outcome holds the exception's name, value and traceback."""
    TIMEOUT = "timeout"
    """The cell ran past its time limit."""
    DIED = "died"
    """The kernel process ended while the cell ran."""


@dataclass
class Limits:
    """How much one submission and its kernel may use. The manifest's [limits] and the command
    line's options override these defaults, which are stated nowhere else."""

    case_seconds: float = 20.0
    """Wall-clock seconds one case may take."""
    submission_seconds: float = 180.0
    """Wall-clock seconds all of one submission's cases may take together."""
    cpu_seconds: int = 300
    """CPU seconds of the kernel process (RLIMIT_CPU)."""
    memory_mb: int = 2048
    """Address space of the kernel process, in MB (RLIMIT_AS, and the cgroup where there is one)."""
    processes: int = 64
    """Processes the kernel may have at once."""
    file_mb: int = 256
    """Largest file the kernel may write, in MB; its folder holds at most this much in all."""
    output_bytes: int = 200_000
    """Printed output kept per case; a flood far past it stops the case."""
    max_values: int = 2_000_000
    """Numbers one result may hold (every array of it together)."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict:
        return asdict(self)

    def overridden(self, overrides: dict | None) -> Limits:
        """These limits with the given ones (None meaning "not given") put in their place."""
        given = {k: v for k, v in (overrides or {}).items() if v is not None and k in self.names()}
        return Limits(**{**self.as_dict(), **given})
