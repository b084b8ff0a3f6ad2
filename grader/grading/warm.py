"""The next submission's kernel, started while a batch's worker grades this one (grader.kernel.ahead).

Each worker process keeps at most one kernel waiting, for the settings it was started with (the
assignment, the launcher, the limits, which cases): the next submission graded so takes it, one
graded otherwise stops it. Its CPU is set aside while it waits, so that `grader bench`'s phases
count it as the start of the submission that takes it (grader.grading.phases).
"""

from __future__ import annotations

import threading

from grader.assignment.manifest import Assignment
from grader.grading import phases
from grader.kernel.ahead import WarmKernel, warm_kernel
from grader.model import Limits


class NextKernels:
    """Per grading process: the kernel started for the next submission, and the key it was started
    for (an assignment, a launcher and limits); a submission graded otherwise discards it."""

    def __init__(self) -> None:
        self.waiting: WarmKernel | None = None
        self.key: tuple | None = None
        self.lock = threading.Lock()

    def take(self, key: tuple) -> WarmKernel | None:
        """The kernel started for a submission of `key`, maybe still starting (None: there is none)."""
        with self.lock:
            waiting, self.waiting = self.waiting, None
            matches = self.key == key
        if waiting is None:
            return None
        phases.carry()
        if not matches:
            waiting.discard()
            return None
        return waiting

    def start(self, key: tuple, assignment: Assignment, limits: Limits, sandbox) -> None:
        warm = warm_kernel(assignment.prepare_workdir, limits, sandbox)
        with self.lock:
            previous, self.waiting, self.key = self.waiting, warm, key
        phases.set_aside(warm.processes)
        if previous is not None:
            previous.discard()

    def close(self) -> None:
        with self.lock:
            waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.discard()
