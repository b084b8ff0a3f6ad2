"""The toy assignment (tests/toy_assignment/) for tests: a copy with its generated data file, and its
wrong versions, one edit of the solution each.

The data file `toy_data.h5` is generated, never committed, and never written into the checkout: the
tests grade a copy of the folder (the session fixture `toy_dir`, tests/conftest.py), and
`copy_assignment` writes the data file into that copy with `write_data`. To use the folder by hand
(`grader expected --assignment tests/toy_assignment`), make it there first:
`python -m tests.toy_corpus`.

Every edit names the text it replaces and fails loudly when that text is missing, so a change to the
solution notebook cannot silently turn a wrong version into a copy of the solution.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat
import numpy as np

from grader.assignment.notebook import graded_name
from grader.assignment.released import is_mistake_cell

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


def write_data(path: Path) -> None:
    """The data file `toy_data.h5` (x and y of a noisy line) the public fit_line case reads, the same
    on every run."""
    import h5py

    x = np.linspace(-1.0, 1.0, 12)
    y = 2.0 * x + 0.5 + 0.1 * np.cos(7.0 * x)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=x)
        handle.create_dataset("y", data=y)


def copy_assignment(folder: Path) -> Path:
    """The toy assignment copied into `folder`/toy_assignment, with its data file."""
    target = Path(
        shutil.copytree(FOLDER, folder / "toy_assignment", ignore=shutil.ignore_patterns(DATA_FILE, "__pycache__"))
    )
    write_data(target / DATA_FILE)
    return target


# The toy's graded functions as a separate reference module, for the tests of that authoring form
# (the toy itself has none: its solution notebook is the reference).
REFERENCE = """import numpy as np


def squared_error(prediction, target):
    return float(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2))


def mean_square(x):
    return float(np.mean(np.asarray(x) ** 2))


def init_weights(sizes, scale):
    weights = {}
    for layer in range(1, len(sizes)):
        weights[f"W{layer}"] = np.full((sizes[layer], sizes[layer - 1]), scale * layer)
        weights[f"b{layer}"] = np.zeros((sizes[layer], 1))
    return weights


def fit_line(x, y, steps, rate):
    w, b = 0.0, 0.0
    losses = []
    for step in range(steps):
        prediction = w * x + b
        loss = squared_error(prediction, y)
        losses.append(loss)
        if step % 2 == 0:
            print(f"step {step}: loss {loss:.6f}")
        w -= rate * float(np.mean(2 * (prediction - y) * x))
        b -= rate * float(np.mean(2 * (prediction - y)))
    return (w, b), losses


def apply_params(params, x):
    return params["W"] @ x + params["b"]
"""


def add_reference(folder: Path, text: str = REFERENCE) -> Path:
    """Give a copy of the toy a reference module (`reference.py`, named by its manifest)."""
    (folder / "reference.py").write_text(text)
    manifest = folder / "assignment.toml"
    manifest.write_text(manifest.read_text().replace("[assignment]\n", '[assignment]\nreference = "reference.py"\n', 1))
    return folder / "reference.py"


def edited(old: str, new: str, function: str) -> nbformat.NotebookNode:
    """The solution notebook as a student would hand it in (no instructor-only mistake cell), with the
    first `old` in the graded cell of `function` replaced by `new`."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    edited = copy.deepcopy(notebook)
    edited.cells = [cell for cell in edited.cells if not is_mistake_cell(cell)]
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


if __name__ == "__main__":  # python -m tests.toy_corpus: the data file, in the checkout's toy folder
    write_data(FOLDER / DATA_FILE)
    print(f"wrote {FOLDER / DATA_FILE}")
