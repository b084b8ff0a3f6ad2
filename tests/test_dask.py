"""`grader grade --dask`: a real LocalCluster grades the same mixed batch as the local pool, with the
same verdicts; a worker killed mid-batch costs nothing; a submission that kills workers repeatedly
becomes an error row and the batch goes on."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from grader.batch.collection import Submission  # noqa: E402
from grader.grading import GradeOptions  # noqa: E402
from grader.kernel.processes import process_tree  # noqa: E402
from grader.reports.gradebook import FILE_NAME as GRADEBOOK_FILE  # noqa: E402
from grader.reports.gradebook import Gradebook  # noqa: E402
from tests.batch_helpers import environment, write_broken, write_unwritten  # noqa: E402
from tests.hostile_corpus import ASSIGNMENT_DIR, CORPUS, context, solution_notebook  # noqa: E402
from tests.test_gradebook import make_report  # noqa: E402

LIMITS = {"case_seconds": 5, "submission_seconds": 30, "memory_mb": 1024, "processes": 64}
HOSTILE = ("infinite_loop", "os_exit")
PR_SET_CHILD_SUBREAPER = 36


def _command(batch: Path, out: Path, *how: str) -> list[str]:
    limits = [f"--{name.replace('_', '-')}={value}" for name, value in LIMITS.items()]
    return [sys.executable, "-m", "grader", "grade", str(batch), "--assignment", str(ASSIGNMENT_DIR), "--out",
            str(out), "--quiet", *limits, *how]


def _verdicts(out: Path) -> dict[str, tuple]:
    with Gradebook(out / GRADEBOOK_FILE) as book:
        reports = {row.name: row.submission_report() for row in book.rows()}
    return {name: (r.status, tuple((c.case_id, c.status, round(c.score, 9)) for c in r.cases))
            for name, r in reports.items()}


def _descendants(pid: int) -> list[int]:
    return [p for p in process_tree(pid) if p != pid]


def _leftovers(allowed: set[int]) -> list[int]:
    deadline = time.monotonic() + 10
    while True:
        alive = [p for p in _descendants(os.getpid()) if p not in allowed]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.fixture(scope="module")
def subreaper():
    """Orphans of the grader's processes come back to this process, so leftovers can be counted."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    yield set(process_tree(os.getpid()))
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """The solution, an unwritten and a wrong notebook, and two hostile ones."""
    folder = tmp_path_factory.mktemp("dask") / "batch"
    folder.mkdir()
    (folder / "solution.ipynb").write_bytes((ASSIGNMENT_DIR / "dnn_app_solution.ipynb").read_bytes())
    write_unwritten(folder / "unwritten.ipynb")
    write_broken(folder / "broken.ipynb")
    values = context(folder)
    for entry in CORPUS:
        if entry.name in HOSTILE:
            (folder / f"{entry.name}.ipynb").write_bytes(entry.build(solution_notebook(), values))
    return folder


@pytest.fixture(scope="module")
def graded(batch, subreaper, tmp_path_factory) -> dict:
    """The batch graded by the local pool, by a LocalCluster, and by the LocalCluster again."""
    root = tmp_path_factory.mktemp("dask-out")
    pool = subprocess.run(_command(batch, root / "pool", "--workers", "2"), capture_output=True, text=True,
                          timeout=600, env=environment())
    dask = subprocess.run(_command(batch, root / "dask", "--dask", "local:2"), capture_output=True, text=True,
                          timeout=600, env=environment())
    leftovers = _leftovers(subreaper)
    again = subprocess.run(_command(batch, root / "dask", "--dask", "local:2"), capture_output=True, text=True,
                           timeout=600, env=environment())
    return {"pool": pool, "dask": dask, "again": again, "leftovers": leftovers, "root": root}


def test_the_cluster_gives_the_local_pools_verdicts(graded, batch):
    assert graded["pool"].returncode == 0, graded["pool"].stderr
    assert graded["dask"].returncode == 0, graded["dask"].stderr
    pool, dask = _verdicts(graded["root"] / "pool"), _verdicts(graded["root"] / "dask")
    assert sorted(dask) == sorted(p.stem for p in batch.iterdir())  # the gradebook is complete
    assert dask == pool
    assert dask["solution"][0] == "graded" and all(case[1] == "passed" for case in dask["solution"][1])
    assert {case[1] for case in dask["infinite_loop"][1]} != {"passed"}


def test_the_cluster_writes_what_a_local_batch_writes(graded, batch):
    out = graded["root"] / "dask"
    assert (out / "gradebook.csv").is_file() and (out / "summary.html").is_file()
    for path in batch.iterdir():
        assert (out / path.stem / "feedback.html").is_file()
    assert "graded 5, skipped 0" in graded["dask"].stdout
    assert "solution" in graded["dask"].stdout  # the per-submission lines


def test_no_process_is_left_behind(graded):
    assert graded["leftovers"] == []


def test_a_rerun_on_the_cluster_grades_only_what_changed(graded):
    assert graded["again"].returncode == 0, graded["again"].stderr
    assert "graded 0, skipped 5 unchanged" in graded["again"].stdout


def _grading(pid: int) -> bool:
    """A submission's kernel runs under `pid` (ipykernel_launcher)."""
    for child in _descendants(pid):
        try:
            if b"ipykernel_launcher" in Path(f"/proc/{child}/cmdline").read_bytes():
                return True
        except OSError:
            pass
    return False


def _busy_worker(grader: int) -> int | None:
    """A Dask worker process of the grader (a child of it) that is grading a submission right now."""
    for pid in _descendants(grader):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == grader and b"multiprocessing" in command and _grading(pid):
            return pid
    return None


def test_a_worker_killed_mid_batch_costs_nothing(graded, batch, subreaper, tmp_path):
    running = subprocess.Popen(_command(batch, tmp_path / "out", "--dask", "local:2"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment())
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and running.poll() is None and time.monotonic() < deadline:
        killed = _busy_worker(running.pid)
        time.sleep(0.2)
    assert killed is not None, "no worker was seen grading"
    os.kill(killed, signal.SIGKILL)
    stdout, stderr = running.communicate(timeout=600)
    assert running.returncode == 0, stderr
    assert _verdicts(tmp_path / "out") == _verdicts(graded["root"] / "pool")
    assert _leftovers(subreaper) == []


def killing_work(key: str, name: str, notebook: bytes) -> dict:
    """Stands in for grade_on_worker: "killer" (its bytes name a folder) leaves a mark there and ends the
    worker process, each time it is tried."""
    if name == "killer":
        (Path(notebook.decode()) / f"try-{os.getpid()}").touch()
        os._exit(3)
    return make_report(name).to_dict()


def test_a_submission_that_keeps_killing_workers_becomes_an_error_row(assignment, tmp_path):
    from grader.batch.cluster import ALLOWED_FAILURES, DaskPool

    finished = []
    pool = DaskPool(assignment, GradeOptions(), "local:2", lambda submission, report: finished.append(report),
                    work=killing_work)
    names = ["a", "killer", "b"]
    tries = tmp_path / "tries"
    tries.mkdir()
    for name in names:
        (tmp_path / name).write_bytes(str(tries).encode() if name == "killer" else b"{}")
    pool.run([Submission(name, tmp_path / name, name, sha256="0" * 64) for name in names])
    reports = {r.name: r for r in finished}
    assert sorted(r.name for r in finished) == sorted(names)  # each exactly once
    assert reports["killer"].status == "error"
    assert len(list(tries.iterdir())) == ALLOWED_FAILURES + 1  # the bound set on the scheduler
    assert f"died {ALLOWED_FAILURES + 1} times" in reports["killer"].problems[0]
    assert reports["a"].status == "graded" and reports["b"].status == "graded"
