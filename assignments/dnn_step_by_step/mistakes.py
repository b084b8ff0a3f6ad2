"""Known mistakes in the step-by-step assignment, each a runnable variant (instructor-only).

`grader expected` runs every variant on the cases of its function and stores what it returns;
when a student's failing case behaves exactly like a variant, the feedback names the mistake,
explains it and points at the line its `pattern` finds. `ADVICE` says what a difference usually
means when no mistake matches.
"""

import ast
import copy
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from grader.kernel.harness import __grader_inputs__

MAX_SOURCE = 100_000  # longer cells are not read for evidence (the engine bounds them too)


def _load_solution() -> SimpleNamespace:
    """The solution notebook's graded functions, defined here (instructor code, in the grader's process):
    the notebook is the reference, and the variants below are it with one mistake each."""
    here = Path(__file__).parent
    spec = importlib.util.spec_from_file_location("_dnn_step_by_step_utils", here / "dnn_utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    names = {
        "np": np,
        **{name: getattr(utils, name) for name in ("relu", "relu_backward", "sigmoid", "sigmoid_backward")},
    }
    notebook = json.loads((here / "dnn_step_by_step_solution.ipynb").read_text())
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith("# GRADED FUNCTION:"):
            exec(compile(source, "dnn_step_by_step_solution.ipynb", "exec"), names)  # noqa: S102 - the instructor's
    return SimpleNamespace(**names)


ref = _load_solution()
BACKWARD = {"relu": ref.relu_backward, "sigmoid": ref.sigmoid_backward}


# --- the variants: the solution with one mistake each ----------------------------------------


def _init_bias_vector(n_x, n_h, n_y):
    parameters = ref.initialize_parameters(n_x, n_h, n_y)
    parameters["b1"], parameters["b2"] = np.zeros(n_h), np.zeros(n_y)
    return parameters


def _init_unscaled(n_x, n_h, n_y):
    np.random.seed(1)
    W1 = np.random.randn(n_h, n_x)
    W2 = np.random.randn(n_y, n_h)
    return {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((n_y, 1))}


def _deep_range_from_zero(layer_dims):
    np.random.seed(1)
    parameters = {}
    for l in range(len(layer_dims)):
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


def _deep_small_scale(layer_dims):
    np.random.seed(1)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


def _forward_without_bias(A, W, b):
    return np.dot(W, A), (A, W, b)


def _cache_parts_swapped(A_prev, W, b, activation):
    A, (linear_cache, activation_cache) = ref.linear_activation_forward(A_prev, W, b, activation)
    return A, (activation_cache, linear_cache)


def _last_layer_reads_A_prev(X, parameters):
    caches = []
    A = X
    A_prev = X
    L = len(parameters) // 2
    for l in range(1, L):
        A_prev = A
        A, cache = ref.linear_activation_forward(A_prev, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    AL, cache = ref.linear_activation_forward(A_prev, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def _cost_not_squeezed(AL, Y):
    m = Y.shape[1]
    return (1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))


def _cost_summed(AL, Y):
    return np.squeeze(-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))


def _dW_summed(dZ, cache):
    dA_prev, dW, db = ref.linear_backward(dZ, cache)
    return dA_prev, dW * cache[0].shape[1], db


def _db_wrong_axis(dZ, cache):
    dA_prev, dW, _ = ref.linear_backward(dZ, cache)
    return dA_prev, dW, 1.0 / cache[0].shape[1] * np.sum(dZ, axis=0, keepdims=True)


def _db_flat(dZ, cache):
    dA_prev, dW, _ = ref.linear_backward(dZ, cache)
    return dA_prev, dW, 1.0 / cache[0].shape[1] * np.sum(dZ, axis=1)


def _backward_activations_swapped(dA, cache, activation):
    linear_cache, activation_cache = cache
    other = {"relu": "sigmoid", "sigmoid": "relu"}[activation]
    return ref.linear_backward(BACKWARD[other](dA, activation_cache), linear_cache)


def _backward_with(dAL_sign: float, shift: int, base: str = "l"):
    """L_model_backward with dAL's sign flipped and/or the loop reading caches[base + shift]."""

    def variant(AL, Y, caches):
        grads = {}
        L = len(caches)
        Y = Y.reshape(AL.shape)
        dAL = dAL_sign * -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
        grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = ref.linear_activation_backward(
            dAL, caches[L - 1], "sigmoid"
        )
        for l in reversed(range(L - 1)):
            index = {"l": l, "L": L, "": 0}[base] + shift
            dA_prev, dW, db = ref.linear_activation_backward(grads["dA" + str(l + 1)], caches[index], "relu")
            grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = dA_prev, dW, db
        return grads

    return variant


def _update_in_place(parameters, grads, learning_rate):
    for l in range(1, len(parameters) // 2 + 1):
        parameters["W" + str(l)] -= learning_rate * grads["dW" + str(l)]
        parameters["b" + str(l)] -= learning_rate * grads["db" + str(l)]
    return parameters


def _update_ascent(parameters, grads, learning_rate):
    return ref.update_parameters(parameters, grads, -learning_rate)


def _mistake(mistake_id, title, explanation, fix, function, pattern, variant):
    return {
        "id": mistake_id,
        "title": title,
        "explanation": explanation,
        "fix": fix,
        "functions": [function],
        "pattern": pattern,
        "variants": {function: variant},
    }


MISTAKES = [
    _mistake(
        "bias-as-vector",
        "the biases are shaped (n,) instead of (n, 1)",
        "np.zeros(n_h) is a flat vector. Added to a matrix of shape (n_h, m) it broadcasts along the wrong "
        "axis, so later layers silently compute something else.",
        "Give every bias two dimensions: np.zeros((n_h, 1)) and np.zeros((n_y, 1)).",
        "initialize_parameters",
        r"np\.zeros\(\s*n_[hy]\s*\)",
        _init_bias_vector,
    ),
    _mistake(
        "init-unscaled",
        "the random weights are not multiplied by 0.01",
        "Standard normal draws are too large for this network: the activations saturate and learning "
        "stalls. The expected values use np.random.randn(...) * 0.01.",
        "Multiply each W by 0.01 right where you draw it.",
        "initialize_parameters",
        r"np\.random\.randn\([^)]*\)\s*$",
        _init_unscaled,
    ),
    _mistake(
        "deep-range-from-zero",
        "the layer loop starts at 0",
        "range(L) visits l = 0, which makes a W0 and b0 that do not exist, and uses up random draws, so "
        "every later W differs too. Layer l connects layer_dims[l - 1] to layer_dims[l], for l = 1 .. L - 1.",
        "Loop over range(1, L).",
        "initialize_parameters_deep",
        r"for l in range\(\s*L\s*\)",
        _deep_range_from_zero,
    ),
    _mistake(
        "deep-scale-0.01",
        "the deep weights are scaled by 0.01 instead of 1/sqrt(layer_dims[l-1])",
        "This assignment's deep initialisation divides each W by the square root of the number of inputs "
        "of its layer (as the application's helpers do), so deeper layers keep a useful spread.",
        "Replace * 0.01 with / np.sqrt(layer_dims[l - 1]).",
        "initialize_parameters_deep",
        r"\*\s*0?\.01",
        _deep_small_scale,
    ),
    _mistake(
        "forward-without-bias",
        "Z leaves out b",
        "The linear part of a layer is Z = W A + b; without b every unit's offset is lost.",
        "Add the bias b to the product of W and A.",
        "linear_forward",
        r"Z\s*=",
        _forward_without_bias,
    ),
    _mistake(
        "cache-parts-swapped",
        "the cache holds its two parts in the wrong order",
        "Backward propagation unpacks the cache as (linear_cache, activation_cache); storing "
        "(activation_cache, linear_cache) hands Z to the linear step and (A_prev, W, b) to the activation.",
        "Store the linear cache first and the activation cache second: the order in which backward propagation unpacks them.",
        "linear_activation_forward",
        r"cache\s*=\s*\(",
        _cache_parts_swapped,
    ),
    _mistake(
        "A-prev-in-last-layer",
        "the last layer reads A_prev instead of A",
        "After the loop, A holds the output of the last hidden layer; A_prev still holds that layer's "
        "input, one layer too early.",
        "Call the sigmoid layer on A: linear_activation_forward(A, W_L, b_L, 'sigmoid').",
        "L_model_forward",
        r"linear_activation_forward\(\s*A_prev[^\n]*sigmoid",
        _last_layer_reads_A_prev,
    ),
    _mistake(
        "cost-not-squeezed",
        "the cost comes back as a (1, 1) array, not a number",
        "np.dot of two row vectors gives a 1x1 matrix; the cost must be a plain number (a 0-dimensional "
        "value), which np.squeeze makes of it.",
        "Return np.squeeze(cost).",
        "compute_cost",
        r"return\s+cost",
        _cost_not_squeezed,
    ),
    _mistake(
        "cost-not-averaged",
        "the cost is summed over the examples, not averaged",
        "The cross-entropy cost is the mean over the m examples: without 1/m it grows with the batch size.",
        "Multiply by 1 / m (m = Y.shape[1]).",
        "compute_cost",
        r"cost\s*=",
        _cost_summed,
    ),
    _mistake(
        "dW-not-averaged",
        "dW is not divided by m",
        "dW averages the gradient over the m examples: dW = (1/m) dZ A_prev^T.",
        "Multiply by 1 / m.",
        "linear_backward",
        r"dW\s*=",
        _dW_summed,
    ),
    _mistake(
        "db-wrong-axis",
        "db sums over the units instead of the examples",
        "Each unit has one bias, so db sums dZ along the examples (axis=1), giving shape (n, 1); axis=0 "
        "sums along the units and gives shape (1, m).",
        "Use np.sum(dZ, axis=1, keepdims=True) / m.",
        "linear_backward",
        r"db\s*=",
        _db_wrong_axis,
    ),
    _mistake(
        "db-without-keepdims",
        "db loses its second dimension",
        "np.sum(dZ, axis=1) without keepdims=True returns shape (n,), which then broadcasts wrongly "
        "against b of shape (n, 1) in the update.",
        "Add keepdims=True: np.sum(dZ, axis=1, keepdims=True) / m.",
        "linear_backward",
        r"db\s*=",
        _db_flat,
    ),
    _mistake(
        "backward-activations-swapped",
        "relu_backward and sigmoid_backward are swapped",
        "The derivative must be that of the activation the layer used on the way forward: relu_backward "
        "for 'relu', sigmoid_backward for 'sigmoid'.",
        "Call relu_backward in the relu branch and sigmoid_backward in the sigmoid branch.",
        "linear_activation_backward",
        r"_backward\(",
        _backward_activations_swapped,
    ),
    _mistake(
        "dAL-wrong-sign",
        "dAL has the wrong sign",
        "The derivative of the cost with respect to AL is -(Y/AL - (1-Y)/(1-AL)); without the leading minus "
        "every gradient points uphill.",
        "Keep the leading minus: dAL is minus the difference of Y divided by AL and 1 - Y divided by 1 - AL.",
        "L_model_backward",
        r"dAL\s*=",
        _backward_with(-1.0, 0),
    ),
    _mistake(
        "wrong-cache-layer",
        "the loop hands each layer the next layer's cache",
        "caches[l] holds what layer l + 1 stored on the way forward (the list starts at 0); caches[l + 1] "
        "belongs to the layer above.",
        "Inside the loop take the cache at index l, the one layer l + 1 stored on the way forward.",
        "L_model_backward",
        r"caches\[\s*l\s*\+\s*1\s*\]",
        _backward_with(1.0, 1),
    ),
    _mistake(
        "update-in-place",
        "update_parameters changes the dictionary it was given",
        "`-=` on the arrays of `parameters` overwrites the caller's arrays: the function must return new "
        "values and leave its inputs as they were.",
        "Start from a copy (parameters = copy.deepcopy(parameters)) or write W = W - learning_rate * dW.",
        "update_parameters",
        r"-=",
        _update_in_place,
    ),
    _mistake(
        "update-ascent",
        "the update adds the gradient",
        "Gradient descent steps against the gradient: W = W - learning_rate * dW.",
        "Subtract learning_rate times the gradient.",
        "update_parameters",
        r"\+\s*learning_rate",
        _update_ascent,
    ),
]

ADVICE = [
    {
        "raised": "NameError",
        "title": "the function raised {exception}",
        "explanation": "A name is read before anything was assigned to it: a YOUR CODE region still empty, a variable spelled "
        "differently where it is set and where it is used, or a notebook variable (the grader runs only the "
        "imports and the graded cells). Assign every name the function uses inside the function.",
    },
    {
        "raised": "ValueError",
        "title": "the function raised {exception}",
        "explanation": "Arrays of incompatible shapes met, usually in np.dot: check the shapes of W (n_l, n_(l-1)), "
        "A_prev (n_(l-1), m) and b (n_l, 1), and which cache each step receives.",
    },
    {
        "raised": "KeyError",
        "title": "the function raised {exception}",
        "explanation": "A dictionary key is spelled differently: parameters use 'W1', 'b1', ..., gradients 'dA0', 'dW1', 'db1', ...",
    },
    {
        "part": "cache",
        "title": "the cache differs",
        "explanation": "The cache must hold exactly what the backward pass needs, in the course's order: "
        "(A_prev, W, b) for the linear step, (linear_cache, Z) for a whole layer.",
    },
    {
        "part": "caches",
        "title": "one of the caches differs",
        "explanation": "caches[l] belongs to layer l + 1 and holds ((A_prev, W, b), Z); check the input each layer "
        "receives and the order of the cache's parts.",
    },
    {
        "part": "db",
        "title": "db differs",
        "explanation": "db is the mean of dZ over the examples: np.sum(dZ, axis=1, keepdims=True) / m, shape (n, 1).",
    },
    {
        "part": "dW",
        "title": "dW differs",
        "explanation": "dW = np.dot(dZ, A_prev.T) / m: the previous layer's activations, transposed, averaged.",
    },
]


# --- families (grader.judge.diagnose.family_mistake): one mistake, any value of its parameter -----

# db's sum with any axis and keepdims


def _db_sum(axis, keepdims):
    def variant(dZ, cache):
        dA_prev, dW, _ = ref.linear_backward(dZ, cache)
        return dA_prev, dW, 1.0 / cache[0].shape[1] * np.sum(dZ, axis=axis, keepdims=keepdims)

    return variant


def _literal(node, default):
    """The value of a literal argument (`1`, `-1`, `True`, `None`); `default` when absent, "?" otherwise."""
    if node is None:
        return default
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return "?"


def _parsed(source: str) -> ast.Module | None:
    """The cell's syntax tree (None when it does not parse or is too long to read)."""
    if len(source) > MAX_SOURCE:
        return None
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _function_def(source: str, name: str) -> ast.FunctionDef | None:
    """The graded function's definition in its cell (None when the cell does not parse or is too long)."""
    tree = _parsed(source)
    if tree is None:
        return None
    return next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name), None)


def db_sum_evidence(source: str, function: str):
    """The np.sum(dZ, ...) that db is built from, when its axis/keepdims differ from the hint's."""
    tree = _parsed(source)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in ("np.sum", "numpy.sum")
            and node.args
            and ast.unparse(node.args[0]) == "dZ"
        ):
            continue
        words = {k.arg: k.value for k in node.keywords}
        axis = node.args[1] if len(node.args) > 1 else words.get("axis")
        keep = words.get("keepdims")
        axis, keep = _literal(axis, None), _literal(keep, False)
        if (
            (axis is None or type(axis) is int)
            and axis in (0, 1, -1, -2, None)
            and isinstance(keep, bool)
            and (axis, keep) not in ((1, True), (-1, True))
        ):
            return node.lineno, (axis, keep)
    return None


# --- the transpose family: which operand of a matrix product is transposed, and their order ---------

# The product each target is, as the course writes it (linear_forward: Z; linear_backward: dW, dA_prev).
PRODUCTS = {"Z": ("W", "A"), "dW": ("dZ", "A_prev.T"), "dA_prev": ("W.T", "dZ")}
TARGETS = {"linear_forward": ("Z",), "linear_backward": ("dW", "dA_prev")}


def _operand(node) -> str | None:
    """`X` or `X.T` for a plain name X (also written np.transpose(X) or X.transpose()); None otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.value, ast.Name):
        return node.value.id + ".T"
    if isinstance(node, ast.Call) and not node.keywords:
        if ast.unparse(node.func) in ("np.transpose", "numpy.transpose") and len(node.args) == 1:
            return node.args[0].id + ".T" if isinstance(node.args[0], ast.Name) else None
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "transpose"
            and not node.args
            and isinstance(node.func.value, ast.Name)
        ):
            return node.func.value.id + ".T"
    return None


def _product(node) -> tuple | None:
    """(kind, left, right) of a matrix product: np.dot(x, y) or x.dot(y) is 'dot'; x @ y or np.matmul 'matmul'."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return "matmul", node.left, node.right
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    name = ast.unparse(node.func)
    if name in ("np.dot", "numpy.dot", "np.matmul", "numpy.matmul") and len(node.args) == 2:
        return ("dot" if name.endswith("dot") else "matmul"), node.args[0], node.args[1]
    if isinstance(node.func, ast.Attribute) and node.func.attr == "dot" and len(node.args) == 1:
        return "dot", node.func.value, node.args[0]
    return None


def transpose_evidence(source: str, function: str):
    """`Z = ...`, `dW = ...` or `dA_prev = ...` holding one product of the right two names whose
    transposes or order differ from the course's (a product transposed as a whole is left alone)."""
    node = _function_def(source, function)
    for statement in ast.walk(node) if node is not None else ():
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id in TARGETS.get(function, ())
        ):
            continue
        target = statement.targets[0].id
        parts = list(ast.walk(statement.value))
        products = [found for found in map(_product, parts) if found]
        if len(products) != 1 or any(
            isinstance(n, ast.Attribute) and n.attr == "T" and _product(n.value) for n in parts
        ):
            continue
        kind, left, right = products[0]
        operands = (_operand(left), _operand(right))
        names = {o.removesuffix(".T") for o in PRODUCTS[target]}
        if None in operands or {o.removesuffix(".T") for o in operands} != names or len(names) != 2:
            continue
        if operands != PRODUCTS[target]:
            return statement.lineno, (target, kind, *operands)
    return None


def _multiply(kind: str, left: str, right: str, arrays: dict):
    def pick(operand):
        array = arrays[operand.removesuffix(".T")]
        return array.T if operand.endswith(".T") else array

    return (np.dot if kind == "dot" else np.matmul)(pick(left), pick(right))


def _transposed(value, function: str):
    """The function with the product of `value` = (target, kind, left, right) written that way;
    a target of the other function leaves this one as the reference computes it."""
    target, kind, left, right = value
    if target not in TARGETS.get(function, ()):
        return getattr(ref, function)
    if target == "Z":

        def forward(A, W, b):
            return _multiply(kind, left, right, {"A": A, "W": W}) + b, (A, W, b)

        return forward

    def backward(dZ, cache):
        A_prev, W, b = cache
        m = A_prev.shape[1]
        arrays = {"dZ": dZ, "A_prev": A_prev, "W": W}
        dW = 1.0 / m * (_multiply(kind, left, right, arrays) if target == "dW" else np.dot(dZ, A_prev.T))
        db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
        dA_prev = _multiply(kind, left, right, arrays) if target == "dA_prev" else np.dot(W.T, dZ)
        return dA_prev, dW, db

    return backward


def _show_product(value) -> str:
    target, kind, left, right = value
    return f"{target} = np.dot({left}, {right})" if kind == "dot" else f"{target} = {left} @ {right}"


def _wrong_products() -> list[tuple]:
    """Every order and transposition of each product's two names, both spellings, but the right one."""
    values = []
    for target, right_one in PRODUCTS.items():
        a, b = (o.removesuffix(".T") for o in right_one)
        values += [
            (target, kind, left, right)
            for kind in ("dot", "matmul")
            for x, y in ((a, b), (b, a))
            for left in (x, x + ".T")
            for right in (y, y + ".T")
            if (left, right) != right_one
        ]
    return values


# --- the cost's sum: any axis and keepdims, squeezed or not ----------------------------------------


def _cost_sum(axis, keepdims, squeezed):
    def variant(AL, Y):
        m = Y.shape[1]
        cost = -1.0 / m * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL), axis=axis, keepdims=keepdims)
        return np.squeeze(cost) if squeezed else cost

    return variant


def cost_sum_evidence(source: str, function: str):
    """compute_cost's np.sum calls, all with one axis/keepdims, and whether the cell squeezes the result,
    when together they do not make one number."""
    node = _function_def(source, function)
    parts = list(ast.walk(node)) if node is not None else []
    sums = [n for n in parts if isinstance(n, ast.Call) and ast.unparse(n.func) in ("np.sum", "numpy.sum")]
    settings = set()
    for call in sums:
        words = {k.arg: k.value for k in call.keywords}
        settings.add(
            (
                _literal(call.args[1] if len(call.args) > 1 else words.get("axis"), None),
                _literal(words.get("keepdims"), False),
            )
        )
    if len(settings) != 1:
        return None
    axis, keepdims = settings.pop()
    if not ((axis is None or type(axis) is int) and axis in (0, 1, -1, -2, None) and isinstance(keepdims, bool)):
        return None
    squeezed = any(
        isinstance(n, ast.Call)
        and (
            ast.unparse(n.func) in ("np.squeeze", "numpy.squeeze")
            or isinstance(n.func, ast.Attribute)
            and n.func.attr == "squeeze"
        )
        for n in parts
    )
    if axis in (None, 1, -1) and (squeezed or (axis is None and not keepdims)):
        return None  # one number comes back
    return min(call.lineno for call in sums), (axis, keepdims, squeezed)


def _show_sum(value) -> str:
    axis, keepdims, squeezed = value
    return f"axis={axis}, keepdims={keepdims}, " + ("then np.squeeze" if squeezed else "without np.squeeze")


# --- L_model_backward: another layer's cache handed to layer l's backward step ------------------------


def _index(node, loop: str) -> tuple[str, int] | None:
    """caches[...]'s index as (base, offset): base 'l' (the loop variable), 'L', or '' for a constant."""
    number = _literal(node, None)
    if type(number) is int:
        return "", number
    if isinstance(node, ast.Name) and node.id in (loop, "L"):
        return ("l" if node.id == loop else "L"), 0
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, (ast.Add, ast.Sub))
        and isinstance(node.left, ast.Name)
        and node.left.id in (loop, "L")
        and type(_literal(node.right, None)) is int
    ):
        offset = _literal(node.right, None)
        return ("l" if node.left.id == loop else "L"), (offset if isinstance(node.op, ast.Add) else -offset)
    return None


def cache_layer_evidence(source: str, function: str):
    """The first caches[...] inside the layer loop whose index is not the loop variable itself."""
    node = _function_def(source, function)
    loops = [n for n in ast.walk(node) if isinstance(n, ast.For) and isinstance(n.target, ast.Name)] if node else []
    for loop in loops:
        for part in (p for statement in loop.body for p in ast.walk(statement)):
            if isinstance(part, ast.Subscript) and isinstance(part.value, ast.Name) and part.value.id == "caches":
                value = _index(part.slice, loop.target.id)
                if value is not None and value != ("l", 0) and abs(value[1]) < 100:
                    return part.lineno, value
    return None


def _show_cache(value) -> str:
    base, offset = value
    if not base:
        return f"caches[{offset}]"
    return f"caches[{base}]" if offset == 0 else f"caches[{base} {'+' if offset > 0 else '-'} {abs(offset)}]"


FAMILIES = [
    {
        "id": "db-sum",
        "functions": ["linear_backward"],
        "parameter": "the sum",
        "evidence": db_sum_evidence,
        "pattern": r"np\.sum\(\s*dZ",
        "show": lambda v: f"axis={v[0]}, keepdims={v[1]}",
        "public_values": [(a, k) for a in (0, 1, None) for k in (True, False) if (a, k) != (1, True)],
        "title": "db sums dZ with {value} instead of axis=1, keepdims=True",
        "explanation": "Each unit has one bias, so db averages dZ along the examples (axis=1) and keeps the column "
        "shape (n, 1) with keepdims=True; {value} gives another shape or other numbers.",
        "fix": "Use np.sum(dZ, axis=1, keepdims=True) / m.",
    },
    {
        "id": "transpose",
        "functions": ["linear_forward", "linear_backward"],
        "parameter": "the product",
        "evidence": transpose_evidence,
        "pattern": r"np\.dot\(|np\.matmul\(|\w\s*@\s*\w|\.dot\(",
        "show": _show_product,
        "public_values": _wrong_products(),
        "title": "a transpose is misplaced: {value}",
        "explanation": "With W of shape (n_l, n_(l-1)), A_prev of shape (n_(l-1), m) and dZ of shape (n_l, m), only "
        "one order and one transposition make each product's shapes line up to the right result: "
        "Z = W A + b, dW = dZ A_prev^T / m and dA_prev = W^T dZ. {value} transposes an operand that "
        "should stay as it is, leaves out a transpose, or swaps the two.",
        "fix": "Keep W on the left of A in linear_forward. In linear_backward, multiply dZ by the transpose of "
        "A_prev (then divide by m) for dW, and the transpose of W by dZ for dA_prev.",
    },
    {
        "id": "cost-sum",
        "functions": ["compute_cost"],
        "parameter": "the sum",
        "evidence": cost_sum_evidence,
        "pattern": r"np\.sum\(",
        "show": _show_sum,
        "public_values": [(a, k, s) for a in (0, 1, None) for k in (True, False) for s in (True, False)],
        "title": "the cost is summed with {value}, which does not give one number",
        "explanation": "AL and Y have shape (1, m), so the m losses lie along axis 1: summing along axis=0 adds up "
        "each column alone and leaves m numbers, and keepdims=True keeps a (1, 1) array that only "
        "np.squeeze turns into the single number the cost must be. With {value}, an array comes back instead.",
        "fix": "Sum over the examples and squeeze: cost = np.squeeze(-np.sum(Y * np.log(AL) + (1 - Y) * "
        "np.log(1 - AL), axis=1, keepdims=True) / m).",
    },
    {
        "id": "cache-layer",
        "functions": ["L_model_backward"],
        "parameter": "the cache index",
        "evidence": cache_layer_evidence,
        "pattern": r"caches\[(?!\s*(l|L\s*-\s*1)\s*\])",
        "show": _show_cache,
        "public_values": [("l", -1), ("l", 2), ("L", 0), ("", 0), ("", 1)],
        "title": "layer l's backward step receives {value} instead of caches[l]",
        "explanation": "caches[l] holds what layer l + 1 stored on the way forward (the list starts at 0), and "
        "that layer's backward step needs exactly its own A_prev, W, b and Z; {value} hands it "
        "another layer's cache (or none at all).",
        "fix": "Inside the loop, hand layer l + 1's backward step caches[l], whatever the loop variable is called.",
    },
]


def family_outputs(family_id: str, value, case, folder: Path) -> dict:
    """What the family's variant with `value` does on one case."""
    variants = {
        "db-sum": lambda: _db_sum(*value),
        "transpose": lambda: _transposed(value, case.function),
        "cost-sum": lambda: _cost_sum(*value),
        "cache-layer": lambda: _backward_with(1.0, value[1], value[0]),
    }
    return _outputs(variants[family_id](), case, folder)


def variant_outputs(mistake_id: str, case, folder: Path) -> dict:
    """What the mistake's variant does on one case: its value, or its error, and whether it changed an input."""
    mistake = next(m for m in MISTAKES if m["id"] == mistake_id)
    return _outputs(mistake["variants"][case.function], case, folder)


def _outputs(variant, case, folder: Path) -> dict:
    arguments = __grader_inputs__(case.recipe, str(folder))
    before = copy.deepcopy(arguments)
    try:
        with np.errstate(all="ignore"):
            returned = variant(**arguments)
    except Exception as error:  # noqa: BLE001 - the student's code raises the same
        return {"error": {"type": type(error).__name__, "message": str(error)}}
    return {"returned": returned, "stdout": [], "inputs_changed": not _same(before, arguments)}


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b
