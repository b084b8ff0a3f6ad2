"""The step-by-step assignment's mistake corpus: one notebook per catalogued mistake.

Each entry edits the graded cell of the solution notebook the way a student who makes the
mistake would write it. Every edit names the text it replaces and fails loudly when that text is
not in the cell, so a change to the solution notebook cannot silently empty the corpus.
The families' members (MEMBERS: each names its family and the value the feedback must show), the decoy
(correct code written differently) and an entry whose evidence the numbers do not confirm are written
by `write_families`.
Run `python -m tests.step_by_step_corpus OUT` to write the notebooks for a look.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.assignment.notebook import graded_name

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "assignments" / "dnn_step_by_step"
SOLUTION = FOLDER / "dnn_step_by_step_solution.ipynb"
FUNCTIONS = (
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_forward",
    "linear_activation_forward",
    "L_model_forward",
    "compute_cost",
    "linear_backward",
    "linear_activation_backward",
    "L_model_backward",
    "update_parameters",
)


@dataclass(frozen=True)
class Entry:
    mistake: str  # the catalogue id the feedback must name
    function: str  # the only function that must lose points
    edits: tuple[tuple[str, str], ...]  # (old text, new text) in that function's cell, every occurrence


def _entry(mistake: str, function: str, *edits: tuple[str, str]) -> Entry:
    return Entry(mistake, function, edits)


UPDATE_W = 'parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate'
UPDATE_B = 'parameters["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate'
ENTRIES = [
    _entry(
        "bias-as-vector",
        "initialize_parameters",
        ("np.zeros((n_h, 1))", "np.zeros(n_h)"),
        ("np.zeros((n_y, 1))", "np.zeros(n_y)"),
    ),
    _entry("init-unscaled", "initialize_parameters", (" * 0.01", "")),
    _entry("deep-range-from-zero", "initialize_parameters_deep", ("for l in range(1, L):", "for l in range(L):")),
    _entry("deep-scale-0.01", "initialize_parameters_deep", (" / np.sqrt(layer_dims[l - 1])", " * 0.01")),
    _entry("forward-without-bias", "linear_forward", ("Z = np.dot(W, A) + b", "Z = np.dot(W, A)")),
    _entry(
        "cache-parts-swapped",
        "linear_activation_forward",
        ("cache = (linear_cache, activation_cache)", "cache = (activation_cache, linear_cache)"),
    ),
    _entry(
        "A-prev-in-last-layer",
        "L_model_forward",
        ("AL, cache = linear_activation_forward(A, ", "AL, cache = linear_activation_forward(A_prev, "),
    ),
    _entry("cost-not-squeezed", "compute_cost", ("    cost = np.squeeze(cost)\n", "")),
    _entry("cost-not-averaged", "compute_cost", ("cost = (1.0 / m) * (", "cost = (")),
    _entry("dW-not-averaged", "linear_backward", ("dW = 1.0 / m * np.dot", "dW = np.dot")),
    _entry(
        "db-wrong-axis", "linear_backward", ("np.sum(dZ, axis=1, keepdims=True)", "np.sum(dZ, axis=0, keepdims=True)")
    ),
    _entry("db-without-keepdims", "linear_backward", ("np.sum(dZ, axis=1, keepdims=True)", "np.sum(dZ, axis=1)")),
    _entry(
        "backward-activations-swapped",
        "linear_activation_backward",
        ("relu_backward(dA", "SWAP(dA"),
        ("sigmoid_backward(dA", "relu_backward(dA"),
        ("SWAP(dA", "sigmoid_backward(dA"),
    ),
    _entry(
        "dAL-wrong-sign",
        "L_model_backward",
        ("dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))", "dAL = np.divide(Y, AL) - np.divide(1 - Y, 1 - AL)"),
    ),
    _entry("wrong-cache-layer", "L_model_backward", ("current_cache = caches[l]\n", "current_cache = caches[l + 1]\n")),
    _entry(
        "update-in-place",
        "update_parameters",
        ("    parameters = {key: np.copy(value) for key, value in parameters.items()}\n", ""),
        (UPDATE_W, 'parameters["W" + str(l + 1)] -= learning_rate'),
        (UPDATE_B, 'parameters["b" + str(l + 1)] -= learning_rate'),
    ),
    _entry("update-ascent", "update_parameters", ("- learning_rate * grads", "+ learning_rate * grads")),
]


def build(entry: Entry, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the solution with the entry's edits in its function's graded cell."""
    notebook = copy.deepcopy(solution)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and graded_name(c.source) == entry.function)
    for old, new in entry.edits:
        assert old in cell.source, f"{entry.mistake}: {old!r} is not in the {entry.function} cell"
        cell.source = cell.source.replace(old, new)
    return notebook


def write_corpus(folder: Path) -> dict[str, Path]:
    """Write every entry as `<mistake>.ipynb` in `folder`; returns {mistake: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    solution = nbformat.read(SOLUTION, as_version=4)
    paths = {}
    for entry in ENTRIES:
        paths[entry.mistake] = folder / f"{entry.mistake}.ipynb"
        nbformat.write(build(entry, solution), paths[entry.mistake])
    return paths


# --- families: members with values no stored variant holds, a decoy, and unconfirmed evidence --------

COST = "cost = (1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))"
SQUEEZE = "    cost = np.squeeze(cost)\n"
LOSS = "Y * np.log(AL) + (1 - Y) * np.log(1 - AL)"


@dataclass(frozen=True)
class Member:
    name: str  # the notebook's name
    family: str  # the family the feedback must name ("" for a decoy that must name none)
    shown: str  # the family's value as the feedback shows it
    function: str  # the graded function edited
    edits: tuple[tuple[str, str], ...]  # (old, new) in that function's cell

    def notebook(self, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
        return build(Entry(self.name, self.function, self.edits), solution)


MEMBERS = [
    Member(
        "forward-W-transposed",
        "transpose",
        "Z = np.dot(W.T, A)",
        "linear_forward",
        (("Z = np.dot(W, A) + b", "Z = np.dot(W.T, A) + b"),),
    ),
    Member(
        "forward-both-transposed-matmul",
        "transpose",
        "Z = A.T @ W.T",
        "linear_forward",
        (("Z = np.dot(W, A) + b", "Z = A.T @ W.T + b"),),
    ),
    Member(
        "dW-without-transpose",
        "transpose",
        "dW = np.dot(dZ, A_prev)",
        "linear_backward",
        (("np.dot(dZ, A_prev.T)", "np.dot(dZ, A_prev)"),),
    ),
    Member(
        "dA-prev-without-transpose-matmul",
        "transpose",
        "dA_prev = W @ dZ",
        "linear_backward",
        (("dA_prev = np.dot(W.T, dZ)", "dA_prev = W @ dZ"),),
    ),
    Member(
        "cost-sum-axis-0",
        "cost-sum",
        "axis=0, keepdims=False, then np.squeeze",
        "compute_cost",
        ((COST, f"cost = -1 / m * np.sum({LOSS}, axis=0)"),),
    ),
    Member(
        "cost-sum-last-axis-unsqueezed",
        "cost-sum",
        "axis=-1, keepdims=False, without np.squeeze",
        "compute_cost",
        (
            (COST, "cost = -np.sum(np.multiply(Y, np.log(AL)) + np.multiply(1 - Y, np.log(1 - AL)), axis=-1) / m"),
            (SQUEEZE, ""),
        ),
    ),
    Member(
        "cache-of-last-layer-in-loop",
        "cache-layer",
        "caches[L - 1]",
        "L_model_backward",
        (("current_cache = caches[l]\n", "current_cache = caches[L - 1]\n"),),
    ),
    Member(
        "cache-minus-one",
        "cache-layer",
        "caches[-1]",
        "L_model_backward",
        (("current_cache = caches[l]\n", "current_cache = caches[-1]\n"),),
    ),
]
# Correct code written differently, in every function a new family reads: full marks, nothing named.
DECOY = [
    ("linear_forward", "Z = np.dot(W, A) + b", "Z = W @ A + b"),
    (
        "linear_backward",
        "dW = 1.0 / m * np.dot(dZ, A_prev.T)",
        "A_prev_T = A_prev.T\n    dW = np.dot(dZ, A_prev_T) / m",
    ),
    ("linear_backward", "dA_prev = np.dot(W.T, dZ)", "dA_prev = np.dot(dZ.T, W).T"),
    ("compute_cost", COST, f"cost = -1 / m * np.sum({LOSS}, axis=1, keepdims=True)"),
    ("L_model_backward", "for l in reversed(range(L - 1)):", "for l in range(L - 2, -1, -1):"),
]
# Static evidence of cost-sum (axis=0) alongside a second mistake (no 1/m): the numbers do not confirm it.
UNCONFIRMED = Member(
    "cost-sum-axis-0-not-averaged", "", "", "compute_cost", ((COST, f"cost = -np.sum({LOSS}, axis=0)"),)
)


def _decoy(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    notebook = solution
    for function, old, new in DECOY:
        notebook = build(Entry("decoy", function, ((old, new),)), notebook)
    return notebook


def write_families(folder: Path) -> None:
    """Every member, the unconfirmed entry and the decoy as notebooks in `folder`."""
    solution = nbformat.read(SOLUTION, as_version=4)
    for member in (*MEMBERS, UNCONFIRMED):
        nbformat.write(member.notebook(solution), folder / f"{member.name}.ipynb")
    nbformat.write(_decoy(solution), folder / "decoy.ipynb")


if __name__ == "__main__":
    for name, path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "step-by-step-corpus")).items():
        print(f"{name}: {path}")
