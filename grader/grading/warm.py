"""A kernel started ahead of the submission it is for, while the grader is busy with something else.

A worker grades one submission after another; starting each one's kernel (the sandbox, the fork or
the interpreter, ipykernel's handshake) is mostly waiting, with the core idle. So, as a submission
begins, the worker starts the next submission's kernel in a thread: by the time that submission
comes, its kernel is there. `grader check` does the same for its one kernel, started while the
grader imports the rest of itself, with the released notebook's setup imports run in it.

The kernel is the one the submission would have had: a fresh folder of the grader's files, a fresh
run folder and control group, the same launcher and limits. It runs nothing but the grader's own
cells (the output count, and for `check` the released setup cell's imports, which that notebook
runs first anyway) and is used for exactly one submission; one not used is stopped, never kept
for another. A kernel that failed to start, or died while waiting, is dropped and the submission
starts its own as before, so any failure is reported where it always was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.grading import phases
from grader.kernel.session import KernelSession
from grader.model import Limits

IMPORT_SECONDS = 60  # the released setup cell's imports, run in a warm kernel before any student code


# The thread that starts kernels ahead lives as long as the process: a kernel's sandbox, and a
# zygote, die with the thread that started them (bubblewrap's --die-with-parent is the parent
# death signal, which follows the starting thread), so that thread must never end before them.
_STARTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-ahead")


@dataclass
class WarmKernel:
    """One kernel starting (or started) in the starter thread, in a kernel folder of its own."""

    folder: Path
    session: KernelSession
    imports: tuple[str, ...] = ()
    failed: bool = False
    started: Future = field(init=False)

    def __post_init__(self) -> None:
        self.started = _STARTER.submit(self._start)

    def _start(self) -> None:
        try:
            self.session.start()
            if self.imports:
                self.session.run(importing(self.imports), IMPORT_SECONDS)
        except Exception:  # noqa: BLE001 - the submission starts its own kernel, which reports the failure
            self.failed = True

    def processes(self) -> set[int]:
        """The host pids of this kernel so far (an empty set while none is known)."""
        try:
            return set(self.session.host_processes())
        except Exception:  # noqa: BLE001 - still starting in the other thread
            return set()

    def take(self) -> tuple[Path, KernelSession] | None:
        """The folder and the running kernel, once started; None (and everything removed) when it
        did not start or is no longer running."""
        wait([self.started])
        if self.failed or self.session.client is None or not self.session.kernel_alive():
            self.discard()
            return None
        return self.folder, self.session

    def discard(self) -> None:
        """Stop the kernel and remove its folder (both may be gone already: then nothing happens)."""
        wait([self.started])
        try:
            self.session.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def importing(modules: tuple[str, ...]) -> str:
    """A cell importing each module it can (into sys.modules only: the notebook's names are untouched)."""
    return (
        "import importlib as __grader_importlib\n"
        f"for __grader_module in {list(modules)!r}:\n"
        "    try:\n"
        "        __grader_importlib.import_module(__grader_module)\n"
        "    except Exception:\n"
        "        pass\n"
        "del __grader_importlib, __grader_module\n"
    )


def warm_kernel(assignment: Assignment, limits: Limits, sandbox, imports: tuple[str, ...] = ()) -> WarmKernel:
    """Start a kernel for a submission yet to come, in a fresh kernel folder (made and filled here,
    before any kernel exists, as grader.grading.runner.kernel_folder makes one)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-kernel-"))
    try:
        os.chmod(folder, 0o755)
        assignment.prepare_workdir(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return WarmKernel(folder, KernelSession(folder, limits, sandbox), imports)


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
        warm = warm_kernel(assignment, limits, sandbox)
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
