"""The mistake corpus: the solution notebook with one catalogued mistake edited in, per mistake.

Each entry edits the graded cell of one function the way a student would, so the grader must take
points from that function only and name the mistake. A few entries are correct solutions written
differently; they must keep full marks and get no diagnosis. The families' members (values no stored
variant holds, stated in the cell or only fitted from the returned values) and the entries that must
name no family make up FAMILY_BATCH.

Run `python -m tests.mistakes_corpus OUT_DIR` to write the notebooks for a look (or a demo).
Every edit names the text it replaces and fails loudly when that text is missing, so a change to
the solution notebook cannot silently turn an entry into a copy of the solution.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "assignments" / "dnn_app" / "dnn_app_solution.ipynb"
TWO, DEEP = "two_layer_model", "L_layer_model"

UPDATE = "parameters = update_parameters(parameters, grads, learning_rate)"
RECORD = "        if i % 100 == 0 or i == num_iterations:\n            costs.append(cost)\n"
TWO_FORWARD = (
    "A1, cache1 = linear_activation_forward(X, W1, b1, 'relu')\n"
    "        A2, cache2 = linear_activation_forward(A1, W2, b2, 'sigmoid')"
)
TWO_BACKWARD = (
    "dA1, dW2, db2 = linear_activation_backward(dA2, cache2, 'sigmoid')\n"
    "        dA0, dW1, db1 = linear_activation_backward(dA1, cache1, 'relu')"
)
DA2 = "dA2 = - (np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))"


def _swap_activations(text: str) -> str:
    return text.replace("'relu'", "'@'").replace("'sigmoid'", "'relu'").replace("'@'", "'sigmoid'")


REUNPACK = (
    "        # Unpack the updated arrays for the next iteration\n"
    '        W1 = parameters["W1"]\n        b1 = parameters["b1"]\n'
    '        W2 = parameters["W2"]\n        b2 = parameters["b2"]\n'
)


@dataclass(frozen=True)
class Entry:
    name: str
    mistake: str | None  # the catalogue id it must be diagnosed as; None for a correct variant
    function: str | None  # the function it breaks; None for a correct variant
    edits: tuple[tuple[str, str, str], ...]  # (function whose cell is edited, old text, new text)


def _mistake(mistake: str, function: str, *edits: tuple[str, str]) -> Entry:
    return Entry(mistake, mistake, function, tuple((function, old, new) for old, new in edits))


MISTAKE_ENTRIES = [
    _mistake("update-discarded", DEEP, (UPDATE, "update_parameters(parameters, grads, learning_rate)")),
    _mistake(
        "activations-swapped",
        TWO,
        (TWO_FORWARD, _swap_activations(TWO_FORWARD)),
        (TWO_BACKWARD, _swap_activations(TWO_BACKWARD)),
    ),
    _mistake("learning-rate-hard-coded", TWO, (UPDATE, "parameters = update_parameters(parameters, grads, 0.0075)")),
    _mistake(
        "global-layers-dims", DEEP, ("def L_layer_model(X, Y, layers_dims,", "def L_layer_model(X, Y, layer_dims,")
    ),
    _mistake(
        "one-iteration-short", TWO, ("for i in range(0, num_iterations):", "for i in range(0, num_iterations - 1):")
    ),
    _mistake("cost-every-iteration", DEEP, (RECORD, "        costs.append(cost)\n")),
    _mistake("cost-never-recorded", TWO, (RECORD, "")),
    _mistake(
        "cost-before-forward",
        DEEP,
        ("        cost = compute_cost(AL, Y)\n", ""),
        (
            "        AL, caches = L_model_forward(X, parameters)\n",
            "        cost = compute_cost(AL, Y)\n        AL, caches = L_model_forward(X, parameters)\n",
        ),
    ),
    _mistake(
        "deep-initialiser-in-two-layer",
        TWO,
        ("initialize_parameters(n_x, n_h, n_y)", "initialize_parameters_deep(layers_dims)"),
    ),
    _mistake(
        "two-layer-initialiser-in-deep",
        DEEP,
        (
            "initialize_parameters_deep(layers_dims)",
            "initialize_parameters(layers_dims[0], layers_dims[1], layers_dims[-1])",
        ),
    ),
    _mistake("gradient-ascent", DEEP, (UPDATE, "parameters = update_parameters(parameters, grads, -learning_rate)")),
    _mistake(
        "wrong-cache",
        TWO,
        ("linear_activation_backward(dA1, cache1, 'relu')", "linear_activation_backward(dA1, cache2, 'relu')"),
    ),
    _mistake("dA-sign-flipped", TWO, (DA2, "dA2 = np.divide(Y, A2) - np.divide(1 - Y, 1 - A2)")),
    _mistake("dA-is-dZ", TWO, (DA2, "dA2 = A2 - Y")),
    _mistake(
        "seed-missing",
        DEEP,
        ("    np.random.seed(1)\n    costs = []", "    costs = []"),
        (
            "    parameters = initialize_parameters_deep(layers_dims)\n",
            "    parameters = {}\n"
            "    for l in range(1, len(layers_dims)):\n"
            "        parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) "
            "/ np.sqrt(layers_dims[l - 1])\n"
            "        parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))\n"
            "    np.random.seed(1)\n",
        ),
    ),
    _mistake("only-parameters-returned", TWO, ("    return parameters, costs", "    return parameters")),
    _mistake(
        "reinitialised-in-loop",
        DEEP,
        (
            "        AL, caches = L_model_forward(X, parameters)\n",
            "        parameters = initialize_parameters_deep(layers_dims)\n"
            "        AL, caches = L_model_forward(X, parameters)\n",
        ),
    ),
    _mistake("stale-weights", TWO, (REUNPACK, "")),
]

CORRECT_ENTRIES = [
    Entry(
        "correct-while-loop",
        None,
        None,
        (
            (DEEP, "    for i in range(0, num_iterations):\n", "    i = 0\n    while i < num_iterations:\n"),
            (DEEP, "            costs.append(cost)\n", "            costs.append(cost)\n        i += 1\n"),
        ),
    ),
    Entry(
        "correct-two-layer-with-deep-helpers",
        None,
        None,
        (
            (TWO, TWO_FORWARD, "A2, caches = L_model_forward(X, parameters)"),
            (
                TWO,
                TWO_BACKWARD,
                "grads = L_model_backward(A2, Y, caches)\n"
                "        dW1, db1, dW2, db2 = grads['dW1'], grads['db1'], grads['dW2'], grads['db2']",
            ),
        ),
    ),
    Entry(
        "correct-costs-as-floats",
        None,
        None,
        (
            (TWO, "costs.append(cost)", "costs.append(float(cost))"),
            (DEEP, "costs.append(cost)", "costs.append(float(np.squeeze(cost)))"),
        ),
    ),
    Entry(
        "correct-parameters-copied",
        None,
        None,
        (
            (
                TWO,
                UPDATE,
                "parameters = {k: v.copy() for k, v in\n"
                "                      update_parameters(parameters, grads, learning_rate).items()}",
            ),
            (DEEP, "    return parameters, costs", "    return dict(parameters), list(costs)"),
        ),
    ),
    Entry(
        "correct-own-update-loop",
        None,
        None,
        (
            (
                DEEP,
                UPDATE,
                "for l in range(1, len(layers_dims)):\n"
                "            W, b = 'W' + str(l), 'b' + str(l)\n"
                "            parameters[W] = parameters[W] - learning_rate * grads['d' + W]\n"
                "            parameters[b] = parameters[b] - learning_rate * grads['d' + b]",
            ),
        ),
    ),
]

ENTRIES = MISTAKE_ENTRIES + CORRECT_ENTRIES


def _sigmoid_everywhere(text: str) -> str:
    return text.replace("'relu'", "'sigmoid'")


# Members of the catalogue's FAMILIES with values no stored variant holds: each must be named by its
# family (a loop short by 1 is also the stored one-iteration-short, which may name it instead).
FAMILY_ENTRIES = [
    _mistake("learning-rate-constant", TWO, (UPDATE, "parameters = update_parameters(parameters, grads, 0.01)")),
    _mistake("learning-rate-constant", DEEP, (UPDATE, "parameters = update_parameters(parameters, grads, 0.05)")),
    _mistake("cost-every-n", TWO, (RECORD, RECORD.replace("i % 100", "i % 50"))),
    _mistake("cost-every-n", DEEP, (RECORD, RECORD.replace("i % 100", "i % 10"))),
    _mistake("loop-short", DEEP, ("for i in range(0, num_iterations):", "for i in range(num_iterations - 1):")),
    _mistake("loop-short", TWO, ("for i in range(0, num_iterations):", "for i in range(0, num_iterations - 2):")),
    _mistake("activation-pair", TWO, (TWO_FORWARD, _sigmoid_everywhere(TWO_FORWARD))),
    _mistake(
        "activation-pair",
        TWO,
        (TWO_FORWARD, _sigmoid_everywhere(TWO_FORWARD)),
        (TWO_BACKWARD, _sigmoid_everywhere(TWO_BACKWARD)),
    ),
    _mistake("activation-pair", TWO, (TWO_BACKWARD, _swap_activations(TWO_BACKWARD))),
]
FAMILY_ENTRIES = [replace(e, name=f"family-{e.name}-{i}") for i, e in enumerate(FAMILY_ENTRIES, 1)]
FAMILY_ALIASES = {"loop-short": {"one-iteration-short"}}

# Static evidence of a family that the numbers do not confirm (a second, uncatalogued mistake
# alongside): no family may be named; the localisation stays.
UNCONFIRMED_ENTRIES = [
    Entry(
        "rate-literal-plus-dZ",
        None,
        TWO,
        ((TWO, UPDATE, "parameters = update_parameters(parameters, grads, 0.01)"), (TWO, DA2, "dA2 = A2 - Y")),
    ),
    Entry(
        "every-50-plus-reinit",
        None,
        DEEP,
        (
            (DEEP, RECORD, RECORD.replace("i % 100", "i % 50")),
            (
                DEEP,
                "        AL, caches = L_model_forward(X, parameters)\n",
                "        parameters = initialize_parameters_deep(layers_dims)\n"
                "        AL, caches = L_model_forward(X, parameters)\n",
            ),
        ),
    ),
]

SEED = "    np.random.seed(1)\n"
LOOP = "    for i in range(0, num_iterations):\n"


def _fitted(name: str, mistake: str, function: str, shown: str, *edits: tuple[str, str]) -> tuple[Entry, str]:
    return Entry(f"fitted-{name}", mistake, function, tuple((function, old, new) for old, new in edits)), shown


# Family members without static evidence, (entry, the parameter it must be named with): no line states the
# value, so it is fitted from the returned values and confirmed by a run.
FITTED = [
    _fitted(
        "rate-0.02-in-a-variable",
        "learning-rate-constant",
        TWO,
        "0.02",
        (SEED, SEED + "    lr = 0.02\n"),
        (UPDATE, "parameters = update_parameters(parameters, grads, lr)"),
    ),
    _fitted(
        "rate-0.07-reassigned", "learning-rate-constant", DEEP, "0.07", (SEED, SEED + "    learning_rate = 0.07\n")
    ),
    _fitted(
        "every-40-in-a-variable",
        "cost-every-n",
        TWO,
        "40",
        (SEED, SEED + "    every = 40\n"),
        (RECORD, RECORD.replace("i % 100", "i % every")),
    ),
    _fitted(
        "every-30-in-a-variable",
        "cost-every-n",
        DEEP,
        "30",
        (SEED, SEED + "    step = 30\n"),
        (RECORD, RECORD.replace("i % 100", "i % step")),
    ),
    _fitted("loop-from-1", "loop-short", TWO, "1", (LOOP, LOOP.replace("range(0,", "range(1,"))),
    _fitted(
        "loop-to-a-variable",
        "loop-short",
        DEEP,
        "4",
        (LOOP, "    stop = num_iterations - 4\n    for i in range(stop):\n"),
    ),
    _fitted(
        "hidden-activation-in-a-variable",
        "activation-pair",
        TWO,
        "forward sigmoid/sigmoid, backward relu/sigmoid",
        (SEED, SEED + "    hidden = 'sigmoid'\n"),
        (TWO_FORWARD, TWO_FORWARD.replace("'relu'", "hidden")),
    ),
    _fitted(
        "backward-activations-in-variables",
        "activation-pair",
        TWO,
        "forward relu/sigmoid, backward sigmoid/relu",
        (SEED, SEED + "    first, second = 'relu', 'sigmoid'\n"),
        (TWO_BACKWARD, TWO_BACKWARD.replace("'sigmoid'", "first").replace("'relu'", "second")),
    ),
]
FITTED_ENTRIES = [entry for entry, _ in FITTED]
SHOWN = {entry.name: shown for entry, shown in FITTED}

# A correct cell that renames the rate: full marks, nothing named.
RENAMED = Entry(
    "correct-rate-renamed",
    None,
    None,
    tuple(
        (function, old, new)
        for function in (TWO, DEEP)
        for old, new in (
            (SEED, SEED + "    lr = learning_rate\n"),
            (UPDATE, "parameters = update_parameters(parameters, grads, lr)"),
        )
    ),
)
# A fittable shape plus an uncatalogued mistake: the fit finds a value, the run does not confirm it.
DECOYS = [
    Entry(
        "decoy-rate-variable-plus-dZ",
        None,
        TWO,
        (
            (TWO, SEED, SEED + "    lr = 0.02\n"),
            (TWO, UPDATE, "parameters = update_parameters(parameters, grads, lr)"),
            (TWO, DA2, "dA2 = A2 - Y"),
        ),
    ),
    Entry(
        "decoy-short-loop-plus-doubled-costs",
        None,
        DEEP,
        (
            (DEEP, LOOP, "    stop = num_iterations - 4\n    for i in range(stop):\n"),
            (DEEP, "costs.append(cost)", "costs.append(2 * cost)"),
        ),
    ),
]
# Every family member, fitted or not, with the entries that must name no family: graded in one batch
# (tests/test_mistake_families_are_named.py).
FAMILY_BATCH = FAMILY_ENTRIES + UNCONFIRMED_ENTRIES + FITTED_ENTRIES + [RENAMED] + DECOYS


def _graded_cell(notebook: nbformat.NotebookNode, function: str):
    from grader.assignment.notebook import graded_name

    cells = [c for c in notebook.cells if c.cell_type == "code" and graded_name(c.source) == function]
    assert len(cells) == 1, f"the solution has {len(cells)} graded cells for {function}"
    return cells[0]


def build(entry: Entry, solution: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The solution notebook with the entry's edits applied (outputs cleared, as a student submits)."""
    notebook = copy.deepcopy(solution if solution is not None else nbformat.read(SOLUTION, as_version=4))
    for function, old, new in entry.edits:
        cell = _graded_cell(notebook, function)
        assert cell.source.count(old) == 1, (
            f"{entry.name}: {old!r} occurs {cell.source.count(old)} times in the {function} cell"
        )
        cell.source = cell.source.replace(old, new)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def write_corpus(folder: Path, entries: list[Entry] | None = None) -> dict[str, Path]:
    """Write every entry (names unique) as `<name>.ipynb` in `folder`; returns {name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    solution = nbformat.read(SOLUTION, as_version=4)
    paths = {}
    for entry in ENTRIES if entries is None else entries:
        path = folder / f"{entry.name}.ipynb"
        nbformat.write(build(entry, solution), path)
        paths[entry.name] = path
    return paths


def grade_file(path: str, folder: str | None = None) -> dict:
    """Grade one corpus notebook without a sandbox, against the assignment folder (or a release bundle
    `folder`: its public cases only); the report as a dict (runs in a worker process)."""
    import os

    # Two kernels share two cores: one BLAS thread each avoids threads fighting over them.
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from grader.assignment.manifest import load_assignment
    from grader.grading import GradeOptions, grade_one
    from grader.judge.expected import ExpectedValues

    assignment = load_assignment(Path(folder) if folder else ROOT / "assignments" / "dnn_app")
    from tests.fixtures import proven_sandbox

    options = GradeOptions(sandbox=proven_sandbox(), public_only=assignment.is_bundle)
    report = grade_one(Path(path), assignment, ExpectedValues(assignment), options)
    return report.to_dict()


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    for name, path in write_corpus(out).items():
        print(f"{name}: {path}")
