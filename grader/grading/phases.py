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
from collections.abc import Callable, Iterator
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


class _Aside:
    """The kernel a worker starts for its next submission (grader.grading.warm): its CPU is that
    submission's start, not a phase of the one graded meanwhile. Laps keep it here until taken."""

    def __init__(self) -> None:
        self.pids: Callable[[], set[int]] | None = None
        self.ticks = 0  # spent by those processes, not yet given to a submission
        self.seen: Ticks = {}  # their ticks at the last look

    def split(self, now: Ticks) -> set[tuple[int, str]]:
        pids = self.pids() if self.pids is not None else set()
        return {key for key in now if key[0] in pids}


_ASIDE = _Aside()


class PhaseClock:
    """Laps of the kernel's CPU, each given to the phase that ended, and the grading process's own."""

    def __init__(self) -> None:
        self.spent = dict.fromkeys(KERNEL_PHASES, 0.0)
        self.seen = _tree_ticks()
        aside = _ASIDE.split(self.seen)
        self.seen.update({key: _ASIDE.seen.get(key, (0, 0)) for key in aside})  # counted from the last look
        self.before = set(self.seen) - aside  # alive before this submission: their reaped children are not its own
        self.began = time.process_time()

    def _ticks(self, now: Ticks, keys) -> int:
        ticks = 0
        for key in keys:
            own, reaped = now[key]
            own_then, reaped_then = self.seen.get(key, (0, 0))
            ticks += own - own_then
            if key not in self.before:
                ticks += reaped - reaped_then
        return ticks

    def lap(self, phase: str) -> None:
        now = _tree_ticks()
        aside = _ASIDE.split(now)
        _ASIDE.ticks += self._ticks(now, aside)
        _ASIDE.seen = {key: now[key] for key in aside}
        self.spent[phase] += self._ticks(now, set(now) - aside) / os.sysconf("SC_CLK_TCK")
        self.seen = now

    def carry(self) -> None:
        """The kernel set aside is this submission's now: what it spent so far is its start."""
        now = _tree_ticks()
        aside = _ASIDE.split(now)
        ticks = _ASIDE.ticks + self._ticks(now, aside)
        self.spent["start"] += ticks / os.sysconf("SC_CLK_TCK")
        self.seen.update({key: now[key] for key in aside})

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


def set_aside(pids: Callable[[], set[int]]) -> None:
    """The processes `pids()` names belong to the next submission (see _Aside)."""
    _ASIDE.pids, _ASIDE.ticks, _ASIDE.seen = pids, 0, {}


def carry() -> None:
    """The kernel set aside is taken by the submission being graded (or dropped): the clock, when
    one runs, gives what it spent to that submission's start; nothing is set aside any more."""
    clock = _CLOCK.get()
    if clock is not None and _ASIDE.pids is not None:
        clock.carry()
    _ASIDE.pids, _ASIDE.ticks, _ASIDE.seen = None, 0, {}


def lap(phase: str) -> None:
    """The kernel's CPU since the last lap goes to `phase` (nothing happens when no clock runs)."""
    clock = _CLOCK.get()
    if clock is not None:
        clock.lap(phase)
