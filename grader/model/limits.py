"""What one submission and its kernel may use: one record, from the defaults here through the manifest
and the command line to the kernel's launcher."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
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
    diagnosis_seconds: float = 15.0
    """Grader-side seconds one submission's mistake diagnosis may spend re-running catalogued variants
    (family confirmations and fits); once spent, failing cases get the plain localisation."""
    diagnosis_runs: int = 200
    """Variant runs one submission's mistake diagnosis may make, whatever their speed."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def overridden(self, overrides: dict[str, Any] | None) -> Limits:
        """These limits with the given ones (None meaning "not given") put in their place; a name
        that is no limit is refused (KeyError naming it), never ignored."""
        unknown = sorted(set(overrides or {}) - set(self.names()))
        if unknown:
            raise KeyError(", ".join(unknown))
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        return Limits(**{**self.as_dict(), **given})

    def refusal(self, spell: Callable[[str], str] = lambda name: name) -> str:
        """Why these limits cannot grade anything ("" when they can), naming each limit as `spell`
        writes it (an option or a manifest key). Checked here once, for the command line and the
        manifest alike; the grader never raises a number it was given."""
        for name, value in self.as_dict().items():
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < math.inf:
                return f"{spell(name)} {value!r}: give a finite number greater than 0"
        if self.memory_mb < MIN_MEMORY_MB:
            return (
                f"{spell('memory_mb')} {self.memory_mb}: too small to start a kernel (Python, Jupyter and "
                f"numpy need more address space); the smallest accepted value is {MIN_MEMORY_MB} (MB)"
            )
        if self.case_seconds < MIN_CASE_SECONDS:
            return (
                f"{spell('case_seconds')} {self.case_seconds:g}: too short for one call into the kernel; "
                f"the smallest accepted value is {MIN_CASE_SECONDS:g} (seconds)"
            )
        return ""


MIN_MEMORY_MB = 512
"""Below this a kernel does not even start (measured: 400 MB fails, on 2 cores); numpy may need more,
and a kernel that cannot import it under the limit is reported as the limit's doing."""
MIN_CASE_SECONDS = 0.5
"""The shortest case limit: a call and its reply through the kernel take about this long."""
