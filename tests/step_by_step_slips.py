"""Uncatalogued one-function slips in the step-by-step assignment, and correct code written otherwise.

Each slip edits one graded cell of the solution notebook the way a student slips (an activation
swapped in one branch, a loop one short, a wrong cache index, a missing 1/m), and none is one of
the catalogue's mistakes or families (assignments/dnn_step_by_step/mistakes.py): they measure how
well mutants generated from the solution name slips nobody wrote down. Each records the operator
whose one-point mutant models it, or None when no single mutation does (two places changed, a
statement moved, a formula rewritten). The correct variants must never be named.

Every edit names the text it replaces and fails loudly when that text is not in the cell.
Run `python -m tests.step_by_step_slips OUT` to write the notebooks for a look.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.model.mutation import Operator
from tests.step_by_step_corpus import SOLUTION, Entry, build


@dataclass(frozen=True)
class Slip:
    name: str  #: the notebook's name
    function: str  #: the only function it breaks
    operator: Operator | None  #: the operator of the one-point mutant that models it; None when none does
    edits: tuple[tuple[str, str], ...]  #: (old text, new text) in that function's cell, every occurrence

    def cell(self, solution_cell: str) -> str:
        """The function's cell with the slip written in."""
        source = solution_cell
        for old, new in self.edits:
            assert old in source, f"{self.name}: {old!r} is not in the {self.function} cell"
            source = source.replace(old, new)
        return source

    def notebook(self, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
        return build(Entry(self.name, self.function, self.edits), solution)


def _slip(name: str, function: str, operator: Operator | None, *edits: tuple[str, str]) -> Slip:
    return Slip(name, function, operator, edits)


O = Operator
COST = "cost = (1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))"
DAL = "dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))"
UPDATE_B = (
    '        parameters["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate * grads["db" + str(l + 1)]\n'
)
HIDDEN_LAYER = (
    'A, cache = linear_activation_forward(A_prev, parameters["W" + str(l)], parameters["b" + str(l)], "relu")'
)

SLIPS = [
    # initialize_parameters
    _slip(
        "init-W1-shape-transposed",
        "initialize_parameters",
        O.ARGS_SWAP,
        ("np.random.randn(n_h, n_x)", "np.random.randn(n_x, n_h)"),
    ),
    _slip(
        "init-b2-sized-by-hidden-layer",
        "initialize_parameters",
        O.NAME_SWAP,
        ("b2 = np.zeros((n_y, 1))", "b2 = np.zeros((n_h, 1))"),
    ),
    _slip("init-scale-0.1", "initialize_parameters", O.CONSTANT_SCALE, (" * 0.01", " * 0.1")),  # both layers
    # initialize_parameters_deep
    _slip(
        "deep-W-shape-transposed",
        "initialize_parameters_deep",
        O.ARGS_SWAP,
        ("np.random.randn(layer_dims[l], layer_dims[l - 1])", "np.random.randn(layer_dims[l - 1], layer_dims[l])"),
    ),
    _slip(
        "deep-sqrt-of-own-layer",
        "initialize_parameters_deep",
        O.INDEX_SHIFT,
        ("/ np.sqrt(layer_dims[l - 1])", "/ np.sqrt(layer_dims[l])"),
    ),
    _slip(
        "deep-without-sqrt",
        "initialize_parameters_deep",
        O.DROP_CALL,
        ("/ np.sqrt(layer_dims[l - 1])", "/ layer_dims[l - 1]"),
    ),
    _slip(
        "deep-loop-one-short",
        "initialize_parameters_deep",
        O.RANGE_STOP,
        ("for l in range(1, L):", "for l in range(1, L - 1):"),
    ),
    _slip(
        "deep-seed-inside-loop",
        "initialize_parameters_deep",
        None,
        ("    np.random.seed(1)\n", ""),
        ("# YOUR CODE STARTS HERE\n", "# YOUR CODE STARTS HERE\n        np.random.seed(1)\n"),
    ),
    # linear_forward
    _slip("forward-elementwise-product", "linear_forward", O.DOT_TO_MUL, ("Z = np.dot(W, A) + b", "Z = W * A + b")),
    _slip("forward-bias-subtracted", "linear_forward", O.ARITH_SWAP, ("Z = np.dot(W, A) + b", "Z = np.dot(W, A) - b")),
    _slip("forward-cache-order", "linear_forward", O.TUPLE_SWAP, ("cache = (A, W, b)", "cache = (W, A, b)")),
    # linear_activation_forward
    _slip(
        "act-forward-relu-in-sigmoid-branch",
        "linear_activation_forward",
        O.CALL_REPLACE,
        ("A, activation_cache = sigmoid(Z)", "A, activation_cache = relu(Z)"),
    ),
    _slip(
        "act-forward-activations-swapped",
        "linear_activation_forward",
        O.CALLS_SWAP,
        ("= sigmoid(Z)", "= SWAP(Z)"),
        ("= relu(Z)", "= sigmoid(Z)"),
        ("= SWAP(Z)", "= relu(Z)"),
    ),
    _slip(
        "act-forward-linear-arguments-order",
        "linear_activation_forward",
        O.ARGS_SWAP,
        ("linear_forward(A_prev, W, b)", "linear_forward(W, A_prev, b)"),
    ),
    # L_model_forward
    _slip("L-forward-output-layer-relu", "L_model_forward", O.STRING_SWAP, ('str(L)], "sigmoid")', 'str(L)], "relu")')),
    _slip(
        "L-forward-loop-from-zero", "L_model_forward", O.RANGE_START, ("for l in range(1, L):", "for l in range(L):")
    ),
    _slip(
        "L-forward-loop-one-short",
        "L_model_forward",
        O.RANGE_STOP,
        ("for l in range(1, L):", "for l in range(1, L - 1):"),
    ),
    _slip(
        "L-forward-hidden-caches-not-kept", "L_model_forward", O.DROP_STATEMENT, ("        caches.append(cache)\n", "")
    ),
    # compute_cost
    _slip(
        "cost-wrong-sign",
        "compute_cost",
        O.SIGN_FLIP,
        (COST, "cost = (1.0 / m) * (np.dot(Y, np.log(AL).T) + np.dot(1 - Y, np.log(1 - AL).T))"),
    ),
    _slip("cost-terms-added", "compute_cost", O.ARITH_SWAP, (".T) - np.dot(1 - Y", ".T) + np.dot(1 - Y")),
    _slip(
        "cost-logs-swapped",
        "compute_cost",
        O.ARGS_EXCHANGE,
        (COST, "cost = (1.0 / m) * (-np.dot(Y, np.log(1 - AL).T) - np.dot(1 - Y, np.log(AL).T))"),
    ),
    # linear_backward
    _slip("back-db-not-averaged", "linear_backward", O.DROP_FACTOR, ("db = 1.0 / m * np.sum", "db = np.sum")),
    _slip("back-m-from-rows", "linear_backward", O.INDEX_SWAP, ("m = A_prev.shape[1]", "m = A_prev.shape[0]")),
    _slip(
        "back-cache-unpacked-out-of-order",
        "linear_backward",
        O.TUPLE_SWAP,
        ("A_prev, W, b = cache", "A_prev, b, W = cache"),
    ),
    _slip(
        "back-dA-prev-averaged",
        "linear_backward",
        None,
        ("dA_prev = np.dot(W.T, dZ)", "dA_prev = 1.0 / m * np.dot(W.T, dZ)"),
    ),
    # linear_activation_backward
    _slip(
        "act-back-linear-step-gets-Z",
        "linear_activation_backward",
        O.NAME_SWAP,
        ("linear_backward(dZ, linear_cache)", "linear_backward(dZ, activation_cache)"),
    ),
    _slip(
        "act-back-relu-in-sigmoid-branch",
        "linear_activation_backward",
        O.CALL_REPLACE,
        ("dZ = sigmoid_backward(dA, activation_cache)", "dZ = relu_backward(dA, activation_cache)"),
    ),
    _slip(
        "act-back-cache-unpacked-swapped",
        "linear_activation_backward",
        O.TUPLE_SWAP,
        ("linear_cache, activation_cache = cache", "activation_cache, linear_cache = cache"),
    ),
    # L_model_backward
    _slip("L-back-dAL-simplified", "L_model_backward", None, (DAL, "dAL = AL - Y")),
    _slip(
        "L-back-loop-not-reversed",
        "L_model_backward",
        O.DROP_CALL,
        ("for l in reversed(range(L - 1)):", "for l in range(L - 1):"),
    ),
    _slip(
        "L-back-loop-one-short",
        "L_model_backward",
        O.RANGE_STOP,
        ("for l in reversed(range(L - 1)):", "for l in reversed(range(L - 2)):"),
    ),
    _slip(
        "L-back-output-layer-relu",
        "L_model_backward",
        O.STRING_SWAP,
        ('current_cache, "sigmoid")', 'current_cache, "relu")'),
    ),
    _slip(
        "L-back-dA-stored-one-layer-up",
        "L_model_backward",
        O.INDEX_SHIFT,
        ('grads["dA" + str(l)] = dA_prev', 'grads["dA" + str(l + 1)] = dA_prev'),
    ),
    # update_parameters
    _slip("update-only-W", "update_parameters", O.DROP_STATEMENT, (UPDATE_B, "")),
    _slip(
        "update-b-with-dW",
        "update_parameters",
        O.STRING_SWAP,
        ('learning_rate * grads["db"', 'learning_rate * grads["dW"'),
    ),
    _slip("update-loop-one-short", "update_parameters", O.RANGE_STOP, ("for l in range(L):", "for l in range(L - 1):")),
    _slip("update-keys-from-zero", "update_parameters", O.INDEX_SHIFT, ("str(l + 1)", "str(l)")),  # every key
]

# Correct code written otherwise: its outcomes are the solution's, so no mutant may be named.
CORRECT = [
    _slip(
        "ok-init-zeros-shape-keyword",
        "initialize_parameters",
        None,
        ("b1 = np.zeros((n_h, 1))", "b1 = np.zeros(shape=(n_h, 1))"),
    ),
    _slip(
        "ok-deep-len-in-range",
        "initialize_parameters_deep",
        None,
        ("for l in range(1, L):", "for l in range(1, len(layer_dims)):"),
    ),
    _slip("ok-forward-matmul-operator", "linear_forward", None, ("Z = np.dot(W, A) + b", "Z = W @ A + b")),
    _slip("ok-forward-dot-method", "linear_forward", None, ("Z = np.dot(W, A) + b", "Z = W.dot(A) + b")),
    _slip(
        "ok-act-forward-Z-as-cache",
        "linear_activation_forward",
        None,
        ("cache = (linear_cache, activation_cache)", "cache = (linear_cache, Z)"),
    ),
    _slip(
        "ok-L-forward-f-string-keys",
        "L_model_forward",
        None,
        (
            HIDDEN_LAYER,
            'W, b = parameters[f"W{l}"], parameters[f"b{l}"]\n'
            '        A, cache = linear_activation_forward(A_prev, W, b, activation="relu")',
        ),
    ),
    _slip(
        "ok-cost-multiply-and-sum",
        "compute_cost",
        None,
        (COST, "cost = -np.sum(np.multiply(Y, np.log(AL)) + np.multiply(1 - Y, np.log(1 - AL))) / m"),
    ),
    _slip(
        "ok-back-transpose-in-a-variable",
        "linear_backward",
        None,
        ("dW = 1.0 / m * np.dot(dZ, A_prev.T)", "A_prev_T = A_prev.T\n    dW = np.dot(dZ, A_prev_T) / m"),
    ),
    _slip(
        "ok-back-sum-method",
        "linear_backward",
        None,
        ("db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)", "db = dZ.sum(axis=1, keepdims=True) / m"),
    ),
    _slip(
        "ok-back-mean",
        "linear_backward",
        None,
        ("db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)", "db = np.mean(dZ, axis=1, keepdims=True)"),
    ),
    _slip(
        "ok-act-back-conditional-expression",
        "linear_activation_backward",
        None,
        (
            '    if activation == "relu":\n        dZ = relu_backward(dA, activation_cache)\n'
            '    elif activation == "sigmoid":\n        dZ = sigmoid_backward(dA, activation_cache)\n',
            '    backward = relu_backward if activation == "relu" else sigmoid_backward\n'
            "    dZ = backward(dA, activation_cache)\n",
        ),
    ),
    _slip("ok-L-back-dAL-by-division", "L_model_backward", None, (DAL, "dAL = -(Y / AL - (1 - Y) / (1 - AL))")),
    _slip(
        "ok-update-in-place-on-copies",
        "update_parameters",
        None,
        ("np.copy(value)", "value.copy()"),
        (
            'parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate',
            'parameters["W" + str(l + 1)] -= learning_rate',
        ),
        (
            'parameters["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate',
            'parameters["b" + str(l + 1)] -= learning_rate',
        ),
    ),
]


def write_corpus(folder: Path) -> dict[str, Path]:
    """Write every slip and correct variant as `<name>.ipynb` in `folder`; returns {name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    solution = nbformat.read(SOLUTION, as_version=4)
    paths = {}
    for slip in SLIPS + CORRECT:
        paths[slip.name] = folder / f"{slip.name}.ipynb"
        nbformat.write(slip.notebook(solution), paths[slip.name])
    return paths


if __name__ == "__main__":
    for name, path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "step-by-step-slips")).items():
        print(f"{name}: {path}")
