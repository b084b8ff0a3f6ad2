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
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from grader.assignment.dataset import dataset_files
from grader.assignment.manifest import Assignment
from grader.errors import UserError
from grader.kernel.processes import process_tree
from grader.kernel.zygote import fresh_kernels
from grader.verbs.check import run_check
from grader.verbs.grade import grade


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
        began = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            check_sandbox = fresh_kernels(sandbox)  # as `check` starts its kernels (the batch forks them)
            run_check(assignment.folder / assignment.solution, assignment, color="never", sandbox=check_sandbox)
        figures["check_seconds"] = round(time.perf_counter() - began, 2)

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
        seconds, status, cpu = _timed_batch(assignment, batch, scratch / "out", workers=workers, sandbox=sandbox)
        # What one submission costs a busy worker core: the figure to size a cluster with (docs/speed.md's
        # projection). On a shared machine it includes the others' load; the CPU seconds do not.
        figures["core_seconds_per_submission"] = round(seconds * workers / submissions, 2)
        figures["cpu_seconds_per_submission"] = round(cpu / submissions, 2)
        figures["batch_submissions"] = submissions
        figures["batch_workers"] = workers
        figures["batch_seconds"] = round(seconds, 2)
        figures["submissions_per_minute"] = round(60 * submissions / seconds, 1)
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


SAMPLE_SECONDS = 0.1


class _CpuMeter:
    """CPU seconds spent by this process and every process below it (workers, kernels) while it runs.

    Each process's own time is sampled from /proc until it ends (what a process does in its last
    tenth of a second is missed, alike for every batch): an ended process's time reaches its parent's
    only once the parent waits for it, which a fork server or a killed worker may never do."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, bytes], int] = {}
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

    def _sample(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            for key, ticks in self._read().items():
                self.seen[key] = max(self.seen.get(key, 0), ticks)

    def __enter__(self) -> _CpuMeter:
        self.before = self._read()  # spent before the batch: not counted
        self.seen = dict(self.before)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        for key, ticks in self._read().items():
            self.seen[key] = max(self.seen.get(key, 0), ticks)

    @property
    def seconds(self) -> float:
        ticks = sum(ticks - self.before.get(key, 0) for key, ticks in self.seen.items())
        return ticks / os.sysconf("SC_CLK_TCK")


def _timed_batch(assignment: Assignment, batch: Path, out: Path, **how) -> tuple[float, int, float]:
    """Wall seconds, exit status and CPU seconds of one batch. The CPU seconds hardly depend on what
    else the machine runs, so they compare two batches timed on a shared machine where wall time cannot."""
    began = time.perf_counter()
    with _CpuMeter() as meter, contextlib.redirect_stdout(io.StringIO()):
        status = grade(assignment=assignment, paths=[batch], out=out, quiet=True, **how)
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
