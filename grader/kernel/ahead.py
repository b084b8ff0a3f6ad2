"""A kernel started ahead of the submission it is for, while the grader is busy with something else.

A worker grades one submission after another; starting each one's kernel (the sandbox, the fork or
the interpreter, ipykernel's handshake) is mostly waiting, with the core idle. So, as a submission
begins, the worker starts the next submission's kernel in a thread (grader.grading.warm): by the
time that submission comes, its kernel is there. `grader check` starts its one kernel the same way
while the grader loads the rest of itself, then has the released notebook's setup imports run in it.

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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

from grader.kernel.session import KernelSession

if TYPE_CHECKING:
    from grader.model import Limits

LAUNCH_SECONDS = 5  # the longest a caller waits for a kernel started ahead to have its process
IMPORT_SECONDS = 60  # the released setup cell's imports, run in a kernel started ahead, before any student code
# The thread that starts kernels ahead lives as long as the process: a kernel's sandbox, and a
# zygote, die with the thread that started them (bubblewrap's --die-with-parent is the parent
# death signal, which follows the starting thread), so that thread must never end before them.
_STARTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-ahead")


class WarmKernel:
    """One kernel starting (or started) in the starter thread, in a kernel folder of its own."""

    def __init__(self, folder: Path, session: KernelSession, imports_to_come: bool = False) -> None:
        self.folder, self.session = folder, session
        self.imports: Future[tuple[str, ...]] = Future()  #: what to import once started (see imports_then)
        if not imports_to_come:
            self.imports.set_result(())
        self.failed = False
        self.started = _STARTER.submit(self._start)

    def _start(self) -> None:
        try:
            self.session.start()
        except Exception:  # noqa: BLE001 - the submission starts its own kernel, which reports the failure
            self.failed = True
            return
        finally:
            self.session.launched.set()  # also when it failed before launching
        try:
            modules = self.imports.result(timeout=IMPORT_SECONDS)
        except TimeoutError:
            return
        if modules:
            self.session.run(importing(modules), IMPORT_SECONDS)

    def imports_then(self, modules: tuple[str, ...]) -> None:
        """Have `modules` imported in the kernel once it has started (`check` says which while the
        kernel starts; the start waits for them only when warm_kernel was told they would come)."""
        if not self.imports.done():
            self.imports.set_result(modules)

    def wait_launched(self, seconds: float = LAUNCH_SECONDS) -> None:
        """Wait until the kernel's process exists (or the start failed), at most `seconds`: what the
        caller does next then runs beside the kernel's start, not before it (both want the GIL
        until the process is launched)."""
        self.session.launched.wait(seconds)

    def processes(self) -> set[int]:
        """The host pids of this kernel so far (an empty set while none is known)."""
        try:
            return set(self.session.host_processes())
        except Exception:  # noqa: BLE001 - still starting in the other thread
            return set()

    def take(self) -> tuple[Path, KernelSession] | None:
        """The folder and the running kernel, once started; None (and everything removed) when it
        did not start or is no longer running. Imports not named by now: none."""
        self.imports_then(())
        wait([self.started])
        if self.failed or not self.session.kernel_alive():
            self.discard()
            return None
        return self.folder, self.session

    def discard(self) -> None:
        """Stop the kernel and remove its folder (both may be gone already: then nothing happens)."""
        if not self.imports.done():
            self.imports.set_result(())
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


def warm_kernel(prepare: Callable[[Path], None], limits: Limits, sandbox, imports_to_come: bool = False) -> WarmKernel:
    """Start a kernel for a submission yet to come, in a fresh kernel folder, made and filled by
    `prepare` (the assignment's prepare_workdir) before any kernel exists, as
    grader.grading.runner.kernel_folder makes one. With `imports_to_come`, it waits, once started,
    for the modules imports_then will name."""
    folder = Path(tempfile.mkdtemp(prefix="grader-kernel-"))
    try:
        os.chmod(folder, 0o755)
        prepare(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return WarmKernel(folder, KernelSession(folder, limits, sandbox), imports_to_come)
