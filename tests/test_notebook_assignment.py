"""An assignment written as one annotated solution notebook and its manifest (tests/notebook_assignment):
no cases, reference or mistakes module. `grader expected` runs the solution notebook in the sandbox
kernel for the expected values and for each mistake written as a wrong copy (`# MISTAKE: <id>`
cells with [[mistake]] tables), and the assignment grades end to end: the solution full marks, the
released notebook 0, each mistake named on its own function only. A reference module that drifted
from the solution notebook is refused, naming the cases and parts where they disagree."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.assignment.manifest import AssignmentError, load_assignment
from grader.cli import main
from grader.grading.pipeline import grade_one
from grader.judge.catalogue import load_catalogue
from grader.judge.expected import ExpectedValues
from grader.model.options import GradeOptions
from tests.fixtures import ROOT, proven_sandbox
from tests.toy_corpus import REFERENCE, add_reference

FOLDER = ROOT / "tests" / "notebook_assignment"
SOLUTION = FOLDER / "solution.ipynb"
POINTS = {"scaled_norm": 20.0, "row_stats": 30.0, "fit_slope": 50.0}
MISTAKES = {  # id: (function, the line of the function's cell that holds it in a submission)
    "spread-from-zero": ("row_stats", 6),
    "uphill-step": ("fit_slope", 11),
}


def _grade(path: Path):
    assignment = load_assignment(FOLDER)
    return grade_one(path, assignment, ExpectedValues(assignment), GradeOptions(sandbox=proven_sandbox()))


def _by_function(report) -> dict[str, float]:
    return dict(report.function_scores)


def _notebook_with(tmp_path: Path, mistake: str) -> Path:
    """The solution as a student holding the mistake would hand it in: the wrong copy as the graded
    cell (with its YOUR CODE markers gone, as a student's edit may lose them), no mistake cell left."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    function = MISTAKES[mistake][0]
    cells = []
    wrong = next(c.source for c in notebook.cells if c.source.startswith(f"# MISTAKE: {mistake}"))
    for cell in notebook.cells:
        if cell.source.startswith("# MISTAKE:"):
            continue
        if cell.source.startswith(f"# GRADED FUNCTION: {function}"):
            cell.source = wrong.replace(f"# MISTAKE: {mistake}", f"# GRADED FUNCTION: {function}", 1)
        cells.append(cell)
    notebook.cells = cells
    path = tmp_path / f"{mistake}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.kernel
def test_the_stored_expected_values_are_what_the_solution_notebook_gives(capsys):
    assert main(["expected", "--check", "--assignment", str(FOLDER)]) == 0
    assert "expected values are current" in capsys.readouterr().out


@pytest.mark.kernel
def test_the_solution_notebook_scores_full_marks():
    report = _grade(SOLUTION)
    assert _by_function(report) == POINTS
    assert all(case.passed for case in report.cases)


@pytest.mark.kernel
def test_the_released_notebook_scores_zero(tmp_path):
    from grader.assignment.released import released_notebook

    path = tmp_path / "notebook.ipynb"
    nbformat.write(released_notebook(load_assignment(FOLDER)), path)
    report = _grade(path)
    assert _by_function(report) == dict.fromkeys(POINTS, 0.0)


@pytest.mark.kernel
@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_wrong_copy_is_named_on_its_own_function_only(tmp_path, mistake):
    function = MISTAKES[mistake][0]
    report = _grade(_notebook_with(tmp_path, mistake))
    scores = _by_function(report)
    assert scores[function] == 0.0
    assert {name: score for name, score in scores.items() if name != function} == {
        name: points for name, points in POINTS.items() if name != function
    }
    title = next(m.title for m in load_assignment(FOLDER).authored_mistakes if m.id == mistake)
    failing = [case for case in report.cases if not case.passed]
    assert failing and all(case.function == function for case in failing)
    for case in failing:
        assert case.diagnosis is not None and case.diagnosis.mistake == mistake
        assert case.diagnosis.title == title


@pytest.mark.kernel
@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_wrong_copy_is_named_on_the_students_line(tmp_path, mistake):
    """NEEDS engineer (b)'s grader.judge.astdiff: this branch holds a placeholder that returns None, so
    this test fails until the integration merges the real module."""
    line = MISTAKES[mistake][1]
    report = _grade(_notebook_with(tmp_path, mistake))
    failing = [case for case in report.cases if not case.passed]
    assert failing
    for case in failing:
        assert case.diagnosis is not None and case.diagnosis.mistake == mistake
        assert case.diagnosis.place is not None and case.diagnosis.place.line == line  # needs astdiff


@pytest.mark.kernel
def test_a_reference_that_drifted_from_the_solution_notebook_is_refused(toy_dir, tmp_path, capsys):
    """Silent failure 4: a reference whose update of b divides by m + 1 passed, and the instructor's own
    solution then lost the points of fit_line."""
    folder = tmp_path / "toy"
    shutil.copytree(toy_dir, folder)
    right = "        b -= rate * float(np.mean(2 * (prediction - y)))\n"
    drifted = "        b -= rate * float(np.sum(2 * (prediction - y)) / (len(y) + 1))\n"
    assert right in REFERENCE
    add_reference(folder, REFERENCE.replace(right, drifted))
    stored = (folder / "expected.npz").read_bytes()
    assert main(["expected", "--assignment", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "case 'fit_line/public' (fit_line): the solution notebook and the reference disagree" in err
    assert "case 'fit_line/noisy' (fit_line)" in err
    assert "losses[1] differs" in err and "coef[1] differs" in err
    assert "mean_square" not in err  # the cases where they agree are not named
    assert "nothing written" in err
    assert (folder / "expected.npz").read_bytes() == stored


@pytest.mark.kernel
def test_a_reference_that_agrees_with_the_solution_notebook_stores_the_same_values(toy_dir, tmp_path, capsys):
    """The toy's values come from its solution notebook; given a reference module that agrees, they are
    the reference's exactly: the stored form is the same whichever runs."""
    folder = tmp_path / "toy"
    shutil.copytree(toy_dir, folder)
    add_reference(folder)
    assert main(["expected", "--check", "--assignment", str(folder)]) == 0
    assert "every stored number is identical" in capsys.readouterr().out


# --- load-time checks of the wrong copies (no kernel) -----------------------------------------------


def _copy_with(tmp_path: Path, edit_manifest=None, edit_cells=None) -> Path:
    folder = tmp_path / "notebook_assignment"
    shutil.copytree(FOLDER, folder)
    if edit_manifest:
        manifest = folder / "assignment.toml"
        manifest.write_text(edit_manifest(manifest.read_text()))
    if edit_cells:
        notebook = nbformat.read(folder / "solution.ipynb", as_version=4)
        edit_cells(notebook.cells)
        nbformat.write(notebook, folder / "solution.ipynb")
    return folder


def _refusal(folder: Path) -> str:
    with pytest.raises(AssignmentError) as raised:
        load_catalogue(load_assignment(folder))
    return str(raised.value)


def test_the_catalogue_holds_the_wrong_copies_beside_no_mistakes_module():
    catalogue = load_catalogue(load_assignment(FOLDER))
    assert catalogue is not None and catalogue.module is None
    assert {k: v["functions"] for k, v in catalogue.mistakes.items()} == {
        "spread-from-zero": ("row_stats",),
        "uphill-step": ("fit_slope",),
    }


def test_a_mistake_table_without_its_cell_is_refused(tmp_path):
    folder = _copy_with(tmp_path, edit_manifest=lambda text: text.replace('id = "uphill-step"', 'id = "uphill-stepp"'))
    message = _refusal(folder)
    assert "[[mistake]] 'uphill-stepp' has no cell in solution.ipynb" in message
    assert "'# MISTAKE: uphill-stepp'" in message


def test_a_mistake_cell_without_its_table_is_refused(tmp_path):
    def add_cell(cells):
        copied = next(c for c in cells if c.source.startswith("# MISTAKE: uphill-step"))
        cells.append(nbformat.v4.new_code_cell(copied.source.replace("uphill-step", "downhill-step", 1)))

    folder = _copy_with(tmp_path, edit_cells=add_cell)
    message = _refusal(folder)
    assert "downhill-step" in message and "no [[mistake]]" in message


def test_a_mistake_cell_must_define_exactly_its_function(tmp_path):
    def other_function(cells):
        cell = next(c for c in cells if c.source.startswith("# MISTAKE: spread-from-zero"))
        cell.source = cell.source.replace("def row_stats(X):", "def row_stat(X):") + "\nrow_stats = row_stat\n"

    message = _refusal(_copy_with(tmp_path, edit_cells=other_function))
    assert "must define exactly the function 'row_stats'" in message
    assert "['row_stat']" in message and "other statements" in message


@pytest.mark.kernel
def test_cases_that_cannot_tell_mistakes_apart_are_warned(tmp_path, capsys):
    """A mistake the blank function also makes on a public case, two mistakes alike on every case, a
    mistake that changes nothing: each a warning, and the values are written all the same."""
    extra = {
        "forgot-result": ("scaled_norm", "length = float(np.sqrt(np.sum(np.asarray(x) ** 2)))\n    return result"),
        "same-spread": ("row_stats", None),
        "harmless": ("scaled_norm", "return scale * float(np.linalg.norm(np.asarray(x)))"),
    }

    def tables(text: str) -> str:
        for mistake, (function, _) in extra.items():
            text += (
                f'\n[[mistake]]\nid = "{mistake}"\nfunction = "{function}"\ntitle = "t"\nexplanation = "e"\nfix = "f"\n'
            )
        return text

    def cells(notebook_cells):
        spread = next(c for c in notebook_cells if c.source.startswith("# MISTAKE: spread-from-zero"))
        for mistake, (function, body) in extra.items():
            if body is None:
                source = spread.source.replace("spread-from-zero", mistake, 1)
            else:
                source = f"# MISTAKE: {mistake}\n\ndef {function}(x, scale):\n    {body}\n"
            notebook_cells.append(nbformat.v4.new_code_cell(source))

    folder = _copy_with(tmp_path, edit_manifest=tables, edit_cells=cells)
    assert main(["expected", "--assignment", str(folder)]) == 0
    out = capsys.readouterr().out
    assert (
        "warning: the mistake 'forgot-result' gives what the blank scaled_norm gives on the public case "
        "'scaled_norm/public'" in out
    )
    assert "warning: the mistakes 'spread-from-zero' and 'same-spread' give the same outcome on every case" in out
    assert "warning: the mistake 'harmless' gives the solution's outcome on every case of scaled_norm" in out
    assert f"wrote {folder / 'expected.npz'}" in out


# --- the stored form of a kernel's answer (no kernel) -------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        3,
        2.5,
        (1.0, [1, 2, 3]),
        {"W1": np.arange(6).reshape(2, 3), "b1": np.zeros((2, 1)), "ok": True, "name": "relu", "none": None},
        [np.float32(1.5), np.int64(2)],
        ({"a": [np.ones(2), "x"]}, [], ()),
        {1, 2},
        np.array(["a", "b"]),
    ],
)
def test_a_kernel_answer_is_stored_as_the_harness_flattens_the_same_value(value):
    """The solution notebook's answer (records read from the kernel) is stored exactly as the harness
    flattens the value a reference module returns: the files do not depend on which one ran."""
    from grader.judge.stored_form import stored_form
    from grader.kernel.harness import __grader_flatten__
    from grader.kernel.untrusted import result_of_value
    from grader.model import Mapping

    structure, leaves, _ = __grader_flatten__({"returned": value}, 10_000)
    node = result_of_value(value).returned
    assert node is not None
    got_structure, got_leaves = stored_form(Mapping(("returned",), (node,)))
    assert got_structure == structure
    assert len(got_leaves) == len(leaves)
    for got, want in zip(got_leaves, leaves, strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
