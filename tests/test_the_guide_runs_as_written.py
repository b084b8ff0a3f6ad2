"""docs/writing-an-assignment.md runs as written: its steps are read from the page itself, so the guide
cannot drift from what the grader does.

A fenced block right after an HTML comment `<!-- guide-test: ... -->` is one step, in page order:
`run` (each line a `grader` command, run in a fresh folder), `file PATH` (the block is that file's new
text) and `cell PATH` (the block is the next code cell of that notebook, which keeps the scaffold's
first two cells: its introduction and its setup cell, as the guide says).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from grader.assignment.manifest import load_assignment
from grader.verbs.new import new_assignment
from tests.fixtures import ROOT, environment

GUIDE = ROOT / "docs" / "writing-an-assignment.md"
STEP = re.compile(r"^<!-- guide-test: (\w+)(?: (\S+))? -->\n```\w*\n(.*?)^```$", re.M | re.S)
KEPT_CELLS = 2  #: the scaffold's introduction and setup cell, which the guide keeps


@dataclass(frozen=True)
class Step:
    kind: str  #: run, file or cell
    path: str  #: the file or notebook (not for run)
    text: str  #: the fenced block


def guide_steps() -> list[Step]:
    steps = [Step(kind, path or "", text) for kind, path, text in STEP.findall(GUIDE.read_text())]
    assert {s.kind for s in steps} <= {"run", "file", "cell"}, steps
    return steps


def _commands(step: Step) -> list[list[str]]:
    lines = [shlex.split(line, comments=True) for line in step.text.splitlines()]
    return [words for words in lines if words]


def _edit(folder: Path, steps: list[Step]) -> None:
    """Apply the guide's file and cell steps (a notebook's cells replace all but the kept ones)."""
    cells: dict[str, list[str]] = {}
    for step in steps:
        if step.kind == "file":
            (folder / step.path).write_text(step.text)
        else:
            cells.setdefault(step.path, []).append(step.text.rstrip("\n"))
    for path, sources in cells.items():
        notebook = nbformat.read(folder / path, as_version=4)
        notebook.cells = notebook.cells[:KEPT_CELLS] + [nbformat.v4.new_code_cell(s) for s in sources]
        nbformat.write(notebook, folder / path)


def test_the_guide_marks_every_step_from_grader_new_to_grade():
    steps = guide_steps()
    verbs = [words[1] for step in steps if step.kind == "run" for words in _commands(step)]
    assert verbs == ["new", "expected", "check", "release", "grade"]
    assert all(words[0] == "grader" for step in steps if step.kind == "run" for words in _commands(step))
    assert [s.kind for s in steps].count("file") == 1 and [s.kind for s in steps].count("cell") == 3


def test_the_guides_files_load_without_a_kernel(tmp_path):
    """The manifest and the cells the guide shows are valid (the schema, the mistake cell's table)."""
    steps = guide_steps()
    new_assignment("outliers", tmp_path)
    _edit(tmp_path, [s for s in steps if s.kind != "run"])
    assignment = load_assignment(tmp_path / "outliers")
    assert [f.name for f in assignment.functions] == ["zscores", "flag_outliers"]
    assert [c.visibility.value for c in assignment.cases()] == ["visible", "hidden", "visible", "hidden"]
    assert [m.id for m in assignment.authored_mistakes] == ["one-sided"]
    manifest = tomllib.loads(next(s.text for s in steps if s.kind == "file"))
    assert sum(f["points"] for f in manifest["function"]) == manifest["assignment"]["total_points"]


@pytest.mark.kernel
def test_the_guide_runs_as_written(tmp_path, sandbox):
    """new, edit, expected, check (every public case passes), release, grade: full marks and 0."""
    pending: list[Step] = []
    said: dict[str, str] = {}
    for step in guide_steps():
        if step.kind != "run":
            pending.append(step)
            continue
        _edit(tmp_path, pending)
        pending = []
        for words in _commands(step):
            done = subprocess.run(
                [sys.executable, "-m", "grader", *words[1:]],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=600,
                env=environment(),
            )
            assert done.returncode == 0, f"{shlex.join(words)}\n{done.stdout}\n{done.stderr}"
            said[words[1]] = done.stdout + done.stderr
    assert "All 2 public cases passed" in said["check"] and "All 2 public cases passed" in GUIDE.read_text()
    assert "warning" not in said["expected"]
    released = tmp_path / "release" / "outliers.ipynb"
    assert "MISTAKE" not in released.read_text() and "np.abs(z)" not in released.read_text()
    scores = {
        name: json.loads((tmp_path / "graded" / name / "results.json").read_text())["score"]
        for name in ("outliers_solution", "outliers")
    }
    assert scores == {"outliers_solution": 20, "outliers": 0}
    _the_wrong_copys_check_says_what_the_guide_shows(tmp_path)


def _the_wrong_copys_check_says_what_the_guide_shows(folder: Path) -> None:
    """The guide's `grader check wrong.ipynb` block: the solution with `mask = z > threshold`."""
    shown = re.search(r"^\$ (grader check wrong\.ipynb.*?)\n(.*?)^```$", GUIDE.read_text(), re.M | re.S)
    assert shown is not None
    notebook = nbformat.read(folder / "outliers" / "outliers_solution.ipynb", as_version=4)
    notebook.cells = [c for c in notebook.cells if not c.source.startswith("# MISTAKE:")]
    for cell in notebook.cells:
        cell.source = cell.source.replace("mask = np.abs(z) > threshold", "mask = z > threshold")
    nbformat.write(notebook, folder / "wrong.ipynb")
    words = shlex.split(shown.group(1))
    done = subprocess.run(
        [sys.executable, "-m", "grader", *words[1:]],
        cwd=folder,
        capture_output=True,
        text=True,
        env=environment(),
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    timed = re.compile(r" in \d+\.\d s\. ")
    assert [line for line in shown.group(2).splitlines() if not timed.search(line)] == [
        line for line in done.stdout.splitlines() if not timed.search(line)
    ]
