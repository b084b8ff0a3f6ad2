"""Where a submission's CPU went, phase by phase: what `grader bench` prints as its breakdown.

The kernel's phases are CPU-seconds of the kernel's process tree, read from /proc at the phase
boundaries (grader.grading.phases); `worker` is the grading process's own CPU for the submission.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class PhaseCpu:
    """CPU-seconds one submission (or the sum of several) spent in each phase of its grading."""

    start: float = 0.0  #: the sandbox and the kernel's start, up to numpy imported in it (restarts included)
    setup: float = 0.0  #: the notebook's setup cells (its imports), in the kernel
    code: float = 0.0  #: the graded cells' definitions and the harness, in the kernel
    cases: float = 0.0  #: the cases' own work in the kernel (reruns of callers alone included)
    worker: float = 0.0  #: the grading process itself: reading, driving the kernel, comparing, diagnosing

    @property
    def kernel(self) -> float:
        """Everything the kernel's process tree spent."""
        return self.start + self.setup + self.code + self.cases

    @property
    def total(self) -> float:
        return self.kernel + self.worker

    def __add__(self, other: PhaseCpu) -> PhaseCpu:
        return PhaseCpu(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def per(self, count: int) -> PhaseCpu:
        """The mean over `count` submissions."""
        return PhaseCpu(**{f.name: getattr(self, f.name) / max(1, count) for f in fields(self)})

    def to_json(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PhaseCpu:
        known = {f.name for f in fields(cls)}
        return cls(**{name: float(value) for name, value in data.items() if name in known})
