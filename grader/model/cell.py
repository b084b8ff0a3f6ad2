"""What one cell executed in a kernel came to, as the kernel layer reports it to grading."""

from __future__ import annotations

from dataclasses import dataclass

from grader.model.notes import Death
from grader.model.status import CellStatus


@dataclass(frozen=True)
class CellOutcome:
    """What one executed cell came to."""

    status: CellStatus
    """ok, error, timeout or died."""
    seconds: float
    """Wall-clock seconds the cell took."""
    stdout: str = ""
    """What the cell printed (bounded; see `truncated`)."""
    error_name: str = ""
    """The exception's class name when the cell raised."""
    error_value: str = ""
    """The exception's message when the cell raised (the kernel's text)."""
    death: Death | None = None
    """How the kernel ended, when the cell ended with it (died)."""
    traceback: str = ""
    """The traceback, ANSI colours removed."""
    truncated: bool = False
    """Printed output was cut at the output limit."""

    @property
    def ok(self) -> bool:
        """The cell finished without raising."""
        return self.status == CellStatus.OK
