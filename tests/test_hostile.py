"""Every hostile or broken submission of the corpus gets a clear report and harms nothing else.

The corpus (tests/hostile_corpus.py) is graded once, by `grader grade` in the sandbox, with short
limits, two submissions at a time, mixed with well-behaved ones. The checks: each report says what happened
in words a student can act on; cheats score 0 on what they faked; the well-behaved submissions
get exactly the scores they get alone; no process is left behind; no file outside the temporary
folders changes.

This test process is made a "child subreaper" for the duration, so any process a kernel starts
and abandons becomes our child instead of init's, where the leftover check finds it.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.grading import GradeOptions, grade_notebook
from grader.judge.expected import ExpectedValues
from grader.kernel.processes import process_tree
from grader.kernel.sandbox import choose_sandbox, unavailable_reason
from grader.reports.gradebook import FILE_NAME as GRADEBOOK_FILE
from grader.reports.gradebook import Gradebook
from tests.conftest import ROOT
from tests.hostile_corpus import ASSIGNMENT_DIR, CORPUS, MARKER, PAYLOAD, TWO, solution_notebook, write_corpus

LIMITS = {"case_seconds": 5, "submission_seconds": 30, "memory_mb": 1024, "processes": 64}
PR_SET_CHILD_SUBREAPER = 36


def _fixed_rate(notebook) -> bytes:
    """A well-behaved but imperfect submission: a fixed learning rate instead of the argument."""
    for cell in notebook.cells:
        if cell.source.startswith(f"# GRADED FUNCTION: {TWO}"):
            cell.source = cell.source.replace("update_parameters(parameters, grads, learning_rate)",
                                              "update_parameters(parameters, grads, 0.0075)")
    return nbformat.writes(notebook).encode()


def _guarded_files() -> dict[Path, tuple]:
    """Files a hostile notebook aims at, with what they are now (size, mtime, content hash)."""
    targets = [ASSIGNMENT_DIR / "expected.npz", ASSIGNMENT_DIR / "cases.py", ROOT / "reference" / "models.py"]
    targets += [entry for entry in Path.home().iterdir() if entry.is_file()]
    state = {}
    for path in targets:
        if path.is_file():
            info = path.stat()
            state[path] = (info.st_size, info.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return state


def _planted_files(deep: list[Path], shallow: list[Path]) -> list[Path]:
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
            if MARKER in path.name or (path.suffix != ".ipynb" and path.stat().st_size < 1_000_000
                                       and PAYLOAD.encode() in path.read_bytes()):
                found.append(path)
        except OSError:
            pass
    return found


def _leftovers(allowed: set[int]) -> list[str]:
    """Our living descendants, as "pid command", waiting a moment for processes being killed."""
    deadline = time.monotonic() + 5
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


def _text(report) -> str:
    return "\n".join(report.problems + [m for case in report.cases for m in case.messages])


def _outcome(report) -> list[tuple]:
    return [(c.case_id, c.status, round(c.score, 9)) for c in report.cases]


@pytest.fixture(scope="module")
def subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    before = set(process_tree(os.getpid()))
    yield before
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@pytest.fixture(scope="module")
def sandbox():
    chosen = choose_sandbox(disabled=False)
    assert chosen is not None, f"the hostile corpus must run in the sandbox, and there is none: {unavailable_reason()}"
    return chosen


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("hostile")
    outside = tmp_path_factory.mktemp("outside")  # a folder on the host the kernel must not reach
    written = write_corpus(folder / "corpus", outside)
    calm = folder / "calm"
    calm.mkdir()
    (calm / "solution.ipynb").write_bytes((ASSIGNMENT_DIR / "dnn_app_solution.ipynb").read_bytes())
    (calm / "fixed_rate.ipynb").write_bytes(_fixed_rate(solution_notebook()))
    return {"hostile": written, "calm": {p.stem: p for p in sorted(calm.iterdir())}, "outside": outside,
            "folder": folder}


@pytest.fixture(scope="module")
def graded(assignment, sandbox, corpus, subreaper, tmp_path_factory) -> dict:
    """Grade the well-behaved notebooks alone, then everything together with `grader grade`, two workers.

    The corpus is graded once, through the command an instructor runs (worker processes, the
    gradebook); the reports are read back from the gradebook.
    """
    expected = ExpectedValues(assignment)
    options = GradeOptions(sandbox=sandbox, limits=dict(LIMITS))
    guarded = _guarded_files()
    alone = {name: grade_notebook(path, assignment, expected, options) for name, path in corpus["calm"].items()}
    out = tmp_path_factory.mktemp("graded")
    paths = [str(corpus["folder"] / "corpus"), *(str(path) for path in corpus["calm"].values())]
    limits = [f"--{name.replace('_', '-')}={value}" for name, value in LIMITS.items()]
    command = [sys.executable, "-m", "grader", "grade", *paths, "--assignment", str(ASSIGNMENT_DIR), "--out",
               str(out), "--workers", "2", "--quiet", *limits]
    count = len(corpus["hostile"]) + len(corpus["calm"])
    bound = 60 + count * LIMITS["submission_seconds"] / 2  # the limits are what make this finite
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=bound + 60)
    seconds = time.monotonic() - started
    print(f"\ngrader grade: {count} submissions in {seconds:.1f} s with 2 workers")
    with Gradebook(out / GRADEBOOK_FILE) as book:
        rows = {row.name: row for row in book.rows()}
    return {"alone": alone, "reports": {name: row.submission_report() for name, row in rows.items()},
            "rows": rows, "done": done, "count": count, "bound": bound, "seconds": seconds, "guarded": guarded,
            "guarded_after": _guarded_files(), "leftovers": _leftovers(subreaper),
            "planted": _planted_files([ROOT, corpus["outside"]], [Path.home(), Path("/tmp"), Path("/")])}


@pytest.mark.parametrize("entry", CORPUS, ids=[entry.name for entry in CORPUS])
def test_each_report_says_what_happened(graded, entry):
    report = graded["reports"][entry.name]
    text = _text(report)
    assert report.status == entry.expect.status, text
    for words in entry.expect.words:
        assert re.search(words, text), f"{entry.name}: the report does not say /{words}/:\n{text}"
    for function in entry.expect.zero:
        assert report.function_scores[function] == 0, f"{entry.name}: {function} scored on what it faked\n{text}"
    for function in entry.expect.full:
        assert math.isclose(report.function_scores[function], report.function_points[function]), (
            f"{entry.name}: {function}, left untouched, lost points\n{text}")
    assert "Traceback" not in "\n".join(report.problems), report.problems
    assert report.isolated is True
    hidden = "\n".join(m for case in report.cases if case.visibility != "visible" for m in case.messages)
    for words in entry.expect.hidden_never:
        assert not re.search(words, hidden), f"{entry.name}: a hidden case's messages say /{words}/:\n{hidden}"
    if entry.expect.max_seconds is not None:
        assert report.seconds < entry.expect.max_seconds, f"{entry.name}: graded in {report.seconds:.0f} s"


def test_process_storm_was_capped(graded):
    text = _text(graded["reports"]["process_storm"])
    started = [int(n) for n in re.findall(r"fork failed after (\d+) processes", text)]
    assert started and max(started) < LIMITS["processes"], text


def test_every_report_is_bounded(graded):
    for name, report in graded["reports"].items():
        size = len(str(report.to_dict()))
        assert size < 200_000, f"{name}: a report of {size} characters"


def test_well_behaved_submissions_score_as_they_do_alone(graded):
    alone = graded["alone"]
    assert math.isclose(alone["solution"].score, alone["solution"].max_score)
    assert 0 < alone["fixed_rate"].score < alone["fixed_rate"].max_score  # partly right: shows it is compared
    for name, report in alone.items():
        assert _outcome(graded["reports"][name]) == _outcome(report), name


def test_no_process_is_left_behind(graded):
    assert graded["leftovers"] == []


def test_no_file_outside_the_temporary_folders_changed(graded):
    assert graded["planted"] == []
    changed = [str(path) for path, state in graded["guarded"].items() if graded["guarded_after"].get(path) != state]
    assert changed == []


def test_grade_command_finishes_the_corpus_in_bounded_time(graded):
    """`grader grade` on the corpus and the well-behaved notebooks, two workers: every row recorded, in time."""
    assert graded["done"].returncode == 0, graded["done"].stderr[-3000:]
    assert graded["seconds"] < graded["bound"]
    rows = graded["rows"]
    assert len(rows) == graded["count"], sorted(rows)
    assert {row.status for row in rows.values()} <= {"graded", "invalid"}, {n: r.status for n, r in rows.items()}
    assert math.isclose(rows["solution"].score, rows["solution"].max_score)
    for entry in CORPUS:
        assert rows[entry.name].status == entry.expect.status, entry.name
        for function in entry.expect.zero:
            assert rows[entry.name].function_scores[function] == 0, entry.name
