"""A full results folder is the grader's failure, not the student's: when the harness cannot write a
case's results because the grader's temporary file system is full (a classmate's kernel graded beside
this one may have filled it), the submission is an error, graded again on the next run, never a 0."""

from __future__ import annotations

import os

import nbformat
import pytest

from grader.assignment.manifest import load_assignment
from grader.grading import GradeOptions, grade_one
from grader.judge.expected import ExpectedValues
from grader.kernel import session
from grader.model import SubmissionReport, SubmissionStatus
from grader.model.notes import CallFailed, ResultsFolderFull
from tests.fixtures import proven_sandbox

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

# The setup cell makes the harness's write fail the way a full disk does, or another way.
BREAK_SAVEZ = """
import numpy
def _failing_savez(*args, **kwargs):
    raise {error}
numpy.savez = _failing_savez
"""


def _graded(toy_dir, tmp_path, error: str):
    assignment = load_assignment(toy_dir)
    notebook = nbformat.read(toy_dir / "toy_solution.ipynb", as_version=4)
    setup = next(cell for cell in notebook.cells if "from toy_utils import" in cell.source)
    setup.source += "\n" + BREAK_SAVEZ.format(error=error)
    path = tmp_path / "student.ipynb"
    nbformat.write(notebook, path)
    return grade_one(path, assignment, ExpectedValues(assignment), GradeOptions(sandbox=proven_sandbox()))


def _problems(report, kind):
    return [p for p in report.problems if isinstance(p, kind)]


def test_a_full_file_system_under_the_results_is_the_graders_failure(toy_dir, tmp_path, monkeypatch):
    class Full:
        f_bavail, f_frsize = 0, 4096

    real = os.statvfs
    monkeypatch.setattr(session.os, "statvfs", lambda path: Full() if "grader-run-" in str(path) else real(path))
    report = _graded(toy_dir, tmp_path, "PermissionError(13, 'Permission denied')")
    assert report.status == SubmissionStatus.ERROR  # graded again on the next run
    full = _problems(report, ResultsFolderFull)
    assert full and full[0].free_mb == 0


def test_a_kernel_saying_its_disk_is_full_is_graded_again_too(toy_dir, tmp_path):
    report = _graded(toy_dir, tmp_path, "OSError(28, 'No space left on device')")
    assert report.status == SubmissionStatus.ERROR and _problems(report, ResultsFolderFull)
    assert SubmissionReport.from_dict(report.to_dict()) == report  # as the gradebook keeps it


def test_a_harness_broken_otherwise_with_room_to_spare_is_the_students(toy_dir, tmp_path):
    report = _graded(toy_dir, tmp_path, "PermissionError(13, 'Permission denied')")
    assert report.status == SubmissionStatus.GRADED and report.score == 0
    assert not _problems(report, ResultsFolderFull)
    assert any(isinstance(note, CallFailed) for case in report.cases for note in case.notes)


def test_the_feedback_says_what_to_do(toy_dir, tmp_path):
    from grader.render.feedback import render_markdown
    from grader.render.notes import note_text

    report = _graded(toy_dir, tmp_path, "OSError(28, 'No space left on device')")
    said = note_text(_problems(report, ResultsFolderFull)[0])
    assert "full" in said and "TMPDIR" in said and "graded again" in said
    assert "TMPDIR" in render_markdown(report, load_assignment(toy_dir))
