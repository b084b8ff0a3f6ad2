"""`grader bench`: how fast check and grade are, against running the whole notebook.

All figures come from one process on this machine, so the ratios are what to read: the
baseline is executing the solution notebook top to bottom with nbclient, as a grader that runs
everything would. That run needs the assignment's dataset: the folder named by --data or by the
environment variable the manifest names (`data_variable`), holding the files it lists
(`data_files`); without one the baseline is left out and the figures say why.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.assignment.dataset import dataset_files
from grader.assignment.manifest import Assignment
from grader.errors import UserError
from grader.kernel.isolation import Isolation, isolation_of
from grader.kernel.processes import process_tree
from grader.kernel.zygote import fresh_kernels
from grader.model.phases import PhaseCpu
from grader.store.gradebook import FILE_NAME as GRADEBOOK_FILE
from grader.store.gradebook import Gradebook
from grader.verbs.check import run_check
from grader.verbs.grade import grade
from grader.verbs.release import build_release
from grader.verbs.scaling import Checkpoints


def _data_dir(assignment: Assignment, explicit: str | None) -> Path | None:
    """The dataset folder for the baseline, checked to hold the manifest's data files; None: none given."""
    given = explicit or os.environ.get(assignment.data_variable)
    if not given:
        return None
    folder = Path(given).resolve()  # the notebook runs in another folder
    _, problem = dataset_files(assignment, folder)
    if problem:
        raise UserError(
            f"{problem}: point --data or {assignment.data_variable} at the dataset folder, or pass --skip-baseline"
        )
    return folder


def _whole_notebook_seconds(assignment: Assignment, data_dir: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="grader-bench-") as folder:
        for name in assignment.support:
            source = assignment.folder / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, Path(folder) / name)
        notebook = nbformat.read(assignment.folder / assignment.solution, as_version=4)
        previous = os.environ.get(assignment.data_variable)
        os.environ[assignment.data_variable] = str(data_dir)
        os.environ.setdefault("MPLBACKEND", "agg")
        try:
            began = time.perf_counter()
            NotebookClient(
                notebook, timeout=1800, kernel_name="python3", resources={"metadata": {"path": folder}}
            ).execute()
            return time.perf_counter() - began
        finally:
            if previous is None:
                os.environ.pop(assignment.data_variable, None)
            else:
                os.environ[assignment.data_variable] = previous


def _make_batch(assignment: Assignment, folder: Path, count: int) -> None:
    """`count` distinct copies of the solution notebook (a comment makes each file's hash unique)."""
    import nbformat

    notebook = nbformat.read(assignment.folder / assignment.solution, as_version=4)
    folder.mkdir(parents=True)
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    original = first_code.source
    for number in range(count):
        first_code.source = f"# submission {number}\n" + original
        nbformat.write(notebook, folder / f"student_{number:03d}.ipynb")


def bench(
    *,
    assignment: Assignment,
    submissions: int = 100,
    workers: int = 2,
    data: str | None = None,
    skip_baseline: bool = False,
    sandbox=None,
    dask: bool = True,
    check_runs: int = 5,
    scaling: bool = False,
) -> int:
    """Print the figures as JSON; 0 when every timed run finished."""
    if assignment.is_bundle or not assignment.solution:
        raise UserError(
            f"{assignment.folder} has no solution notebook to time: pass the instructor's assignment "
            "folder as --assignment"
        )
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as scratch_name:
        scratch = Path(scratch_name)
        # as `check` starts its kernels (the batch forks them)
        _check_figures(figures, assignment, scratch, fresh_kernels(sandbox), check_runs)
        data_dir = None if skip_baseline else _data_dir(assignment, data)
        if data_dir is not None:
            figures["baseline_data"] = str(data_dir)
            figures["whole_notebook_seconds"] = round(_whole_notebook_seconds(assignment, data_dir), 2)
            figures["check_speedup"] = round(figures["whole_notebook_seconds"] / figures["check_seconds"], 1)
        elif not skip_baseline:
            figures["baseline_data"] = f"none: pass --data or set {assignment.data_variable} to time the whole notebook"

        batch = scratch / "batch"
        _make_batch(assignment, batch, submissions)
        figures["load_average_before"] = round(os.getloadavg()[0], 2)
        checkpoints = Checkpoints(scratch / "out", submissions) if scaling else None
        seconds, status, cpu = _timed_batch(
            assignment, batch, scratch / "out", watcher=checkpoints, workers=workers, sandbox=sandbox
        )
        _batch_figures(figures, seconds, cpu, submissions, workers)
        figures.update(phase_figures(_phases(assignment, scratch / "out"), cpu, submissions))
        if checkpoints is not None:
            figures.update(checkpoints.figures())
        if "whole_notebook_seconds" in figures:
            figures["batch_speedup_vs_whole_notebooks"] = round(
                figures["whole_notebook_seconds"] * submissions / workers / seconds, 1
            )
        if dask and importlib.util.find_spec("distributed") is None:
            figures["dask"] = "left out: pip install -e '.[dask]' to time the Dask path"
        elif dask:
            status = max(status, _dask_figures(figures, assignment, batch, scratch / "dask", workers, sandbox))
        figures["load_average_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, indent=1))
    return status


def _check_figures(figures: dict[str, Any], assignment: Assignment, scratch: Path, sandbox, runs: int) -> None:
    figures["check_seconds"] = _check_seconds(assignment, scratch, sandbox, runs)
    figures["check_in_process_seconds"] = _check_in_process_seconds(assignment, sandbox, runs)
    figures["check_runs"] = runs


def _batch_figures(figures: dict[str, Any], seconds: float, cpu: float, submissions: int, workers: int) -> None:
    # What one submission costs a busy worker core: the figure to size a cluster with (docs/speed.md's
    # projection). On a shared machine it includes the others' load; the CPU seconds do not.
    figures["core_seconds_per_submission"] = round(seconds * workers / submissions, 2)
    figures["cpu_seconds_per_submission"] = round(cpu / submissions, 2)
    figures["batch_submissions"] = submissions
    figures["batch_workers"] = workers
    figures["batch_seconds"] = round(seconds, 2)
    figures["submissions_per_minute"] = round(60 * submissions / seconds, 1)


def _check_seconds(assignment: Assignment, scratch: Path, sandbox, runs: int) -> float:
    """The median wall time of `runs` checks of the solution, as a student runs them: `grader check`
    in a fresh process (interpreter, imports, isolation and kernel included), in the release bundle."""
    bundle, _ = build_release(assignment, scratch / "release", None)
    notebook = bundle / "solution.ipynb"
    shutil.copy2(assignment.folder / assignment.solution, notebook)
    command = [sys.executable, "-m", "grader", "check", str(notebook), "--color", "never"]
    if isolation_of(sandbox) == Isolation.NONE:
        command.append("--no-sandbox")
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(command, cwd=bundle, capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            raise UserError(
                f"grader check failed on the solution (exit status {done.returncode}): {done.stdout[-2000:]}"
            )
    return round(statistics.median(times), 2)


def _check_in_process_seconds(assignment: Assignment, sandbox, runs: int) -> float:
    """The median wall time of the check's grading alone, in this process (its imports and the
    isolation probe done already): what a fresh process adds is check_seconds minus this."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            run_check(assignment.folder / assignment.solution, assignment, color="never", sandbox=sandbox)
        times.append(time.perf_counter() - began)
    return round(statistics.median(times), 2)


def _phases(assignment: Assignment, out: Path) -> tuple[PhaseCpu, int]:
    """The phases the batch's reports hold, summed, and how many reports held them."""
    total, count = PhaseCpu(), 0
    with Gradebook(out / GRADEBOOK_FILE) as book:
        for row in book.rows(assignment.name, assignment.version):
            phases = row.submission_report().phases
            if phases is not None:
                total, count = total + phases, count + 1
    return total, count


def phase_figures(phases: tuple[PhaseCpu, int], cpu: float, submissions: int) -> dict[str, Any]:
    """The breakdown of the CPU-seconds per submission, and the ratio to the limit.

    The limit is what no start-up can remove: the cases' own work in the kernel and the grader's
    side. The grader's side is the grading workers' own CPU (`grader_worker`) plus the rest of the
    batch's CPU (`grader_rest`: the batch process writing reports and gradebook rows, the pool, and
    what the phases could not see), so the phases add up to `cpu_seconds_per_submission`."""
    summed, count = phases
    if not count:
        return {"phases": "none: no report of the batch holds its phases"}
    mean = summed.per(count)
    rest = cpu / submissions - mean.total
    breakdown = {
        "kernel_start": mean.start,
        "setup_cells": mean.setup,
        "graded_cells_and_harness": mean.code,
        "cases": mean.cases,
        "grader_worker": mean.worker,
        "grader_rest": rest,
    }
    limit = mean.cases + mean.worker + rest
    return {
        "phases_cpu_seconds_per_submission": {name: round(value, 3) for name, value in breakdown.items()},
        "limit_cpu_seconds_per_submission": round(limit, 3),
        "ratio_to_limit": round(cpu / submissions / limit, 2) if limit > 0 else None,
    }


SAMPLE_SECONDS = 0.1


class _CpuMeter:
    """CPU seconds spent by this process and every process below it (workers, kernels) while it runs.

    Each process's own time is sampled from /proc until it ends (what a process does in its last
    tenth of a second is missed, alike for every batch): an ended process's time reaches its parent's
    only once the parent waits for it, which a fork server or a killed worker may never do. The
    sampling thread's own CPU (reading /proc ten times a second, however long the batch takes) is the
    meter's, not the batch's: it is left out."""

    def __init__(self, watcher: Callable[[float], None] | None = None) -> None:
        self.seen: dict[tuple[int, bytes], int] = {}
        self.spent = 0  # ticks since __enter__, kept up to date by each sample
        self.sampler = (0, 0)  # the sampling thread's id and its own ticks at the last sample
        self.watcher = watcher  # called with the CPU seconds so far after each sample
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _read(self) -> dict[tuple[int, bytes], int]:
        """Own CPU ticks of each living process below us, by pid and start time (a reused pid is another)."""
        found = {}
        for pid in process_tree(os.getpid()):
            try:
                with open(f"/proc/{pid}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
                found[(pid, fields[19])] = int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
        return found

    def _update(self) -> None:
        """One sample: each living process's growth since it was last seen (the work grows with the
        processes alive, not with those seen so far, so a long batch is measured at the same cost)."""
        for key, ticks in self._read().items():
            grown = ticks - self.seen.get(key, 0)
            if grown > 0:
                self.seen[key] = ticks
                self.spent += grown

    def _sample(self) -> None:
        tid = threading.get_native_id()
        while not self.stop.wait(SAMPLE_SECONDS):
            self._update()
            if self.watcher is not None:
                self.watcher(self.seconds)
            self.sampler = (tid, _thread_ticks(tid))

    def __enter__(self) -> _CpuMeter:
        self.seen = self._read()  # spent before the batch: not counted
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self._update()

    @property
    def seconds(self) -> float:
        return (self.spent - self.sampler[1]) / os.sysconf("SC_CLK_TCK")


def _thread_ticks(tid: int) -> int:
    """CPU ticks of one thread of this process (0 when it cannot be read)."""
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def _timed_batch(
    assignment: Assignment, batch: Path, out: Path, watcher: Callable[[float], None] | None = None, **how
) -> tuple[float, int, float]:
    """Wall seconds, exit status and CPU seconds of one batch. The CPU seconds hardly depend on what
    else the machine runs, so they compare two batches timed on a shared machine where wall time cannot."""
    began = time.perf_counter()
    with _CpuMeter(watcher) as meter, contextlib.redirect_stdout(io.StringIO()):
        status = grade(assignment=assignment, paths=[batch], out=out, quiet=True, phases=True, **how)
    return time.perf_counter() - began, status, meter.seconds


def _dask_figures(figures: dict, assignment: Assignment, batch: Path, out: Path, workers: int, sandbox) -> int:
    """The same batch on a LocalCluster of as many workers; the ratios of throughputs and of CPU seconds
    (1.0: no overhead; on a busy machine the CPU ratio is the one to trust)."""
    seconds, status, cpu = _timed_batch(
        assignment, batch, out, workers=workers, sandbox=sandbox, dask=f"local:{workers}"
    )
    submissions = figures["batch_submissions"]
    figures["dask_local_workers"] = workers
    figures["dask_batch_seconds"] = round(seconds, 2)
    figures["dask_submissions_per_minute"] = round(60 * submissions / seconds, 1)
    figures["dask_vs_pool_throughput"] = round(figures["batch_seconds"] / seconds, 2)
    figures["dask_cpu_seconds_per_submission"] = round(cpu / submissions, 2)
    figures["dask_vs_pool_cpu"] = round(figures["cpu_seconds_per_submission"] * submissions / cpu, 2)

    return status
