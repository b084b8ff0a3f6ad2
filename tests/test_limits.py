"""Every limit an assignment's manifest sets is the one its kernels run under: the record read from
[limits] travels whole to the kernel's launcher, none of its fields falling back to a default."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from grader.assignment.manifest import load_assignment
from grader.grading import GradeOptions, grade_one
from grader.judge.expected import ExpectedValues
from tests.fixtures import problem_texts, proven_sandbox

pytestmark = pytest.mark.kernel

MANIFEST_LIMITS = {"cpu_seconds": 77, "memory_mb": 1500, "processes": 33, "file_mb": 64}
MB = 1024 * 1024
# Appended to the setup cell: it raises (and the report says so) unless the kernel runs under `want`.
INSPECT = """
import os as _os, resource as _r
_seen = {{"cpu": _r.getrlimit(_r.RLIMIT_CPU)[0], "address space": _r.getrlimit(_r.RLIMIT_AS)[0],
         "processes": _r.getrlimit(_r.RLIMIT_NPROC)[0], "file size": _r.getrlimit(_r.RLIMIT_FSIZE)[0],
         "folder": _os.statvfs(".").f_blocks * _os.statvfs(".").f_frsize}}
assert _seen == {want!r}, f"LIMITS-SEEN {{_seen}}"
"""


def _graded(toy_dir, tmp_path, want: dict):
    folder = shutil.copytree(toy_dir, tmp_path / "toy")
    manifest = folder / "assignment.toml"
    table = "".join(f"{name} = {value}\n" for name, value in MANIFEST_LIMITS.items())
    manifest.write_text(manifest.read_text().replace("[limits]\n", "[limits]\n" + table))
    assignment = load_assignment(folder)
    notebook = nbformat.read(folder / assignment.solution, as_version=4)
    setup = next(cell for cell in notebook.cells if assignment.setup_marker in cell.source)
    setup.source += INSPECT.format(want=want)
    nbformat.write(notebook, tmp_path / "mine.ipynb")
    options = GradeOptions(sandbox=proven_sandbox())
    return grade_one(tmp_path / "mine.ipynb", assignment, ExpectedValues(assignment), options)


def test_every_kernel_limit_of_the_manifest_reaches_the_kernel(toy_dir, tmp_path):
    want = {"cpu": 77, "address space": 1500 * MB, "processes": 33, "file size": 64 * MB, "folder": 64 * MB}
    report = _graded(toy_dir, tmp_path / "right", want)
    assert not [p for p in problem_texts(report) if "LIMITS-SEEN" in p], problem_texts(report)
    assert report.score == pytest.approx(report.max_score)
    # The inspection is live: the defaults expected instead are said to differ.
    defaults = dict(want, **{"file size": 256 * MB, "folder": 256 * MB})
    wrong = _graded(toy_dir, tmp_path / "wrong", defaults)
    said = problem_texts(wrong)
    assert [p for p in said if "LIMITS-SEEN" in p and "'file size': 67108864" in p], said
