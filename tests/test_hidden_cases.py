"""The hidden stays hidden: no kernel that has seen a hidden case's inputs speaks in a public case.

A graded function can keep whatever inputs it is given (in a global, a file), and a public case's
messages show the kernel's text (printed lines, exception messages). So every public case runs
before any hidden one, the report keeps the manifest's order, and what a kernel says after a hidden
call is worded as on a hidden case, unless the sandbox restarted it fresh.

The notebook test runs in the sandbox, on the toy assignment (two kernel starts); the order and the
wording after a restart are checked on a scripted session, without a kernel.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

import grader.grading.runner
from grader.assignment.manifest import load_assignment
from grader.assignment.notebook import graded_name
from grader.grading import GradeOptions, grade_one
from grader.judge.expected import ExpectedValues
from grader.kernel.sandbox import Sandbox
from grader.model import CellStatus
from grader.model.cell import CellOutcome
from tests.fixtures import messages, problem_texts

# mean_square keeps every input it is given; init_weights's cases raise with them; fit_line's
# hidden case (x of 8 values) writes them into /tmp and the kernel's folder and ends the kernel, so
# the next case needs a new one, where apply_params's cell raises with them if they are still there.
STASH = """    import builtins
    builtins.__dict__.setdefault("_seen", []).append(np.asarray(x).ravel().tolist())
"""
TELL = """    import builtins
    raise ValueError(repr(getattr(builtins, "_seen", None)))
"""
LEAVE = """    import builtins, os
    if np.size(x) == 8:
        for path in ("/tmp/stash.txt", "stash.txt"):
            with open(path, "w") as handle:
                handle.write(repr(getattr(builtins, "_seen", None)))
        os._exit(1)
"""
FIND = """import os
for _path in ("/tmp/stash.txt", "stash.txt"):
    if os.path.exists(_path):
        raise ValueError(open(_path).read())
"""


def _stashing_notebook(toy_dir: Path, path: Path) -> Path:
    notebook = nbformat.read(toy_dir / "toy_solution.ipynb", as_version=4)
    body = {"mean_square": STASH, "init_weights": TELL, "fit_line": LEAVE}
    for cell in notebook.cells:
        name = graded_name(cell.source) if cell.cell_type == "code" else None
        if name in body:
            lines = cell.source.split("\n")
            start = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}(")) + 1
            cell.source = "\n".join(lines[: start + 1] + body[name].rstrip("\n").split("\n") + lines[start + 1 :])
        elif name == "apply_params":
            cell.source = cell.source.replace("\n\ndef apply_params", "\n" + FIND + "\n\ndef apply_params", 1)
    nbformat.write(notebook, path)
    return path


@pytest.mark.kernel  # the sandbox is proven before this notebook, which keeps hidden inputs, runs
def test_a_public_case_never_shows_what_a_hidden_case_gave_the_kernel(toy_dir, tmp_path, sandbox):
    toy = load_assignment(toy_dir)
    report = grade_one(
        _stashing_notebook(toy_dir, tmp_path / "stash.ipynb"), toy, ExpectedValues(toy), GradeOptions(sandbox=sandbox)
    )
    by_id = {verdict.case_id: verdict for verdict in report.cases}
    assert [verdict.case_id for verdict in report.cases] == [case.id for case in toy.cases()]
    public_input = np.random.RandomState(1).randn(10).tolist()  # mean_square/public's recipe
    assert messages(by_id["init_weights/public"]) == [f"raised ValueError: {[public_input]!r}"]
    hidden_input = np.random.RandomState(2).uniform(0, 1, (3, 4)).ravel()  # mean_square/matrix's
    public_text = json.dumps([messages(v) for v in report.cases if v.visibility == "visible"])
    assert [value for value in hidden_input if repr(float(value))[:8] in public_text] == []
    # The hidden case ended its kernel; the next one ran in a new kernel, which found nothing left.
    assert by_id["fit_line/noisy"].status == "crashed" and by_id["apply_params/hidden"].status == "passed"
    assert problem_texts(report) == []


class _ScriptedSession:
    """Stands for KernelSession: every cell runs well, but the graded call of the case named in
    `died_on` ends the kernel, and after that start the graded cells raise with a kernel text."""

    calls: list[dict] = []  # the recipe of every graded call, in the order made
    died_on: dict = {}  # the recipe whose call ends the kernel

    def __init__(self, workdir, limits, sandbox):
        self.starts, self.workdir = 0, Path(workdir)
        self.kernel_workdir = self.workdir

    def start(self) -> None:
        self.starts += 1

    def run(self, code: str, timeout: float) -> CellOutcome:
        if code.startswith("__grader_run__("):
            request = json.loads(json.loads(code[len("__grader_run__(") : -1]))
            self.calls.append(request["recipe"])
            if request["recipe"] == self.died_on:
                return CellOutcome(CellStatus.DIED, 0.1)
            return CellOutcome(CellStatus.ERROR, 0.1, error_name="RuntimeError", error_value="no kernel here")
        if self.starts > 1 and code.startswith("# GRADED FUNCTION:"):
            return CellOutcome(CellStatus.ERROR, 0.1, error_name="ValueError", error_value="seed=5 x=[3, 6]")
        return CellOutcome(CellStatus.OK, 0.1)

    def results_folder_free(self) -> tuple[str, int]:
        return str(self.workdir), 1000  # room to spare: a failed call is the kernel's

    def result_file(self) -> Path:
        return self.workdir / "result.npz"

    def stop(self) -> None:
        pass

    close = stop


@pytest.fixture
def scripted(toy_dir, monkeypatch):
    toy = load_assignment(toy_dir)
    hidden = [case for case in toy.cases() if case.visibility != "visible"]
    _ScriptedSession.calls, _ScriptedSession.died_on = [], hidden[0].recipe
    monkeypatch.setattr(grader.grading.runner, "KernelSession", _ScriptedSession)
    return toy


def test_every_public_case_runs_before_any_hidden_one(scripted, tmp_path):
    toy = scripted
    path = tmp_path / "solution.ipynb"
    path.write_bytes((toy.folder / "toy_solution.ipynb").read_bytes())
    report = grade_one(path, toy, ExpectedValues(toy), GradeOptions())
    cases = toy.cases()
    visible = [case.visibility == "visible" for case in cases]
    assert visible != sorted(visible, reverse=True)  # the manifest interleaves them: the order is the grader's
    ran = [next(c.visibility == "visible" for c in cases if c.recipe == recipe) for recipe in _ScriptedSession.calls]
    assert ran == sorted(visible, reverse=True)
    assert [verdict.case_id for verdict in report.cases] == [case.id for case in cases]


@pytest.mark.parametrize(
    "sandbox, shown", [(None, False), (Sandbox("bwrap", "user", ()), True)], ids=["not isolated", "sandboxed"]
)
def test_after_a_hidden_call_a_kernel_that_may_remember_it_is_not_quoted(scripted, tmp_path, sandbox, shown):
    """Without the sandbox, a restarted kernel shares the last one's folder and home, so its load
    errors may carry what a hidden case gave the last one; a sandboxed restart is fresh."""
    toy = scripted
    path = tmp_path / "solution.ipynb"
    path.write_bytes((toy.folder / "toy_solution.ipynb").read_bytes())
    report = grade_one(path, toy, ExpectedValues(toy), GradeOptions(sandbox=sandbox))
    said = [problem for problem in problem_texts(report) if problem.startswith("mean_square: ")]
    if shown:
        assert said == ["mean_square: its cell raised ValueError: seed=5 x=[3, 6] when run"]
    else:
        assert said == [
            "mean_square: its cell raised ValueError (its message is not shown, since it came after "
            "a hidden case ran) when run"
        ]
