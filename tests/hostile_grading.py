"""The hostile corpus (tests/hostile_corpus.py) with the calm notebooks, graded once per test session by
`grader grade --workers 2`: tests/test_hostile_submissions_are_contained.py judges the reports,
tests/test_dask.py grades the same batch on a Dask LocalCluster and compares. The session fixture
(`hostile_batch`, tests/conftest.py) calls `grade_hostile_batch`.

While the batch runs, the test process is a "child subreaper", so any process a kernel starts and
abandons becomes our child instead of init's, where the leftover check finds it.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.kernel.processes import process_tree
from grader.store.gradebook import FILE_NAME as GRADEBOOK_FILE
from grader.store.gradebook import Gradebook
from tests.fixtures import ROOT
from tests.hostile_corpus import ASSIGNMENT_DIR, MARKER, PAYLOAD, TWO, solution_notebook, write_corpus

LIMITS = {"case_seconds": 5, "submission_seconds": 30, "memory_mb": 1024, "processes": 64}
PR_SET_CHILD_SUBREAPER = 36


@contextmanager
def subreaper() -> Iterator[set[int]]:
    """Orphans of the processes started meanwhile come back to this process; yields who lives now."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield set(process_tree(os.getpid()))
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def leftovers(allowed: set[int], wait: float = 5) -> list[str]:
    """Our living descendants, as "pid command", waiting a moment for processes being killed."""
    deadline = time.monotonic() + wait
    while True:
        alive = [pid for pid in process_tree(os.getpid()) if pid != os.getpid() and pid not in allowed]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    described = []
    for pid in alive:
        try:
            described.append(f"{pid} {Path(f'/proc/{pid}/cmdline').read_bytes()[:200]!r}")
        except OSError:
            pass
    return described


def fixed_rate(notebook) -> bytes:
    """A well-behaved but imperfect submission: a fixed learning rate instead of the argument."""
    for cell in notebook.cells:
        if cell.source.startswith(f"# GRADED FUNCTION: {TWO}"):
            cell.source = cell.source.replace(
                "update_parameters(parameters, grads, learning_rate)", "update_parameters(parameters, grads, 0.0075)"
            )
    return nbformat.writes(notebook).encode()


SKIPPED_FOLDERS = (
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "corpus_out",
    "output",
    "site",
)


def guarded_files() -> dict[Path, tuple]:
    """What a hostile notebook aims at, as it is now: every file of the checkout (caches and the
    virtual environment aside), and every entry at the top of $HOME and of /, with its size, its
    modification time and, for files, a hash of its content."""
    state: dict[Path, tuple] = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_FOLDERS and not d.endswith(".egg-info")]
        for name in files:
            state[Path(folder) / name] = _state(Path(folder) / name)
    for place in (Path.home(), Path("/")):
        for entry in place.iterdir():
            state.setdefault(entry, _state(entry))
    return state


def _state(path: Path) -> tuple:
    try:
        info = path.lstat()
    except OSError:
        return ("gone",)
    if not path.is_file() or path.is_symlink():
        return (info.st_mode, info.st_uid)
    return (info.st_size, info.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())


def planted_files(deep: list[Path], shallow: list[Path]) -> list[Path]:
    """Any file a hostile notebook managed to create or overwrite, anywhere it aimed."""
    candidates = []
    for place in deep:
        for folder, dirs, files in os.walk(place):
            dirs[:] = [d for d in dirs if d not in (".git", "__pycache__", ".pytest_cache", ".ruff_cache")]
            candidates += [Path(folder) / name for name in files]
    for place in shallow:
        candidates += [entry for entry in place.iterdir() if entry.is_file()]
    found = []
    for path in candidates:
        try:
            if MARKER in path.name or (
                path.suffix != ".ipynb" and path.stat().st_size < 1_000_000 and PAYLOAD.encode() in path.read_bytes()
            ):
                found.append(path)
        except OSError:
            pass
    return found


def grade_command(paths: list[Path], out: Path, *how: str) -> list[str]:
    """`grader grade` on `paths` with the corpus's short limits; `how` is --workers N or --dask ADDRESS."""
    limits = [f"--{name.replace('_', '-')}={value}" for name, value in LIMITS.items()]
    return [
        sys.executable,
        "-m",
        "grader",
        "grade",
        *map(str, paths),
        "--assignment",
        str(ASSIGNMENT_DIR),
        "--out",
        str(out),
        "--quiet",
        *limits,
        *how,
    ]


@dataclass
class HostileBatch:
    """The batch, where it was graded, and what the local pool's run left behind."""

    hostile: dict[str, Path]  # the hostile corpus, by entry name
    calm: dict[str, Path]  # the solution and a partly right notebook
    outside: Path  # a folder on the host the kernels must not reach
    paths: list[Path]  # what `grader grade` was given
    out: Path  # the local pool's output folder
    done: subprocess.CompletedProcess
    seconds: float
    bound: float  # the limits make the batch finite: it must end within this
    guarded: dict[Path, tuple]
    guarded_after: dict[Path, tuple]
    leftovers: list[str]
    planted: list[Path]

    @property
    def count(self) -> int:
        return len(self.hostile) + len(self.calm)


def write_batch(folder: Path, outside: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """The hostile corpus in folder/corpus, the calm notebooks in folder/calm."""
    hostile = write_corpus(folder / "corpus", outside)
    calm = folder / "calm"
    calm.mkdir()
    (calm / "solution.ipynb").write_bytes((ASSIGNMENT_DIR / "dnn_app_solution.ipynb").read_bytes())
    (calm / "fixed_rate.ipynb").write_bytes(fixed_rate(solution_notebook()))
    return hostile, {p.stem: p for p in sorted(calm.iterdir())}


def grade_hostile_batch(folder: Path, outside: Path, out: Path) -> HostileBatch:
    """Write the batch and grade it once with `grader grade --workers 2`, as an instructor would."""
    hostile, calm = write_batch(folder, outside)
    paths = [folder / "corpus", *calm.values()]
    bound = 60 + (len(hostile) + len(calm)) * LIMITS["submission_seconds"] / 2
    guarded = guarded_files()
    with subreaper() as before:
        started = time.monotonic()
        done = subprocess.run(
            grade_command(paths, out, "--workers", "2"), capture_output=True, text=True, timeout=bound + 60
        )
        seconds = time.monotonic() - started
        left = leftovers(before)
    print(f"\ngrader grade: {len(hostile) + len(calm)} submissions in {seconds:.1f} s with 2 workers")
    return HostileBatch(
        hostile,
        calm,
        outside,
        paths,
        out,
        done,
        seconds,
        bound,
        guarded,
        guarded_files(),
        left,
        planted_files([ROOT, outside], [Path.home(), Path("/tmp"), Path("/")]),
    )


def gradebook_rows(out: Path) -> dict:
    """The rows of the gradebook in `out`, by submission name."""
    with Gradebook(out / GRADEBOOK_FILE) as book:
        return {row.name: row for row in book.rows()}
