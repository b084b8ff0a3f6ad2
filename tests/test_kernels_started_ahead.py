"""Kernels started ahead (grader.grading.warm): a worker starts the next submission's kernel while it
grades one, and `check` starts its kernel while the grader loads. Each such kernel serves exactly one
submission; one that died while waiting is never blamed on a student; one nobody takes is stopped
and its folder removed; and its start-up CPU is its own submission's, in the bench's phases."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from grader.assignment.manifest import load_assignment
from grader.batch import pool
from grader.batch.pool import graded
from grader.grading import GradeOptions
from grader.grading.warm import NextKernels
from grader.judge.expected import ExpectedValues
from grader.kernel.ahead import importing, warm_kernel
from grader.model import SubmissionStatus
from tests.fixtures import grade_cli, proven_sandbox

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)


@pytest.fixture(scope="module")
def toy(toy_dir):
    assignment = load_assignment(toy_dir)
    return assignment, ExpectedValues(assignment), proven_sandbox()


def _pids(warm) -> set[int]:
    warm.take()  # waits for the start
    return set(warm.processes())


def _gone(pids: set[int], seconds: float = 10) -> bool:
    """Whether every one of `pids` has ended (waiting up to `seconds`)."""
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_each_kernel_started_ahead_is_taken_once_and_never_again(toy):
    assignment, _, sandbox = toy
    kernels = NextKernels()
    key = ("toy", 1)
    try:
        kernels.start(key, assignment, assignment.limits, sandbox)
        first = kernels.take(key)
        assert first is not None and kernels.take(key) is None  # taken once: nothing waits any more
        kernels.start(key, assignment, assignment.limits, sandbox)
        second = kernels.take(key)
        assert second is not None and second is not first
        one, two = _pids(first), _pids(second)
        assert one and two and not one & two  # two kernels, two sets of processes
        assert first.folder != second.folder
        first.discard()
        assert _gone(one) and not first.folder.exists()
        assert second.session.kernel_alive()  # stopping one leaves the other running
        second.discard()
        assert _gone(two)
    finally:
        kernels.close()


def test_a_kernel_started_for_other_settings_is_stopped_not_used(toy):
    assignment, _, sandbox = toy
    kernels = NextKernels()
    kernels.start(("toy", "public only"), assignment, assignment.limits, sandbox)
    waiting = kernels.waiting
    assert waiting is not None
    pids = _pids(waiting)
    assert kernels.take(("toy", "every case")) is None
    assert _gone(pids) and not waiting.folder.exists()


def test_a_kernel_that_died_while_waiting_costs_the_student_nothing(toy):
    assignment, expected, sandbox = toy
    warm = warm_kernel(assignment.prepare_workdir, assignment.limits, sandbox)
    pids = _pids(warm)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert _gone(pids)
    options = GradeOptions(sandbox=sandbox, kernel=warm)
    try:
        report = graded(assignment.folder / assignment.solution, assignment, expected, options)
    finally:
        warm.discard()
    assert report.status == SubmissionStatus.GRADED and report.score == report.max_score > 0
    assert report.problems == []


def test_a_refused_submission_stops_the_kernel_started_for_it(toy, tmp_path):
    assignment, expected, sandbox = toy
    not_a_notebook = tmp_path / "essay.ipynb"
    not_a_notebook.write_text("my essay, not a notebook")
    warm = warm_kernel(assignment.prepare_workdir, assignment.limits, sandbox)
    pids = _pids(warm)
    report = graded(not_a_notebook, assignment, expected, GradeOptions(sandbox=sandbox, kernel=warm))
    assert report.status == SubmissionStatus.INVALID
    assert _gone(pids) and not warm.folder.exists()


def test_a_batch_worker_grades_with_the_kernel_started_during_the_previous_submission(toy):
    """Three submissions in a row, as a worker grades them: each scores full marks, the second and
    the third in the kernel started during the one before, whose start-up CPU is counted as theirs."""
    assignment, expected, sandbox = toy
    options = GradeOptions(sandbox=sandbox, ahead=True, phases=True)
    used: list = []
    reports = []
    for _ in range(3):
        report = graded(assignment.folder / assignment.solution, assignment, expected, options)
        reports.append(report)
        used.append(pool._NEXT.waiting)
    try:
        assert all(r.score == r.max_score > 0 and r.problems == [] for r in reports)
        assert len({id(kernel) for kernel in used}) == 3  # a new one started for each next submission
        for report in reports[1:]:
            assert report.phases is not None and report.phases.start > 0  # its kernel's start, carried
    finally:
        pool._NEXT.close()


def test_the_released_setup_imports_run_into_the_modules_only(toy):
    """What check runs in its kernel ahead of the notebook imports modules and binds no name: the
    notebook finds the names of a kernel that imported nothing."""
    assignment, _, sandbox = toy
    names = "import sys\nprint(sorted(n for n in globals() if not n.startswith('_')), 'colorsys' in sys.modules)"
    seen = []
    for modules in (("colorsys", "no_such_module_anywhere", "os.path"), ()):
        warm = warm_kernel(assignment.prepare_workdir, assignment.limits, sandbox, imports_to_come=True)
        warm.imports_then(modules)
        try:
            taken = warm.take()
            assert taken is not None
            seen.append(taken[1].run(names, 30).stdout)
        finally:
            warm.discard()
    names_after_imports, names_alone = (text.rsplit(" ", 1) for text in seen)
    assert names_after_imports[0] == names_alone[0]
    assert (names_after_imports[1].strip(), names_alone[1].strip()) == ("True", "False")
    assert "no_such_module_anywhere" in importing(("no_such_module_anywhere",))


def test_a_batch_leaves_no_kernel_or_folder_behind(toy_dir, tmp_path):
    """`grader grade --workers 2`: each worker's last kernel started ahead, which no submission took,
    is stopped with the worker, and its folders are removed (the workers' temporary folder is kept
    apart here, so that only this batch's leftovers could be found)."""
    batch, temp = tmp_path / "batch", tmp_path / "temp"
    batch.mkdir()
    temp.mkdir(mode=0o755)
    for number in range(3):
        shutil.copy(toy_dir / "toy_solution.ipynb", batch / f"student_{number}.ipynb")
    out = str(tmp_path / "out")
    done = grade_cli(
        str(batch),
        "--out",
        out,
        "--workers",
        "2",
        cwd=tmp_path,
        timeout=600,
        assignment=toy_dir,
        env_add={"TMPDIR": str(temp)},
    )
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in temp.iterdir()) == []


def test_a_next_kernel_that_cannot_start_costs_this_submission_nothing(toy, monkeypatch):
    assignment, expected, sandbox = toy

    def cannot_start(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(NextKernels, "start", cannot_start)
    options = GradeOptions(sandbox=sandbox, ahead=True)
    report = graded(assignment.folder / assignment.solution, assignment, expected, options)
    assert report.status == SubmissionStatus.GRADED and report.score == report.max_score > 0


def test_a_check_interrupted_while_its_kernel_launches_leaves_nothing(toy, monkeypatch, tmp_path):
    """Ctrl-C while `grader check` waits for its kernel's process: the kernel and its folder go."""
    from grader import cli
    from grader.kernel.ahead import WarmKernel

    assignment, _, sandbox = toy
    launched = WarmKernel.wait_launched
    started: list[WarmKernel] = []

    def interrupted(self, *args, **kwargs):
        launched(self, *args, **kwargs)
        started.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(WarmKernel, "wait_launched", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cli._kernel_ahead(assignment.folder / assignment.solution, assignment, assignment.limits, sandbox)
    (kernel,) = started
    assert not kernel.folder.exists()
    assert not kernel.session.kernel_alive()
