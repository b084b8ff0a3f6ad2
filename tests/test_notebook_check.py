"""`from grader import check; check()` inside a released notebook, executed with nbclient: the saved
file is graded in a fresh kernel and the result is displayed as HTML and as plain text.

The saved file is the whole notebook; nbclient runs only its imports, its graded cells and the check
cell (the training cells would cost minutes and change nothing the check reads)."""

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from grader.assignment.manifest import load_assignment
from grader.judge.rules import is_self_check
from grader.verbs.release import build_release
from tests.fixtures import ASSIGNMENT_DIR, ROOT

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

CHECK_CELL = "from grader import check\ncheck()"
RIGHT = "parameters = update_parameters(parameters, grads, learning_rate)"
WRONG = "parameters = update_parameters(parameters, grads, 2 * learning_rate)"


def _notebook(wrong: bool) -> nbformat.NotebookNode:
    notebook = nbformat.read(ASSIGNMENT_DIR / "dnn_app_solution.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if wrong and cell.source.startswith("# GRADED FUNCTION: two_layer_model"):
                assert RIGHT in cell.source
                cell.source = cell.source.replace(RIGHT, WRONG)
    notebook.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
    return notebook


def _run(bundle, saved: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> dict:
    """Save `saved` as the student's notebook, execute `executed`'s setup, graded and check cells."""
    nbformat.write(saved, bundle / "dnn_app.ipynb")
    wanted = ("from dnn_app_utils_v3 import", "# GRADED FUNCTION", CHECK_CELL)
    cells = [c for c in executed.cells if c.cell_type == "code" and any(w in c.source for w in wanted)]
    run = nbformat.v4.new_notebook(cells=cells, metadata=executed.metadata)
    NotebookClient(run, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(bundle)}}).execute()
    shown = [o for o in run.cells[-1].outputs if o.get("output_type") == "execute_result"]
    assert len(shown) == 1, run.cells[-1].outputs
    return shown[0]["data"]


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    bundle, _ = build_release(load_assignment(ASSIGNMENT_DIR), tmp_path_factory.mktemp("jupyter") / "bundle", None)
    released = nbformat.read(bundle / "dnn_app.ipynb", as_version=4)
    right, wrong = _notebook(False), _notebook(True)
    return {
        "released": released,
        "right": _run(bundle, right, right),
        "wrong": _run(bundle, wrong, wrong),
        "unsaved": _run(bundle, right, wrong),
    }


def test_the_released_notebook_ends_with_how_to_check(checked):
    last = checked["released"].cells[-1]
    assert last.cell_type == "markdown" and CHECK_CELL in last.source


def test_the_check_cell_is_no_extra_cell_for_the_rules():
    assert is_self_check(CHECK_CELL) and is_self_check("from grader import check; check()  # run me")
    assert not is_self_check("from grader import check\ncheck()\nx = 1")


def test_the_solution_passes_in_html_and_in_text(checked):
    data = checked["right"]
    assert "two_layer_model: passed (2 of 2 public cases)" in data["text/plain"]
    assert "All 4 public cases passed" in data["text/plain"]
    assert "<code>L_layer_model</code>: <b" in data["text/html"] and "All 4 public cases passed" in data["text/html"]
    assert "FAILED" not in data["text/html"] and "Unsaved" not in data["text/html"]
    assert "released notebook does not have" not in data["text/plain"]  # the check cell is not flagged


def test_a_wrong_function_fails_with_its_first_difference(checked):
    data = checked["wrong"]
    assert "two_layer_model: FAILED" in data["text/plain"]
    assert "L_layer_model: passed" in data["text/plain"]
    html = data["text/html"]
    assert '<code>two_layer_model</code>: <b style="color:#b00">FAILED</b>' in html
    assert "✗ public test" in html and "differ" in html.lower()


def test_cells_run_but_not_saved_are_said(checked):
    data = checked["unsaved"]
    assert "Unsaved changes?" in data["text/plain"] and "Unsaved changes?" in data["text/html"]
    assert "All 4 public cases passed" in data["text/plain"]  # the saved file, not the kernel, was graded


def _script(code: str, cwd) -> str:
    """What `code` prints run as a plain Python script (no Jupyter, no IPython)."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_in_a_plain_script_check_prints_the_text_report(tmp_path):
    solution = ASSIGNMENT_DIR / "dnn_app_solution.ipynb"
    shown = _script(f"from grader import check\ncheck({str(solution)!r}, {str(ASSIGNMENT_DIR)!r})", tmp_path)
    assert "Checking dnn_app_solution.ipynb on the public cases" in shown and "All 4 public cases passed" in shown


def test_in_a_plain_script_check_without_a_path_says_it_needs_one(tmp_path):
    shown = _script("from grader import check\ncheck()", tmp_path)
    assert "The check cannot start" in shown and "check() needs the notebook's path" in shown
    shown = _script(f"from grader import check\ncheck(assignment={str(ASSIGNMENT_DIR)!r})", tmp_path)
    assert f"{tmp_path / 'dnn_app.ipynb'} is not a saved notebook file" in shown
