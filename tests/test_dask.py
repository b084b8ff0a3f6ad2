"""`grader grade --dask`: a real LocalCluster grades the hostile corpus, the calm notebooks and the intake
corpus with the verdicts of the local pool (`--workers 2`, graded once per session: the `hostile_batch`
fixture that tests/test_hostile_submissions_are_contained.py judges); a worker killed mid-batch costs
nothing; a submission that kills workers repeatedly becomes an error row and the batch goes on."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from grader.batch.collection import Submission
from grader.grading import GradeOptions
from grader.kernel.processes import process_tree
from tests.fixtures import ROOT, environment, make_report, problem_texts, said
from tests.hostile_corpus import CORPUS
from tests.hostile_grading import (
    grade_command,
    gradebook_rows,
    guarded_files,
    leftovers,
    planted_files,
    subreaper,
)
from tests.intake_corpus import write_intake_corpus

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

# Verdicts that may differ between two runs of the same grader on a busy machine, whatever runs it:
# memfd_hoard's case ends either at the memory limit or at the case's time limit while the kernel's
# group reclaims memory (tests/hostile_corpus.py); both score 0, so only its scores are compared.
TIMING_DEPENDENT = {"memfd_hoard"}
KILL_BATCH = ("solution", "fixed_rate", "infinite_loop", "os_exit")  # a worker is killed grading one of them


@dataclass(frozen=True)
class Verdict:
    """What a submission's row says, without what depends on time: the status, the scores, each case's
    status and score and the mistake it names, and the kind of each problem (its words, numbers left out)."""

    status: str
    isolated: bool
    scores: tuple
    cases: tuple
    problems: tuple

    def scores_only(self) -> tuple:
        return self.status, self.isolated, self.scores, tuple(case[:1] + case[2:3] for case in self.cases)


def _kind(text: str) -> str:
    return re.sub(r"\d+(\.\d+)?", "#", text)


def _verdict(report) -> Verdict:
    cases = tuple(
        (c.case_id, c.status, round(c.score, 9), said(c).get("mistake"), said(c).get("title")) for c in report.cases
    )
    scores = (round(report.score, 9), tuple(sorted((f, round(s, 9)) for f, s in report.function_scores.items())))
    return Verdict(report.status, report.isolated, scores, cases, tuple(_kind(p) for p in problem_texts(report)))


def _difference(pool: Verdict, dask: Verdict) -> str:
    """What differs, field by field: the local pool's value, then the cluster's."""
    fields = ("status", "isolated", "scores", "cases", "problems")
    return "; ".join(
        f"{f} {getattr(pool, f)!r:.600} / {getattr(dask, f)!r:.600}"
        for f in fields
        if getattr(pool, f) != getattr(dask, f)
    )


def _verdicts(*outs: Path) -> dict[str, Verdict]:
    return {name: _verdict(row.submission_report()) for out in outs for name, row in gradebook_rows(out).items()}


def _grade(paths: list[Path], out: Path, *how: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        grade_command(paths, out, *how), capture_output=True, text=True, timeout=900, env=environment()
    )


@pytest.fixture(scope="module")
def graded(hostile_batch, tmp_path_factory) -> dict:
    """The session's batch and the intake corpus graded by a LocalCluster (twice: the second run finds
    nothing to do); the intake corpus by the local pool (the session graded the rest)."""
    root = tmp_path_factory.mktemp("dask-out")
    intake = write_intake_corpus(root / "intake")
    paths = [*hostile_batch.paths, root / "intake"]
    guarded = guarded_files()
    with subreaper() as before:
        pool = _grade([root / "intake"], root / "pool-intake", "--workers", "2")
        started = time.monotonic()
        dask = _grade(paths, root / "dask", "--dask", "local:2")
        print(
            f"\ngrader grade --dask local:2: the session's batch and the intake corpus in "
            f"{time.monotonic() - started:.1f} s"
        )
        left = leftovers(before, wait=10)
        again = _grade(paths, root / "dask", "--dask", "local:2")
    return {
        "pool": pool,
        "dask": dask,
        "again": again,
        "leftovers": left,
        "root": root,
        "intake": intake,
        "guarded": guarded,
        "guarded_after": guarded_files(),
        "planted": planted_files([ROOT, hostile_batch.outside], [Path.home(), Path("/tmp"), Path("/")]),
        "pool_verdicts": _verdicts(hostile_batch.out, root / "pool-intake"),
        "verdicts": _verdicts(root / "dask"),
    }


def test_the_gradebook_is_complete(graded, hostile_batch):
    assert graded["pool"].returncode == 0, graded["pool"].stderr[-3000:]
    assert graded["dask"].returncode == 0, graded["dask"].stderr[-3000:]
    dask, pool = graded["verdicts"], graded["pool_verdicts"]
    assert {*hostile_batch.hostile, *hostile_batch.calm} <= set(dask)
    assert len(dask) == hostile_batch.count + len(graded["intake"]) - 1  # a linked folder is not walked
    assert set(dask) == set(pool)


def test_the_cluster_gives_the_local_pools_verdicts(graded):
    pool, dask = graded["pool_verdicts"], graded["verdicts"]
    differ = {
        name: _difference(pool[name], dask[name])
        for name in pool
        if name not in TIMING_DEPENDENT and pool[name] != dask[name]
    }
    assert differ == {}, "\n".join(f"{name}: {what}" for name, what in differ.items())
    for name in TIMING_DEPENDENT:
        assert pool[name].scores_only() == dask[name].scores_only(), name


def test_the_comparison_sees_what_differs(graded):
    """The verdicts compared hold what differs between submissions: status, scores, cases, mistakes, problems."""
    dask = graded["verdicts"]
    assert dask["solution"].status == "graded" and {case[1] for case in dask["solution"].cases} == {"passed"}
    assert dask["solution"].isolated is True
    assert dask["fixed_rate"].scores != dask["solution"].scores
    assert {case[1] for case in dask["infinite_loop"].cases} != {"passed"}
    assert any(case[3] for v in dask.values() for case in v.cases)  # some case names a catalogued mistake
    assert dask["empty"].status == "invalid" and problem_texts(dask["empty"])
    statuses = {v.status for v in dask.values()}
    assert {"graded", "invalid"} <= statuses
    assert {entry.name for entry in CORPUS} <= set(dask)


def test_the_cluster_writes_what_a_local_batch_writes(graded, hostile_batch):
    out = graded["root"] / "dask"
    assert (out / "gradebook.csv").is_file() and (out / "summary.html").is_file()
    for name in (*hostile_batch.hostile, *hostile_batch.calm):
        assert (out / name / "feedback.html").is_file(), name
    refused = sum(1 for verdict in graded["verdicts"].values() if verdict.status == "invalid")
    assert refused, "the corpus holds files that are not gradable notebooks"
    line = f"graded {len(graded['verdicts']) - refused}, skipped 0 unchanged, refused {refused} "
    assert line in graded["dask"].stdout, graded["dask"].stdout[-2000:]


def test_no_process_is_left_behind(graded):
    assert graded["leftovers"] == []


def test_no_file_outside_the_temporary_folders_changed(graded):
    assert graded["planted"] == []
    assert graded["guarded_after"] == graded["guarded"]  # the checkout, $HOME and / (tests/hostile_grading.py)


def test_a_rerun_on_the_cluster_grades_only_what_changed(graded):
    assert graded["again"].returncode == 0, graded["again"].stderr[-3000:]
    assert "graded 0, skipped" in graded["again"].stdout, graded["again"].stdout[-2000:]


def _descendants(pid: int) -> list[int]:
    return [p for p in process_tree(pid) if p != pid]


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


def test_a_worker_killed_mid_batch_costs_nothing(graded, hostile_batch, tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    for path in (*hostile_batch.hostile.values(), *hostile_batch.calm.values()):
        if path.stem in KILL_BATCH:
            shutil.copyfile(path, batch / path.name)
    with subreaper() as before:
        running = subprocess.Popen(
            grade_command([batch], tmp_path / "out", "--dask", "local:2"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and running.poll() is None and time.monotonic() < deadline:
            killed = _busy_worker(running.pid)
            time.sleep(0.2)
        assert killed is not None, "no worker was seen grading"
        os.kill(killed, signal.SIGKILL)
        stdout, stderr = running.communicate(timeout=600)
        left = leftovers(before, wait=10)
    assert running.returncode == 0, stderr
    assert all(name in stdout for name in KILL_BATCH)  # a small batch's lines, one per submission
    assert _verdicts(tmp_path / "out") == {name: graded["pool_verdicts"][name] for name in KILL_BATCH}
    assert left == []


def killing_work(key: str, name: str, notebook: bytes, file_name: str) -> dict:
    """Stands in for grade_on_worker: "killer" (its bytes name a folder) leaves a mark there and ends the
    worker process, each time it is tried."""
    if name == "killer":
        (Path(notebook.decode()) / f"try-{os.getpid()}").touch()
        os._exit(3)
    return {"report": make_report(name).to_dict(), "worker": "tcp://stand-in", "isolation": "none (a stand-in)"}


def test_a_submission_that_keeps_killing_workers_becomes_an_error_row(assignment, tmp_path):
    from grader.batch.cluster import ALLOWED_FAILURES, DaskPool

    finished = []
    pool = DaskPool(
        assignment, GradeOptions(), "local:2", lambda submission, report: finished.append(report), work=killing_work
    )
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
    assert f"died {ALLOWED_FAILURES + 1} times" in problem_texts(reports["killer"])[0]
    assert reports["a"].status == "graded" and reports["b"].status == "graded"


def test_a_worker_that_cannot_isolate_refuses_its_tasks_loudly(assignment, tmp_path, monkeypatch, capsys):
    """Workers where bubblewrap cannot run (GRADER_BWRAP=none in their environment) grade nothing: each
    submission becomes an error row naming the worker and the cause, and the client says so once a worker."""
    from grader.batch.cluster import DaskPool

    monkeypatch.setenv("GRADER_BWRAP", "none")  # the LocalCluster's worker processes inherit it
    record = tmp_path / "ran"
    notebook = (ROOT / "assignments" / "dnn_app" / "dnn_app_solution.ipynb").read_text()
    marked = f"from dnn_app_utils_v3 import *\\nopen({str(record)!r}, 'w')"  # a kernel that ran leaves the file
    notebook = notebook.replace("from dnn_app_utils_v3 import *", marked)
    finished = []
    pool = DaskPool(assignment, GradeOptions(), "local:1", lambda submission, report: finished.append(report))
    for name in ("a", "b", "c"):
        (tmp_path / name).write_text(notebook)
    pool.run([Submission(name, tmp_path / name, name, sha256="0" * 64) for name in ("a", "b", "c")])
    assert sorted(r.name for r in finished) == ["a", "b", "c"]
    for report in finished:
        assert report.status == "error" and "refuses to grade" in problem_texts(report)[0], problem_texts(report)
        assert "bubblewrap is turned off" in problem_texts(report)[0]
    said = [line for line in capsys.readouterr().err.splitlines() if "REFUSES to grade" in line]
    assert len(said) == 1, said
    assert not record.exists()  # no kernel ran


@pytest.mark.kernel
def test_a_plugin_registered_again_keeps_the_folder_its_modules_came_from(assignment):
    """The client registers the assignment's plugin again when a worker dies: the worker's unpacked
    folder must survive it, since the instructor's packages it imported (dnn_app's cases import
    reference.synthetic lazily, in prepare_workdir) are still read from there."""
    from grader.batch.cluster import ShipAssignment

    plugin = ShipAssignment(assignment, GradeOptions())
    plugin.setup()
    first = plugin.folder
    again = ShipAssignment(assignment, GradeOptions())
    plugin.teardown()
    again.setup()
    assert first is not None and first.is_dir() and again.folder == first
    assert (first / "path0" / "reference" / "synthetic.py").is_file()
