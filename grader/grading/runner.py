"""The kernel of one submission: started fresh, loaded with the notebook's code, restarted after a kill.

Everything it notes is a record (grader.model.notes): the problems of the submission as a whole,
the functions whose cell failed or stops any kernel. Once the kernel is given a hidden case's
inputs it is `tainted`: its code may have kept them, so nothing it says is quoted until a
sandboxed restart, which starts fresh (a new folder, /tmp and processes).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.grading.phases import lap
from grader.kernel.isolation import isolation_of
from grader.kernel.session import KernelSession, KernelStartError
from grader.model import CellStatus, Isolation, Limits
from grader.model.cell import CellOutcome
from grader.model.notebook import CodeCell, ParsedNotebook
from grader.model.notes import (
    HarnessFailed,
    KernelError,
    KernelNotStarted,
    KernelStart,
    LoadOutOfTime,
    LoadStopped,
    NumpyFailed,
    SetupCellRaised,
    TooManySetupCells,
    WholeNotebookFailed,
)
from grader.model.options import GradeOptions

HARNESS = (Path(__file__).parents[1] / "kernel" / "harness.py").read_text()
# Sent as one string literal compiled in the kernel: IPython's input transformers tokenize a cell's
# every line, which costs a plain cell of this size ten times its compilation.
KERNEL_SIDE = f"exec(compile({HARNESS!r}, '<grader harness>', 'exec'))"
MAX_KERNEL_STARTS = 4
SMALL_MEMORY_MB = 1024  # below this, a kernel that cannot start or import numpy is blamed on the limit
MAX_SETUP_CELLS = 3  # cells holding the setup marker run before the graded ones; more are skipped


class KernelRunner:
    """Owns the submission's kernel: starts it, loads the code, restarts it after a kill."""

    def __init__(
        self,
        parsed: ParsedNotebook,
        assignment: Assignment,
        workdir: Path,
        options: GradeOptions,
        limits: Limits,
        session: KernelSession | None = None,
    ):
        self.parsed, self.assignment, self.workdir, self.options = parsed, assignment, workdir, options
        self.limits = limits
        self.deadline = time.monotonic() + limits.submission_seconds
        #: a kernel started ahead for this submission in `workdir` (grader.kernel.ahead), else one started here
        self.session = session or KernelSession(workdir, limits, options.sandbox)
        self.started_ahead = session is not None  #: the first start is done already
        self.ready = False
        self.load_errors: dict[str, KernelError] = {}  #: graded function -> what its cell raised
        self.unloadable: dict[str, LoadStopped] = {}  #: graded function -> how its cell stops any kernel
        self.problems: list = []
        self.grader_failed = False
        self.whole_notebook = options.execute_all  #: cleared when an ungraded cell stops the kernel
        self.tainted = False  #: the kernel was given a hidden case's inputs (see the module's docstring)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def case_timeout(self) -> float:
        return max(0.5, min(self.limits.case_seconds, self.remaining()))

    def note(self, problem: object) -> None:
        """A problem of the submission, noted once."""
        if problem not in self.problems:
            self.problems.append(problem)

    def give_up(self, problem: object) -> bool:
        """The grader's own failure: no more kernels for this submission, graded again on a rerun."""
        self.note(problem)
        self.grader_failed = True
        self.ready = False
        self.session.starts = MAX_KERNEL_STARTS
        self.session.stop()
        return False

    def _numpy_loads(self) -> bool:
        """The harness needs numpy: when the kernel cannot import it (too little memory, most often),
        that is the grader's limit, not the student's setup cell that would otherwise fail first."""
        outcome = self.session.run("import numpy", 60)
        if outcome.ok:
            return True
        return self.give_up(
            NumpyFailed(self.limits.memory_mb, str(outcome.status), outcome.error_name, shown=not self.tainted)
        )

    def _start(self) -> bool:
        """Start a fresh kernel; False (and the reason noted) when it cannot start."""
        if isolation_of(self.options.sandbox) == Isolation.SANDBOX:
            self.tainted = False
        try:
            ahead, self.started_ahead = self.started_ahead, False
            if ahead and not self.session.kernel_alive():
                self.session.stop()  # it died since it was taken: its folders go, another starts
                self.session.starts -= 1  # a start that was not the submission's does not count
            if not ahead or self.session.client is None:
                self.session.start()
        except Exception as error:  # noqa: BLE001 - a kernel that cannot start is reported
            start = error.start if isinstance(error, KernelStartError) else KernelStart(str(error))
            small = self.limits.memory_mb < SMALL_MEMORY_MB
            return self.give_up(KernelNotStarted(None if self.tainted else start, self.limits.memory_mb, small))
        return self._numpy_loads()

    def prepare(self) -> bool:
        """Start a kernel and load the notebook's code; False when that is impossible now."""
        if self.ready:
            return True
        lap("start" if self.started_ahead else "cases")  # a restart: what ran since the last lap was a case
        if self.session.starts >= MAX_KERNEL_STARTS or not self._start():
            return False
        lap("start")
        graded_by_index = {c.index: name for name, c in self.parsed.graded.items()}
        setup_done = False
        for cell in self._loading_cells():
            function = graded_by_index.get(cell.index)
            if function is not None and not setup_done:
                setup_done = True
                lap("setup")
            loaded = self._load(cell, function)
            if loaded is not None:
                return loaded
        outcome = self.session.run(KERNEL_SIDE, 30)
        if not outcome.ok:
            return self.give_up(HarnessFailed(str(outcome.status), self._kernel_error(outcome)))
        lap("code")
        self.ready = True
        return True

    def _load(self, cell: CodeCell, function: str | None) -> bool | None:
        """Run one cell of the notebook; None to go on, else prepare()'s answer."""
        if function in self.unloadable:
            return None
        if self.remaining() <= 0:
            self.note(LoadOutOfTime(self.limits.submission_seconds))
            self.session.stop()
            return False
        # A graded or setup cell only defines functions: a few case limits are plenty, never more than
        # the time left. The other cells of a whole-notebook run train models, so they may use what is
        # left of the submission's time.
        ungraded = self.whole_notebook and function is None
        budget = (
            max(1.0, self.remaining() - 30)
            if ungraded
            else max(0.5, min(self.remaining(), self.limits.case_seconds * 3))
        )
        if self._note_loading(self.session.run(cell.source, budget), cell.index, function):
            return None
        if ungraded:  # grade what can be graded: imports and graded cells only, in a new kernel
            self.whole_notebook = False
            self.problems.append(WholeNotebookFailed())
            return self.prepare()
        return False

    def _loading_cells(self) -> list[CodeCell]:
        """The cells to run before the cases: the whole notebook, or at most MAX_SETUP_CELLS setup
        cells (the first ones) and the graded cells."""
        if self.whole_notebook:
            return self.parsed.cells
        setup = self.parsed.setup
        if len(setup) > MAX_SETUP_CELLS:
            self.note(
                TooManySetupCells(
                    len(setup),
                    self.assignment.setup_marker,
                    MAX_SETUP_CELLS,
                    tuple(c.index + 1 for c in setup[MAX_SETUP_CELLS:]),
                )
            )
        return setup[:MAX_SETUP_CELLS] + sorted(self.parsed.graded.values(), key=lambda c: c.index)

    def _kernel_error(self, outcome: CellOutcome) -> KernelError:
        """An exception the kernel reported; a module's own line becomes the cell's line."""
        value = re.sub(r"\(\S+\.py, line (\d+)\)", r"(line \1 of the cell)", outcome.error_value)
        return KernelError(outcome.error_name, value, shown=not self.tainted)

    def _note_loading(self, outcome: CellOutcome, index: int, function: str | None) -> bool:
        """Note what running a cell came to; False when the kernel is gone."""
        if outcome.status in (CellStatus.TIMEOUT, CellStatus.DIED):
            stopped = LoadStopped(
                index + 1, function or "", outcome.status == CellStatus.TIMEOUT, outcome.death, self.limits.memory_mb
            )
            self.note(stopped)
            if function:
                self.unloadable[function] = stopped
            self.ready = False
            return False
        if outcome.status == CellStatus.ERROR:
            if function:
                self.load_errors[function] = self._kernel_error(outcome)
            else:
                self.note(SetupCellRaised(index + 1, "", self._kernel_error(outcome)))
        return True

    def close(self) -> None:
        lap("cases")  # before the kernel is gone with its counters
        self.session.close()


@contextmanager
def kernel_folder(assignment: Assignment, prefix: str = "grader-kernel-") -> Iterator[Path]:
    """A fresh folder of the grader's files for one kernel, removed afterwards. It is made and filled
    before any kernel starts, so changing its mode follows nothing a student made; the removal does
    not follow links."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        os.chmod(workdir, 0o755)
        assignment.prepare_workdir(workdir)
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
