"""The CPU of one submission's grading, phase by phase, for `grader bench`'s breakdown.

A kernel's CPU cannot be read from the grading process's own counters: the kernel is another
process tree (bubblewrap, the kernel, whatever it starts). So at each phase boundary the clock
reads the user and system time of every living process below the grading process from /proc and
gives what they spent since the previous boundary to the phase that just ended. A process started
during the submission also brings the time of the children it reaped; one that ended between two
boundaries takes its last moments with it (the bench counts them in the rest). The clock runs only
when GradeOptions.phases asks: grading without it reads nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from grader.kernel.processes import process_tree
from grader.model.phases import PhaseCpu

KERNEL_PHASES = ("start", "setup", "code", "cases")
Ticks = dict[tuple[int, str], tuple[int, int]]


def _tree_ticks() -> Ticks:
    """(pid, start time) -> (own ticks, ticks of the children it reaped) of every process below this one."""
    me = os.getpid()
    found: Ticks = {}
    for pid, started in process_tree(me).items():
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            found[(pid, started)] = (int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return found


class PhaseClock:
    """Laps of the kernel's CPU, each given to the phase that ended, and the grading process's own."""

    def __init__(self) -> None:
        self.spent = dict.fromkeys(KERNEL_PHASES, 0.0)
        self.seen = _tree_ticks()
        self.before = set(self.seen)  # alive before this submission: their reaped children are not its own
        self.began = time.process_time()

    def lap(self, phase: str) -> None:
        now = _tree_ticks()
        ticks = 0
        for key, (own, reaped) in now.items():
            own_then, reaped_then = self.seen.get(key, (0, 0))
            ticks += own - own_then
            if key not in self.before:
                ticks += reaped - reaped_then
        self.spent[phase] += ticks / os.sysconf("SC_CLK_TCK")
        self.seen = now

    def record(self) -> PhaseCpu:
        return PhaseCpu(**self.spent, worker=time.process_time() - self.began)


_CLOCK: ContextVar[PhaseClock | None] = ContextVar("grader_phase_clock", default=None)


@contextmanager
def phase_clock(measure: bool) -> Iterator[PhaseClock | None]:
    """The clock of the submission graded inside (None when not measuring); laps go to it."""
    if not measure:
        yield None
        return
    clock = PhaseClock()
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


def lap(phase: str) -> None:
    """The kernel's CPU since the last lap goes to `phase` (nothing happens when no clock runs)."""
    clock = _CLOCK.get()
    if clock is not None:
        clock.lap(phase)
