"""`grader grade` on folders and zips: rows, reports, CSV and summary; resuming; dead workers.

Kernels cost seconds, so the batches here hold few gradable notebooks: the solution, one broken
copy, and files that never reach a kernel (a text file, an empty file, a corrupt zip).
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.batch import collection
from grader.batch import pool as batch
from grader.batch.collection import Submission, collect_submissions
from grader.batch.pool import Pool
from grader.grading import GradeOptions
from grader.render.refusals import refusal_text
from tests.fixtures import (
    SOLUTION,
    environment,
    grade_cli,
    grade_command,
    hidden_secrets,
    leaks,
    make_report,
    problem_texts,
    write_broken,
    write_unwritten,
)
from tests.fixtures import csv_rows as _csv
from tests.fixtures import gradebook_rows as _rows

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One batch over a folder, a stray text file, a zip and a corrupt zip."""
    root = tmp_path_factory.mktemp("batch")
    inputs = root / "inputs"
    folder = inputs / "folder"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    write_broken(folder / "broken.ipynb")
    shutil.copy(folder / "broken.ipynb", folder / ".ipynb_checkpoints" / "broken-checkpoint.ipynb")
    (folder / "empty.ipynb").write_bytes(b"")
    (inputs / "notes.txt").write_text("my answers are in the notebook\n")
    with zipfile.ZipFile(inputs / "class.zip", "w") as archive:
        archive.write(SOLUTION, "class/solution.ipynb")
        archive.writestr("class/../../escape.ipynb", "{}")
        archive.writestr("class/readme.txt", "not a notebook")
    (inputs / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    out = root / "out"
    run = grade_cli(
        str(folder),
        str(inputs / "notes.txt"),
        str(inputs / "class.zip"),
        str(inputs / "corrupt.zip"),
        "--out",
        str(out),
        "--workers",
        "2",
        cwd=root,
    )
    return root, inputs, out, run


def test_every_submission_gets_a_row_and_reports(graded):
    root, inputs, out, run = graded
    assert run.returncode == 0, run.stderr
    assert "graded 2, skipped 0 unchanged, refused 4 (not a gradable notebook), grader errors 0" in run.stdout
    assert "could not write" not in run.stderr
    rows = _rows(out)
    assert sorted(rows) == ["broken", "corrupt", "empty", "escape", "notes.txt", "solution"]
    assert (rows["solution"].status, rows["solution"].score) == ("graded", 100.0)
    broken = rows["broken"]
    assert broken.status == "graded"
    assert broken.function_scores["two_layer_model"] == 50.0
    assert 0 < broken.function_scores["L_layer_model"] < 50.0
    for name in ("corrupt", "empty", "escape", "notes.txt"):
        assert (rows[name].status, rows[name].score) == ("invalid", 0.0), name
    assert "not a readable zip" in problem_texts(rows["corrupt"].submission_report())[0]
    assert "is empty" in problem_texts(rows["empty"].submission_report())[0]
    assert "not a notebook" in problem_texts(rows["notes.txt"].submission_report())[0]
    assert rows["solution"].path.endswith("class.zip!class/solution.ipynb")
    for name, row in rows.items():
        for report in ("results.json", "feedback.html", "feedback.md"):
            assert (out / name / report).is_file(), (name, report)
        assert f'"score": {row.score}' in (out / name / "results.json").read_text()
    # The zip's "../../escape.ipynb" was never written outside the batch's own folders.
    assert not list(root.parent.rglob("escape.ipynb"))


def test_csv_and_summary_are_built_from_the_gradebook(graded):
    _, _, out, _ = graded
    rows, table = _rows(out), _csv(out)
    assert set(table) == set(rows)
    for name, row in rows.items():
        assert table[name]["sha256"] == row.sha256
        assert float(table[name]["total"]) == pytest.approx(row.score, abs=1e-4)
        assert float(table[name]["L_layer_model"]) == pytest.approx(row.function_scores["L_layer_model"], abs=1e-4)
        assert table[name]["status"] == row.status
    summary = (out / "summary.html").read_text()
    assert 'id="invalid-count">4<' in summary and 'id="graded-count">2<' in summary
    # The public L-layer case with another learning rate: the solution passes, the broken copy fails.
    public = [
        c
        for c in rows["broken"].report["cases"]
        if c["function"] == "L_layer_model" and c["visibility"] == "visible" and c["status"] == "failed"
    ]
    assert public
    assert f'data-case="{public[0]["case_id"]}"' in summary
    assert summary.count("1 / 2") >= 1 and summary.count("2 / 2") >= 1


def test_real_failures_do_not_leak_hidden_cases(graded, assignment):
    _, _, out, _ = graded
    files = [out / "broken" / name for name in ("results.json", "feedback.html", "feedback.md")]
    assert leaks(files, hidden_secrets(assignment)) == []


def test_a_rerun_grades_only_what_changed(graded, tmp_path):
    _, inputs, out, _ = graded
    inputs, out = shutil.copytree(inputs, tmp_path / "inputs"), shutil.copytree(out, tmp_path / "out")
    args = [
        str(inputs / "folder"),
        str(inputs / "notes.txt"),
        str(inputs / "class.zip"),
        str(inputs / "corrupt.zip"),
        "--out",
        str(out),
    ]
    before = _rows(out)
    shutil.rmtree(out / "notes.txt")  # a lost report folder comes back from the gradebook
    again = grade_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "graded 0, skipped 6 unchanged" in again.stdout
    assert {n: r.graded_at for n, r in _rows(out).items()} == {n: r.graded_at for n, r in before.items()}
    assert (out / "notes.txt" / "feedback.html").is_file()

    write_unwritten(inputs / "folder" / "broken.ipynb")  # the file changed (quick to grade)
    third = grade_cli(*args, cwd=tmp_path)
    assert "graded 1, skipped 5 unchanged" in third.stdout, third.stderr
    rows = _rows(out)
    assert (rows["broken"].score, rows["broken"].times_graded) == (0.0, 2)
    assert rows["broken"].sha256 != before["broken"].sha256
    assert float(_csv(out)["broken"]["total"]) == 0.0
    assert "not yet" in (out / "broken" / "feedback.html").read_text()


def _committed(database: Path) -> dict:
    if not database.exists():
        return {}
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            return dict(connection.execute("SELECT name, graded_at FROM submissions").fetchall())
        finally:
            connection.close()
    except sqlite3.OperationalError:  # the table is not there yet
        return {}


def test_a_killed_batch_resumes_and_grades_each_submission_once(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    write_unwritten(folder / "student-0.ipynb")  # quick to grade: only the batch's mechanics matter here
    # ... but not so quick that the whole batch could end before the kill below (kernels started ahead
    # make a blank notebook take a fraction of a second): each setup cell waits a second.
    notebook = nbformat.read(folder / "student-0.ipynb", as_version=4)
    setup = next(cell for cell in notebook.cells if "from dnn_app_utils_v3 import" in cell.source)
    setup.source += "\nimport time\ntime.sleep(1)\n"
    nbformat.write(notebook, folder / "student-0.ipynb")
    for index in range(1, 6):
        shutil.copy(folder / "student-0.ipynb", folder / f"student-{index}.ipynb")
    out = tmp_path / "out"
    # No sandbox here: this test is about the gradebook, and the kill is cleaned up by process group.
    command = [str(folder), "--out", str(out), "--workers", "2"]
    process = subprocess.Popen(
        grade_command(*command),
        cwd=tmp_path,
        env=environment(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while not _committed(out / "gradebook.sqlite") and time.monotonic() < deadline:
            assert process.poll() is None, "the batch ended before it was killed"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its workers and kernels, all started by this test
        except ProcessLookupError:
            pass
    before = _committed(out / "gradebook.sqlite")
    assert 1 <= len(before) < 6
    assert not (out / "gradebook.csv").exists()  # the batch died before its end

    rerun = grade_cli(*command, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"graded {6 - len(before)}, skipped {len(before)} unchanged" in rerun.stdout
    rows = _rows(out)
    assert len(rows) == 6 and all(row.times_graded == 1 and row.status == "graded" for row in rows.values())
    assert all(rows[name].graded_at == graded_at for name, graded_at in before.items())
    assert set(_csv(out)) == set(rows)


# A stand-in for the worker's grading function, run in the worker processes: one submission kills
# its process, one raises, the others finish.
def fake_grading(path: str, name: str) -> dict:
    batch.mark_started(name)
    if name == "dies":
        os._exit(3)
    if name == "raises":
        raise ValueError("boom in the grader")
    time.sleep(0.3)
    return make_report(name).to_dict()


def test_a_dead_or_failing_worker_costs_only_its_submission(assignment, tmp_path):
    names = ["a", "dies", "b", "raises", "c", "d"]
    finished = []
    pool = Pool(
        assignment,
        GradeOptions(),
        workers=2,
        staging=tmp_path,
        finish=lambda submission, report: finished.append(report),
        work=fake_grading,
    )
    pool.run([Submission(name, tmp_path / name, name, sha256="0" * 64) for name in names])
    reports = {r.name: r for r in finished}
    assert sorted(r.name for r in finished) == sorted(names)  # each exactly once
    assert reports["dies"].status == "error" and "died" in problem_texts(reports["dies"])[0]
    assert reports["raises"].status == "error" and "boom in the grader" in problem_texts(reports["raises"])[0]
    assert all(reports[n].status == "graded" and reports[n].score == 100.0 for n in ("a", "b", "c", "d"))
    assert reports["dies"].max_score == 100.0 and len(reports["dies"].cases) == len(assignment.cases())


def test_zips_are_extracted_safely_and_names_are_unique(tmp_path, monkeypatch):
    monkeypatch.setattr(collection, "MAX_NOTEBOOK_BYTES", 1000)
    monkeypatch.setattr(collection, "MAX_ZIP_BYTES", 1000)
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/alice.ipynb", "{}")
        z.writestr("b/alice.ipynb", "{}")
        z.writestr("/etc/evil.ipynb", "{}")
        z.writestr("../../../../tmp/evil.ipynb", "{}")
        z.writestr("a/.ipynb_checkpoints/alice-checkpoint.ipynb", "{}")
        z.writestr("__MACOSX/a/._alice.ipynb", "{}")
        link = zipfile.ZipInfo("a/link.ipynb")
        link.external_attr = 0o120777 << 16
        z.writestr(link, "/etc/passwd")
        z.writestr("a/huge.ipynb", "x" * 5000)  # cut at the per-notebook bound
        z.writestr("a/late.ipynb", "{}")  # past the zip's total bound
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "sub" / "alice.ipynb").write_text("{}")
    staging = tmp_path / "staging"
    found, warnings = collect_submissions([archive, tmp_path / "folder", tmp_path / "missing"], staging)
    names = [s.name for s in found]
    assert names == ["a__alice", "b__alice", "etc__evil", "tmp__evil", "a__huge", "a__late", "sub__alice"]
    assert len({n.lower() for n in names}) == len(names)
    assert all(re.match(NAME, n) for n in names)
    for submission in found:
        if submission.problem is None and submission.source.startswith(str(archive)):
            assert submission.path.resolve().is_relative_to(staging.resolve())
    huge = next(s for s in found if s.name == "a__huge")
    assert huge.path.stat().st_size == 1001  # the grader then reports it as too large
    late = next(s for s in found if s.name == "a__late")
    assert late.problem and "more than" in refusal_text(late.problem)
    assert any("symbolic link" in w for w in warnings) and any("missing" in w for w in warnings)
    assert [p.name for p in tmp_path.rglob("*evil*")] == ["etc__evil.ipynb", "tmp__evil.ipynb"]
    assert all(p.parent.parent == staging for p in tmp_path.rglob("*evil*"))


def test_execute_all_without_a_dataset_is_a_clear_error(tmp_path):
    env_free = grade_cli(
        "--execute",
        "all",
        str(SOLUTION),
        "--out",
        str(tmp_path / "out"),
        cwd=tmp_path,
        timeout=120,
        env_drop=("DNN_DATA_DIR",),
    )
    assert env_free.returncode == 2
    assert "--data" in env_free.stderr and "Traceback" not in env_free.stderr


def test_nothing_to_grade_is_reported(tmp_path):
    run = grade_cli(str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), cwd=tmp_path, timeout=120)
    assert run.returncode == 2  # bad input, as `grader check` on a missing file
    assert "no such file or folder" in run.stderr and "nothing to grade" in run.stderr
