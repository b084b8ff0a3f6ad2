"""The statuses every layer shares: string enums whose values are the strings that results.json and the
gradebook hold."""

from __future__ import annotations

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
    """What one cell executed in the kernel came to (grader.model.cell.CellOutcome)."""

    OK = "ok"
    """The cell finished without raising."""
    ERROR = "error"
    """The cell raised; the outcome holds the exception's name, value and traceback."""
    TIMEOUT = "timeout"
    """The cell ran past its time limit."""
    DIED = "died"
    """The kernel process ended while the cell ran."""


class Visibility(StrEnum):
    """Who sees a case's inputs and expected values."""

    VISIBLE = "visible"
    """A public case: its inputs and expected values ship in the student's bundle."""
    HIDDEN = "hidden"
    """A hidden case: the student sees its description and verdict only."""


class Isolation(StrEnum):
    """How a kernel was kept apart from the grader and from other submissions."""

    SANDBOX = "sandbox"
    """bubblewrap: own mounts, PID, network and user namespaces, uid 65534."""
    ACCOUNT = "account"
    """A dedicated unprivileged account, no namespaces (root where bubblewrap cannot run)."""
    NONE = "none"
    """Not isolated: --no-sandbox, or a self-check where no sandbox exists."""
