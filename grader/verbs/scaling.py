"""`grader bench --scaling`: does a submission cost the same at the end of a long batch as at its
start, and does the grader's memory stay flat?

While the batch runs, the bench's CPU meter calls a Checkpoints after each sample with the CPU
seconds so far. It counts the finished submissions (their report folders, from the output
folder's link count: one stat, whatever the batch's size) and notes the CPU and the grader's
memory when the count reaches the start and the end of each window of WINDOW submissions that
ends at a checkpoint. The first window also pays for the pool's start.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.kernel.processes import process_tree

CHECKPOINTS = (100, 200, 500, 1000, 1500, 2000, 5000, 10000)
WINDOW = 100
MB = 1024 * 1024
MEMORY_EVERY = 10  # the workers' memory is read at every tenth sample (a second), and at each mark


@dataclass(frozen=True)
class Mark:
    """The batch when a wanted number of submissions had finished."""

    done: int  #: submissions finished (at least the wanted number)
    cpu: float  #: CPU-seconds of the batch so far
    grader_mb: float  #: resident memory of the batch's own process
    worker_mb: float  #: resident memory of the largest grading worker in the window that ends here


def _resident_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
    except (OSError, IndexError, ValueError):
        return 0.0


def _is_worker(pid: int) -> bool:
    """A process of the pool (its fork server and workers), not a kernel."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"multiprocessing" in handle.read()
    except OSError:
        return False


def _memory() -> tuple[float, float]:
    me = os.getpid()
    workers = [_resident_mb(pid) for pid in process_tree(me) if pid != me and _is_worker(pid)]
    return _resident_mb(me), max(workers, default=0.0)


class Checkpoints:
    """The CPU meter's watcher: marks at the start and end of each window (see the module's docstring)."""

    def __init__(self, out: Path, submissions: int):
        self.out = out
        self.ends = [c for c in CHECKPOINTS if c < submissions] + [submissions]
        self.wanted = sorted({point for end in self.ends for point in (max(0, end - WINDOW), end)})
        self.marks: dict[int, Mark] = {}
        self.calls = 0
        self.worker_mb = 0.0  # the largest worker seen since the last mark (workers are gone at the end)

    def _done(self) -> int:
        try:
            return max(0, os.stat(self.out).st_nlink - 2)  # a folder's links: itself, its parent's entry, subfolders
        except OSError:
            return 0

    def __call__(self, cpu: float) -> None:
        self.calls += 1
        if self.calls % MEMORY_EVERY == 0:
            self.worker_mb = max(self.worker_mb, _memory()[1])
        done = self._done()
        reached = [wanted for wanted in self.wanted if wanted not in self.marks and done >= wanted]
        if reached:
            grader_mb, worker_mb = _memory()
            mark = Mark(done, cpu, grader_mb, max(worker_mb, self.worker_mb))
            self.marks.update(dict.fromkeys(reached, mark))
            self.worker_mb = 0.0

    def figures(self) -> dict[str, Any]:
        rows = []
        for end in self.ends:
            first, last = self.marks.get(max(0, end - WINDOW)), self.marks.get(end)
            if first is None or last is None or last.done <= first.done:
                continue
            rows.append(
                {
                    "submissions": end,
                    "cpu_seconds_per_submission": round((last.cpu - first.cpu) / (last.done - first.done), 3),
                    "grader_rss_mb": round(last.grader_mb, 1),
                    "largest_worker_rss_mb": round(last.worker_mb, 1),
                }
            )
        figures: dict[str, Any] = {"scaling_window": WINDOW, "scaling": rows}
        if len(rows) >= 2:
            first_cpu, last_cpu = rows[0]["cpu_seconds_per_submission"], rows[-1]["cpu_seconds_per_submission"]
            figures["scaling_last_vs_first"] = round(last_cpu / first_cpu, 2) if first_cpu else None
        figures["grader_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return figures
