"""The toy assignment (tests/toy_assignment/) for tests: a copy with its generated data file, and its
wrong versions, one edit of the solution each.

The data file `toy_data.h5` is generated, never committed, and never written into the checkout: the
tests grade a copy of the folder (the session fixture `toy_dir`, tests/conftest.py), and
`copy_assignment` writes the data file into that copy with the reference's own `write_data`.

Every edit names the text it replaces and fails loudly when that text is missing, so a change to the
solution notebook cannot silently turn a wrong version into a copy of the solution.
"""

from __future__ import annotations

import copy
import importlib.util
import shutil
from pathlib import Path

import nbformat

from grader.assignment.notebook import graded_name

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "tests" / "toy_assignment"
SOLUTION = FOLDER / "toy_solution.ipynb"
DATA_FILE = "toy_data.h5"
FUNCTIONS = ("mean_square", "init_weights", "fit_line", "apply_params")

# name -> (function, old text, new text, a message that must be among the function's, the case it fails)
WRONG = {
    "mean-plus-one": (
        "mean_square",
        "result = float(np.mean(np.asarray(x) ** 2))",
        "result = float(np.mean(np.asarray(x) ** 2)) + 1",
        "the returned value differs",
        "mean_square/public",
    ),
    "bias-of-ones": (
        "init_weights",
        "np.zeros((sizes[layer], 1))",
        "np.ones((sizes[layer], 1))",
        '["b1"] differs',
        "init_weights/public",
    ),
    "transposed-weights": (
        "init_weights",
        "np.full((sizes[layer], sizes[layer - 1]), scale * layer)",
        "np.full((sizes[layer - 1], sizes[layer]), scale * layer)",
        '["W1"] has shape (3, 2), expected (2, 3)',
        "init_weights/public",
    ),
    "late-loss": (
        "fit_line",
        "        losses.append(loss)\n",
        "        losses.append(loss if step < 2 else 0.0)\n",
        "losses[2] differs",
        "fit_line/public",
    ),
    "mutates-input": (
        "apply_params",
        'out = params["W"] @ x + params["b"]',
        'x *= 2\n    out = params["W"] @ (x / 2) + params["b"]',
        "the input x was modified by the function; work on a copy instead",
        "apply_params/public",
    ),
}


def copy_assignment(folder: Path) -> Path:
    """The toy assignment copied into `folder`/toy_assignment, with the data file its reference writes."""
    target = Path(
        shutil.copytree(FOLDER, folder / "toy_assignment", ignore=shutil.ignore_patterns(DATA_FILE, "__pycache__"))
    )
    spec = importlib.util.spec_from_file_location("_toy_reference_writer", target / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_data(target / DATA_FILE)
    return target


def edited(old: str, new: str, function: str) -> nbformat.NotebookNode:
    """The solution notebook with the first `old` in the graded cell of `function` replaced by `new`."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    edited = copy.deepcopy(notebook)
    cell = next(c for c in edited.cells if c.cell_type == "code" and graded_name(c.source) == function)
    assert old in cell.source, f"{old!r} is not in the {function} cell"
    cell.source = cell.source.replace(old, new, 1)
    return edited


def write_wrong(folder: Path) -> dict[str, Path]:
    """One notebook per wrong version in `folder`: {name: path}."""
    paths = {}
    for name, (function, old, new, _, _) in WRONG.items():
        paths[name] = folder / f"{name}.ipynb"
        nbformat.write(edited(old, new, function), paths[name])
    return paths
