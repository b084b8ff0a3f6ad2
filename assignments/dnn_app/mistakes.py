"""Known mistakes in two_layer_model and L_layer_model, each as a runnable variant of the reference.

This module stays on the instructor's side, like cases.py. The grader runs every variant on every
grading case (`grader expected`) and stores what it produces; when a student's failing case
matches a variant, the feedback names the mistake, explains it, gives the fix and points at the
line of the student's graded cell where `pattern` finds it.

The two base classes below do exactly what reference/models.py does, one overridable method per
step a student writes (seed, layer sizes, initialisation, loop count, forward, cost, backward,
update, bookkeeping, return). A mistake is a small mixin that overrides the one step it gets
wrong, so each variant reads as "the reference, except this".

Contract with the grader (grader/diagnose.py): `MISTAKES`, a list of dicts with id, title,
explanation, fix, functions, pattern (a regex searched line by line in the graded cell, or a
callable(source) -> 1-based line or None) and `variants` ({function: callable}); and
`variant_outputs(mistake_id, case, folder)` returning {"returned": value, "stdout": lines} or
{"error": {"type", "message"}}.
"""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import re
from pathlib import Path

import numpy as np

from reference.expected import case_inputs
from reference.helpers import (
    L_model_backward,
    L_model_forward,
    compute_cost,
    initialize_parameters,
    initialize_parameters_deep,
    linear_activation_backward,
    linear_activation_forward,
    update_parameters,
)

# The notebook's global names during a call: a case's misleading_globals (nothing else runs in
# the grading kernel but the setup and graded cells, so other names are undefined).
NOTEBOOK_GLOBALS: dict = {}


def notebook_global(name: str):
    """Read a name the way a function body reads a notebook global it never defined locally."""
    if name not in NOTEBOOK_GLOBALS:
        raise NameError(f"name '{name}' is not defined")
    return NOTEBOOK_GLOBALS[name]


# --- the reference, step by step ---------------------------------------------------------------


class TwoLayerModel:
    """reference.models.two_layer_model: LINEAR -> RELU -> LINEAR -> SIGMOID, gradient descent."""

    hidden, output = "relu", "sigmoid"

    def __call__(self, X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
        self.seed()
        costs = []
        self.dims = self.sizes(layers_dims)
        parameters = self.initialize(self.dims)
        self.first = parameters
        self.trace = []
        for i in self.iterations(num_iterations):
            parameters, cost = self.iteration(X, Y, parameters, learning_rate)
            self.after_update(parameters)
            self.record(i, cost, num_iterations, print_cost, costs)
        return self.returned(parameters, costs)

    def seed(self):
        np.random.seed(1)

    def sizes(self, layers_dims):
        return layers_dims

    def initialize(self, dims):
        n_x, n_h, n_y = dims
        return initialize_parameters(n_x, n_h, n_y)

    def iterations(self, num_iterations):
        return range(0, num_iterations)

    def iteration(self, X, Y, parameters, learning_rate):
        """One pass: forward, cost, backward, update; returns (new parameters, cost)."""
        AL, caches = self.forward(X, parameters)
        cost = compute_cost(AL, Y)
        grads = self.backward(AL, Y, caches)
        return self.update(parameters, grads, learning_rate), cost

    def forward(self, X, parameters):
        A1, cache1 = linear_activation_forward(X, parameters["W1"], parameters["b1"], self.hidden)
        A2, cache2 = linear_activation_forward(A1, parameters["W2"], parameters["b2"], self.output)
        return A2, (cache1, cache2)

    def output_gradient(self, A2, Y):
        return -(np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))

    def backward(self, A2, Y, caches):
        cache1, cache2 = caches
        dA2 = self.output_gradient(A2, Y)
        dA1, dW2, db2 = linear_activation_backward(dA2, cache2, self.output)
        dA0, dW1, db1 = linear_activation_backward(dA1, cache1, self.hidden)
        return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}

    def update(self, parameters, grads, learning_rate):
        return update_parameters(parameters, grads, learning_rate)

    def after_update(self, parameters):
        """Nothing in the reference; a family's variant keeps a summary per update (Traced)."""

    def record(self, i, cost, num_iterations, print_cost, costs):
        """The template's bookkeeping, quirks included (the last line prints even without print_cost)."""
        if print_cost and i % 100 == 0 or i == num_iterations - 1:
            print(f"Cost after iteration {i}: {np.squeeze(cost)}")
        if i % 100 == 0 or i == num_iterations:
            costs.append(cost)

    def returned(self, parameters, costs):
        return parameters, costs


class LLayerModel(TwoLayerModel):
    """reference.models.L_layer_model: [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID."""

    def initialize(self, dims):
        return initialize_parameters_deep(dims)

    def forward(self, X, parameters):
        return L_model_forward(X, parameters)

    def backward(self, AL, Y, caches):
        return L_model_backward(AL, Y, caches)


# --- the mistakes, one step each ----------------------------------------------------------------


class UpdateDiscarded:
    def update(self, parameters, grads, learning_rate):
        update_parameters(parameters, grads, learning_rate)  # returns a new dict, which is lost
        return parameters


class ActivationsSwapped:
    hidden, output = "sigmoid", "relu"


class LearningRateHardCoded:
    def update(self, parameters, grads, learning_rate):
        return update_parameters(parameters, grads, 0.0075)


class GlobalLayerSizes:
    def sizes(self, layers_dims):
        return notebook_global("layers_dims")


class OneIterationShort:
    def iterations(self, num_iterations):
        return range(0, num_iterations - 1)


class CostEveryIteration:
    def record(self, i, cost, num_iterations, print_cost, costs):
        if print_cost and i % 100 == 0 or i == num_iterations - 1:
            print(f"Cost after iteration {i}: {np.squeeze(cost)}")
        costs.append(cost)


class CostNeverRecorded:
    def record(self, i, cost, num_iterations, print_cost, costs):
        if print_cost and i % 100 == 0 or i == num_iterations - 1:
            print(f"Cost after iteration {i}: {np.squeeze(cost)}")


class CostBeforeForwardTwoLayer:
    def iteration(self, X, Y, parameters, learning_rate):
        cost = compute_cost(A2, Y)  # noqa: F821 - A2 of this iteration does not exist yet
        A2, caches = self.forward(X, parameters)
        return self.update(parameters, self.backward(A2, Y, caches), learning_rate), cost


class CostBeforeForwardLLayer:
    def iteration(self, X, Y, parameters, learning_rate):
        cost = compute_cost(AL, Y)  # noqa: F821 - AL of this iteration does not exist yet
        AL, caches = self.forward(X, parameters)
        return self.update(parameters, self.backward(AL, Y, caches), learning_rate), cost


class DeepInitialiserInTwoLayer:
    def initialize(self, dims):
        return initialize_parameters_deep(dims)


class TwoLayerInitialiserInDeep:
    def initialize(self, dims):
        return initialize_parameters(dims[0], dims[1], dims[-1])


class GradientAscent:
    def update(self, parameters, grads, learning_rate):
        return update_parameters(parameters, grads, -learning_rate)


class WrongCache:
    def backward(self, A2, Y, caches):
        cache1, cache2 = caches
        dA2 = self.output_gradient(A2, Y)
        dA1, dW2, db2 = linear_activation_backward(dA2, cache2, "sigmoid")
        dA0, dW1, db1 = linear_activation_backward(dA1, cache2, "relu")  # cache1 belongs here
        return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


class OutputGradientSignFlipped:
    def output_gradient(self, A2, Y):
        return np.divide(Y, A2) - np.divide(1 - Y, 1 - A2)


class OutputGradientIsDZ:
    def output_gradient(self, A2, Y):
        return A2 - Y


class SeedMissing:
    """Initialisation written out by hand, with np.random.seed(1) gone (or after the draws)."""

    def seed(self):
        pass

    def initialize(self, dims):
        if not isinstance(self, LLayerModel):
            n_x, n_h, n_y = dims
            return {
                "W1": np.random.randn(n_h, n_x) * 0.01,
                "b1": np.zeros((n_h, 1)),
                "W2": np.random.randn(n_y, n_h) * 0.01,
                "b2": np.zeros((n_y, 1)),
            }
        parameters = {}
        for l in range(1, len(dims)):
            parameters["W" + str(l)] = np.random.randn(dims[l], dims[l - 1]) / np.sqrt(dims[l - 1])
            parameters["b" + str(l)] = np.zeros((dims[l], 1))
        return parameters


class OnlyParametersReturned:
    def returned(self, parameters, costs):
        return parameters


class ReinitialisedInLoop:
    def iteration(self, X, Y, parameters, learning_rate):
        return super().iteration(X, Y, self.initialize(self.dims), learning_rate)


class StaleWeights:
    """two_layer_model's W1, b1, W2, b2 not read again from `parameters` after the update."""

    def forward(self, X, parameters):
        return super().forward(X, self.first)


# --- where each mistake usually sits in the student's cell --------------------------------------


def _function_node(source: str) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return next((node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)), None)


def global_name_line(source: str) -> int | None:
    """The first line reading a notebook-level size or rate the function never defined itself."""
    function = _function_node(source)
    if function is None:
        return None
    local = {a.arg for a in function.args.args + function.args.kwonlyargs}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
    suspects = {"layers_dims", "n_x", "n_h", "n_y", "learning_rate", "num_iterations"}
    lines = [
        node.lineno
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in suspects - local
    ]
    return min(lines) if lines else None


def initialiser_in_loop_line(source: str) -> int | None:
    """The line of an initialize_parameters* call made inside the training loop."""
    function = _function_node(source)
    if function is None:
        return None
    for loop in ast.walk(function):
        if isinstance(loop, (ast.For, ast.While)):
            for node in ast.walk(loop):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id.startswith("initialize_parameters")
                ):
                    return node.lineno
    return None


def cost_before_forward_line(source: str) -> int | None:
    """The cost line when, inside the loop, it comes before the forward pass."""
    lines = source.splitlines()
    cost = next((n for n, text in enumerate(lines, 1) if re.search(r"\bcost\s*=\s*compute_cost\(", text)), None)
    forward = next(
        (n for n, text in enumerate(lines, 1) if re.search(r"=\s*(linear_activation_forward|L_model_forward)\(", text)),
        None,
    )
    return cost if cost is not None and forward is not None and cost < forward else None


# --- the catalogue -----------------------------------------------------------------------------

TWO, DEEP = "two_layer_model", "L_layer_model"


def _variants(mixins: type | dict, functions: tuple[str, ...]) -> dict:
    """One callable per function: the mistake's mixin on top of that function's reference."""
    bases = {TWO: TwoLayerModel, DEEP: LLayerModel}
    chosen = mixins if isinstance(mixins, dict) else dict.fromkeys(functions, mixins)
    return {name: type(f"{chosen[name].__name__}_{name}", (chosen[name], bases[name]), {})() for name in functions}


def _mistake(mistake_id, title, explanation, fix, functions, pattern, mixin):
    return {
        "id": mistake_id,
        "title": title,
        "explanation": explanation,
        "fix": fix,
        "functions": list(functions),
        "pattern": pattern,
        "variants": _variants(mixin, functions),
    }


BOTH = (TWO, DEEP)

MISTAKES = [
    _mistake(
        "update-discarded",
        "the result of update_parameters is thrown away",
        "update_parameters does not change the dictionary it is given: it builds and returns a new one. "
        "Calling it without assigning the result leaves the parameters exactly where they started, so "
        "every iteration computes the same cost and the function returns the initial parameters.",
        "Keep the dictionary update_parameters returns: assign it back to parameters, so that the next iteration starts from the updated values.",
        BOTH,
        r"^\s*update_parameters\(",
        UpdateDiscarded,
    ),
    _mistake(
        "activations-swapped",
        "the two activations are swapped (sigmoid hidden, ReLU output)",
        "The hidden layer must use ReLU and the output layer the sigmoid, which turns the last layer's "
        "value into a probability between 0 and 1. With ReLU at the output, the prediction can be 0 or "
        "above 1, so the log in the cost becomes -inf or nan and training breaks down.",
        "Use 'relu' for the first linear_activation_forward/backward and 'sigmoid' for the second.",
        (TWO,),
        r"linear_activation_(forward|backward)\(\s*(X|dA1)\b.*['\"]sigmoid['\"]",
        ActivationsSwapped,
    ),
    _mistake(
        "learning-rate-hard-coded",
        "the learning rate is a fixed number instead of the argument",
        "The update uses a number typed into the code (usually 0.0075) rather than the learning_rate "
        "the caller passed. It gives the right answer only when the caller happens to use that same "
        "value, which is why a test with the default rate cannot see it.",
        "Pass the function's own argument: update_parameters(parameters, grads, learning_rate).",
        BOTH,
        r"update_parameters\([^#]*,\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*\)",
        LearningRateHardCoded,
    ),
    _mistake(
        "global-layers-dims",
        "the notebook's global layers_dims is used instead of the argument",
        "The function reads layer sizes (layers_dims, or n_x, n_h, n_y) that it never received as a "
        "parameter, so Python looks them up among the notebook's globals, usually because the parameter "
        "was renamed. In the notebook that works by accident because a constants cell defined them; the "
        "grader runs only the graded cells, where the name is undefined or holds other sizes.",
        "Keep the parameter named layers_dims, exactly as in the released signature, and use only it inside "
        "the function.",
        BOTH,
        global_name_line,
        GlobalLayerSizes,
    ),
    _mistake(
        "one-iteration-short",
        "the loop runs num_iterations - 1 times",
        "range(num_iterations - 1) stops one step early: range already excludes its end, so "
        "range(0, num_iterations) runs exactly num_iterations iterations. The last update is missing and "
        "the last cost line is never printed.",
        "Loop with for i in range(0, num_iterations).",
        BOTH,
        r"range\([^#]*num_iterations\s*-\s*1",
        OneIterationShort,
    ),
    _mistake(
        "cost-every-iteration",
        "the cost is appended to costs on every iteration",
        "costs should hold one entry every 100 iterations (i % 100 == 0), the values the cost curve is "
        "plotted from. Appending on every iteration gives num_iterations entries instead.",
        "Append only inside the `if i % 100 == 0 or i == num_iterations:` block.",
        BOTH,
        r"costs\.append\(",
        CostEveryIteration,
    ),
    _mistake(
        "cost-never-recorded",
        "costs is never filled",
        "The function returns an empty costs list: the line that appends the cost every 100 iterations "
        "was removed or never reached.",
        "Keep `if i % 100 == 0 or i == num_iterations: costs.append(cost)` at the end of the loop body.",
        BOTH,
        r"^\s*costs\s*=\s*\[\s*\]",
        CostNeverRecorded,
    ),
    _mistake(
        "cost-before-forward",
        "the cost is computed before the forward pass of the same iteration",
        "compute_cost needs the output activations of this iteration. Placed before the forward pass, it "
        "reads the variable before anything was assigned to it on the first iteration (an "
        "UnboundLocalError), and on later iterations would measure the previous parameters.",
        "Compute the cost right after the forward pass, from the activations it just produced.",
        BOTH,
        cost_before_forward_line,
        {TWO: CostBeforeForwardTwoLayer, DEEP: CostBeforeForwardLLayer},
    ),
    _mistake(
        "deep-initialiser-in-two-layer",
        "initialize_parameters_deep used in two_layer_model",
        "The deep initialiser scales the weights by 1/sqrt(n_prev) while the two-layer one multiplies "
        "them by 0.01. Both have the right shapes, so nothing crashes, but training starts from other "
        "weights and every number that follows differs.",
        "In two_layer_model call initialize_parameters(n_x, n_h, n_y).",
        (TWO,),
        r"initialize_parameters_deep\(",
        DeepInitialiserInTwoLayer,
    ),
    _mistake(
        "two-layer-initialiser-in-deep",
        "initialize_parameters used in L_layer_model",
        "initialize_parameters builds exactly two layers with weights scaled by 0.01. L_layer_model must "
        "build one weight matrix and bias per entry of layers_dims after the first, scaled by "
        "1/sqrt(n_prev), which is what initialize_parameters_deep does.",
        "In L_layer_model call initialize_parameters_deep(layers_dims).",
        (DEEP,),
        r"initialize_parameters\(",
        TwoLayerInitialiserInDeep,
    ),
    _mistake(
        "gradient-ascent",
        "the update climbs the cost (sign of the step flipped)",
        "Gradient descent moves against the gradient: W = W - learning_rate * dW. With the sign flipped "
        "(a negative learning rate, or + instead of -) every step increases the cost, so the recorded "
        "costs grow instead of falling.",
        "Call update_parameters(parameters, grads, learning_rate) with the positive learning rate.",
        BOTH,
        r"update_parameters\([^#]*-\s*learning_rate|\+\s*learning_rate\s*\*",
        GradientAscent,
    ),
    _mistake(
        "wrong-cache",
        "a backward step is given the other layer's cache",
        "Each backward step must receive the cache saved by the forward step of the same layer: cache2 "
        "for the sigmoid layer, cache1 for the ReLU layer. With the wrong cache, the shapes of dA and Z "
        "disagree (an error about a boolean index or shapes) or, when they happen to fit, the gradients "
        "are wrong.",
        "Give the sigmoid layer's backward step cache2 and the ReLU layer's backward step cache1: "
        "each step takes the cache its own layer saved on the way forward.",
        (TWO,),
        r"linear_activation_backward\(\s*(dA1\s*,\s*cache2|dA2\s*,\s*cache1)\b",
        WrongCache,
    ),
    _mistake(
        "dA-sign-flipped",
        "dA2 starts with the wrong sign",
        "The derivative of the cross-entropy cost with respect to A2 is -(Y/A2 - (1-Y)/(1-A2)). "
        "Dropping the leading minus flips every gradient that follows, so the update climbs the cost "
        "exactly as if the learning rate were negative.",
        "dA2 = - (np.divide(Y, A2) - np.divide(1 - Y, 1 - A2)).",
        (TWO,),
        r"^\s*dA2\s*=\s*\(?\s*np\.divide\(",
        OutputGradientSignFlipped,
    ),
    _mistake(
        "dA-is-dZ",
        "dA2 is set to A2 - Y (that is dZ2, not dA2)",
        "A2 - Y is the derivative with respect to Z2, the value after the sigmoid's own derivative has "
        "been applied. linear_activation_backward(..., 'sigmoid') applies that derivative itself, so "
        "starting from A2 - Y applies it twice and the gradients are too small and wrong.",
        "Start the backward pass from dA2 = - (np.divide(Y, A2) - np.divide(1 - Y, 1 - A2)).",
        (TWO,),
        r"^\s*dA2\s*=\s*A2\s*-\s*Y\b",
        OutputGradientIsDZ,
    ),
    _mistake(
        "seed-missing",
        "the weights are drawn without np.random.seed(1) first",
        "The expected numbers depend on the random starting weights, which are reproducible only when "
        "np.random.seed(1) runs right before they are drawn. The provided initialisers seed for you; "
        "weights drawn by hand without the seed (or with the seed moved after the draws) continue "
        "whatever random sequence came before, so every number differs.",
        "Call the provided initialiser, or put np.random.seed(1) immediately before the weights are drawn.",
        BOTH,
        r"np\.random\.randn\(",
        SeedMissing,
    ),
    _mistake(
        "only-parameters-returned",
        "only parameters is returned, not (parameters, costs)",
        "Both functions must return the pair (parameters, costs): the costs are what the learning curve "
        "is drawn from. Returning the dictionary alone breaks every caller that unpacks two values.",
        "End the function with return parameters, costs.",
        BOTH,
        r"^\s*return\s+parameters\s*$",
        OnlyParametersReturned,
    ),
    _mistake(
        "reinitialised-in-loop",
        "the parameters are initialised again inside the loop",
        "Calling the initialiser inside the loop throws away what the previous iterations learnt: every "
        "iteration starts over from the same random weights, so the cost never goes down.",
        "Initialise once, before the for loop.",
        BOTH,
        initialiser_in_loop_line,
        ReinitialisedInLoop,
    ),
    _mistake(
        "stale-weights",
        "W1, b1, W2, b2 are not read again after the update",
        "The forward pass uses the variables W1, b1, W2, b2, which were unpacked from the initial "
        "parameters. Without unpacking them again after each update, every iteration runs the forward "
        "pass with the starting weights while the dictionary keeps moving.",
        "After parameters = update_parameters(...), set W1 = parameters['W1'] (and b1, W2, b2) again.",
        (TWO,),
        r"^\s*parameters\s*=\s*update_parameters\(",
        StaleWeights,
    ),
]

REFERENCE = {TWO: TwoLayerModel(), DEEP: LLayerModel()}


def variant_outputs(mistake_id: str, case: dict, folder: Path) -> dict:
    """What the mistake's variant does on one case: its return value and printed lines, or its error."""
    mistake = next(m for m in MISTAKES if m["id"] == mistake_id)
    return _run(mistake["variants"][case.function], case, folder)


def _run(variant, case: dict, folder: Path) -> dict:
    kwargs = case_inputs(case.recipe, folder)
    NOTEBOOK_GLOBALS.clear()
    NOTEBOOK_GLOBALS.update(case.misleading_globals)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), np.errstate(all="ignore"):
            returned = variant(**kwargs)
    except Exception as error:  # noqa: BLE001 - the student's code would raise the same
        return {"error": {"type": type(error).__name__, "message": str(error)}}
    finally:
        NOTEBOOK_GLOBALS.clear()
    return {"returned": returned, "stdout": printed.getvalue().splitlines()}


# --- families: one mistake, any value of its parameter (grader.judge.diagnose.family_mistake) -------


class ConstantRate:
    rate = 0.0075

    def update(self, parameters, grads, learning_rate):
        return update_parameters(parameters, grads, self.rate)


class ShortLoop:
    """range(0, num_iterations - k) for a value k, range(start, num_iterations - k) for (start, k)."""

    short = 1

    def iterations(self, num_iterations):
        start, short = (0, self.short) if isinstance(self.short, int) else self.short
        return range(start, num_iterations - short)


class Traced:
    """Keeps a summary of the parameters after every update, which a fit searches (fit_loop_short)."""

    def after_update(self, parameters):
        self.trace.append(summary(parameters))


def summary(parameters: dict) -> np.ndarray:
    """Per array, in key order: its sum, its sum of magnitudes, its first and its last entry."""
    marks = []
    for key in sorted(parameters):
        flat = np.asarray(parameters[key], dtype=np.float64).ravel()
        marks += [flat.sum(), np.abs(flat).sum(), flat[0], flat[-1]] if flat.size else [0.0] * 4
    return np.array(marks)


class RecordEvery:
    every = 100

    def record(self, i, cost, num_iterations, print_cost, costs):
        if print_cost and i % 100 == 0 or i == num_iterations - 1:
            print(f"Cost after iteration {i}: {np.squeeze(cost)}")
        if i % self.every == 0 or i == num_iterations:
            costs.append(cost)


class ActivationPair:
    """Forward (hidden, output) and backward (hidden, output) activations, each pair any choice."""

    pairs = (("relu", "sigmoid"), ("relu", "sigmoid"))

    def forward(self, X, parameters):
        hidden, output = self.pairs[0]
        A1, cache1 = linear_activation_forward(X, parameters["W1"], parameters["b1"], hidden)
        A2, cache2 = linear_activation_forward(A1, parameters["W2"], parameters["b2"], output)
        return A2, (cache1, cache2)

    def backward(self, A2, Y, caches):
        hidden, output = self.pairs[1]
        cache1, cache2 = caches
        dA2 = self.output_gradient(A2, Y)
        dA1, dW2, db2 = linear_activation_backward(dA2, cache2, output)
        dA0, dW1, db1 = linear_activation_backward(dA1, cache1, hidden)
        return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def _calls(source: str, name: str) -> list[ast.Call]:
    function = _function_node(source)
    if function is None:
        return []
    return sorted(
        (
            node
            for node in ast.walk(function)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
        ),
        key=lambda n: n.lineno,
    )


def _number(node) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    return None


def constant_rate_evidence(source: str, function: str):
    """update_parameters(..., <a number>): the line and the number."""
    for call in _calls(source, "update_parameters"):
        rate = _number(call.args[2]) if len(call.args) == 3 else None
        if rate is not None:
            return call.lineno, rate
    return None


def short_loop_evidence(source: str, function: str):
    """range(..., num_iterations - k) with a literal k: the line and k."""
    for call in _calls(source, "range"):
        end = call.args[-1] if call.args else None
        if (
            isinstance(end, ast.BinOp)
            and isinstance(end.op, ast.Sub)
            and isinstance(end.left, ast.Name)
            and end.left.id == "num_iterations"
            and isinstance(end.right, ast.Constant)
            and type(end.right.value) is int
            and 0 < end.right.value < 1000
        ):
            return call.lineno, end.right.value
    return None


def record_every_evidence(source: str, function: str):
    """An `if` whose body appends to costs and whose test holds `i % N` with N other than 100."""
    tree = _function_node(source)
    for node in ast.walk(tree) if tree is not None else ():
        if not isinstance(node, ast.If) or "costs.append" not in ast.unparse(node.body[0]):
            continue
        for part in ast.walk(node.test):
            if (
                isinstance(part, ast.BinOp)
                and isinstance(part.op, ast.Mod)
                and isinstance(part.right, ast.Constant)
                and type(part.right.value) is int
                and 0 < part.right.value != 100
            ):
                return node.lineno, part.right.value
    return None


def recording_line(source: str) -> int | None:
    """The `if` whose body appends to costs: where the interval is (the print's `i % 100` comes first)."""
    tree = _function_node(source)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.If) and "costs.append" in ast.unparse(node.body[0]):
            return node.lineno
    return None


def activation_pair_evidence(source: str, function: str):
    """The activation strings of the two forward and two backward calls, when they differ from the hint."""
    pairs, line = [], None
    for name, order in (("linear_activation_forward", 1), ("linear_activation_backward", -1)):
        calls = _calls(source, name)
        words = [c.args[-1].value for c in calls if c.args and isinstance(c.args[-1], ast.Constant)]
        if len(calls) != 2 or len(words) != 2 or not all(w in ("relu", "sigmoid") for w in words):
            return None
        pairs.append(tuple(words[::order]))
        if tuple(words[::order]) != ("relu", "sigmoid") and line is None:
            line = calls[0].lineno
    return None if line is None else (line, tuple(pairs))


# --- fits: a family's parameter read from what the student's function returned ---------------------
# Each gets `mine` ({"returned": (parameters, costs), "stdout": lines}, plain values), the case, and
# run(value): the family's variant with that value on the case (None once the grader's budget for
# re-running variants is spent). It proposes values; the grader confirms each by one more run.

RATE_STEPS = 8  # secant steps at most: each is one run
# Small starting weights keep the output's sigmoid slope at almost exactly 1/4 for the first updates,
# so there another mistake that scales the gradients (dA2 = A2 - Y) is indistinguishable from another
# rate. A rate is fitted only on cases that train long enough to tell them apart.
RATE_MIN_ITERATIONS = 100
MAX_RATE = 100.0
CLOSE = {"rtol": 1e-6, "atol": 1e-9}


def _args(case) -> dict:
    return dict(case.recipe.get("args", {}))


def _returned_parameters(raw: dict | None) -> dict | None:
    returned = (raw or {}).get("returned")
    if not isinstance(returned, (tuple, list)) or len(returned) != 2 or not isinstance(returned[0], dict):
        return None
    try:
        return {str(key): np.asarray(value, dtype=np.float64) for key, value in returned[0].items()}
    except (TypeError, ValueError):
        return None


def _costs(raw: dict | None) -> list[float] | None:
    returned = (raw or {}).get("returned")
    if not isinstance(returned, (tuple, list)) or len(returned) != 2 or not isinstance(returned[1], list):
        return None
    try:
        values = [np.asarray(cost, dtype=np.float64) for cost in returned[1]]
    except (TypeError, ValueError):
        return None
    return [float(v.ravel()[0]) for v in values] if all(v.size == 1 for v in values) else None


def _flat_like(raw: dict | None, target: dict) -> np.ndarray | None:
    """The variant's returned parameters as one vector, when they have the student's keys and shapes."""
    parameters = _returned_parameters(raw)
    if (
        parameters is None
        or sorted(parameters) != sorted(target)
        or any(parameters[k].shape != target[k].shape for k in target)
    ):
        return None
    return np.concatenate([parameters[k].ravel() for k in sorted(target)])


def fit_rate(mine: dict, case, run) -> list[float] | None:
    """The constant rate that reproduces the returned parameters: the secant method on the vector of
    parameters, from rate 0 (no training) and the case's own rate, a few runs at most."""
    target = _returned_parameters(mine)
    costs = _costs(mine)
    if not target or not costs or int(_args(case).get("num_iterations", 3000)) < RATE_MIN_ITERATIONS:
        return None
    goal = np.concatenate([target[k].ravel() for k in sorted(target)])
    if not np.all(np.isfinite(goal)):
        return None
    points = []
    for rate in (0.0, float(_args(case).get("learning_rate", 0.0075))):
        raw = run(rate)
        vector = _flat_like(raw, target)
        if vector is None or (rate == 0.0 and not np.isclose(_costs(raw)[0], costs[0], **CLOSE)):
            return None  # another first cost: the mistake is not (only) the rate
        points.append((rate, vector))
    for _ in range(RATE_STEPS):
        (r0, v0), (r1, v1) = points[-2:]
        slope = (v1 - v0) / (r1 - r0)
        norm = float(slope @ slope)
        if not np.isfinite(norm) or norm == 0.0:
            return None
        rate = r1 + float(slope @ (goal - v1)) / norm
        if not np.isfinite(rate) or abs(rate) > MAX_RATE:
            return None
        if abs(rate - r1) <= 1e-10 * abs(rate):
            break
        vector = _flat_like(run(rate), target)
        if vector is None:
            return None
        points.append((rate, vector))
        if np.allclose(vector, goal, rtol=1e-9, atol=1e-12):
            break
    best = points[-1][0]
    return list(dict.fromkeys(float(f"{best:.{digits}g}") for digits in (3, 2)))  # a rate as typed: a short number


def fit_record_every(mine: dict, case, run) -> list[int] | None:
    """The interval N whose entries are the student's costs: the cost of every iteration (one run
    recording each), searched for the student's second entry; N must also give their number."""
    costs = _costs(mine)
    if not costs or len(costs) < 2:
        return None
    every = _costs(run(1))
    if not every or not np.isclose(every[0], costs[0], **CLOSE):
        return None
    n = int(_args(case).get("num_iterations", 3000))
    found = [
        i
        for i in range(1, len(every))
        if i != 100 and np.isclose(every[i], costs[1], **CLOSE) and -(-n // i) == len(costs)
    ]
    return found[:2]


def fit_loop_short(mine: dict, case, run) -> list | None:
    """How many updates the loop missed: the reference loop's parameters after every update (one
    traced run), searched for the returned ones; then where the loop may start (0, 1 or that count)."""
    target = _returned_parameters(mine)
    if not target:
        return None
    trace = (run(0) or {}).get("trace") or []
    mark = summary(target)
    for done in range(len(trace) - 1, 0, -1):
        if trace[done - 1].shape == mark.shape and np.allclose(trace[done - 1], mark, **CLOSE):
            missing = len(trace) - done
            return list(dict.fromkeys([missing, (1, missing - 1), (missing, 0)]))
    return None


def fit_activation_pairs(mine: dict, case, run) -> list | None:
    """The activations that reproduce the returned parameters: the forward pair first, from the first
    cost (it depends on nothing else), then each backward pair with it; a run per choice."""
    costs, target = _costs(mine), _returned_parameters(mine)
    if not costs or not target:
        return None
    goal = np.concatenate([target[k].ravel() for k in sorted(target)])
    right = ("relu", "sigmoid")
    choices = list(itertools.product(("relu", "sigmoid"), repeat=2))
    forward = []
    for pair in choices:
        first = (_costs(run((pair, right))) or [None])[0]
        if first is not None and np.isclose(first, costs[0], equal_nan=True, **CLOSE):
            forward.append(pair)
    found = []
    for pair in forward:
        for back in choices:
            vector = _flat_like(run((pair, back)), target) if (pair, back) != (right, right) else None
            if vector is not None and np.allclose(vector, goal, equal_nan=True, **CLOSE):
                found.append((pair, back))
    return found


def _show_loop(value) -> str:
    return str(value if isinstance(value, int) else sum(value))


def _show_pairs(pairs) -> str:
    (fh, fo), (bh, bo) = pairs
    return f"forward {fh}/{fo}, backward {bh}/{bo}"


# What the bundle's self-check knows of the activation family: every pair but the right one.
ACTIVATION_PAIRS = [
    (f, b)
    for f in itertools.product(("relu", "sigmoid"), repeat=2)
    for b in itertools.product(("relu", "sigmoid"), repeat=2)
    if (f, b) != (("relu", "sigmoid"),) * 2
]

FAMILIES = [
    {
        "id": "learning-rate-constant",
        "pattern": r"update_parameters\([^#]*,\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*\)",
        "public_values": [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0],
        "functions": list(BOTH),
        "parameter": "the learning rate",
        "mixin": ConstantRate,
        "attribute": "rate",
        "evidence": constant_rate_evidence,
        "show": lambda v: f"{v:g}",
        "fit": fit_rate,
        "where": r"update_parameters\(",
        "title": "the learning rate is the fixed number {value} instead of the argument",
        "explanation": "The update uses {value}, a number typed into the code, rather than the learning_rate the "
        "caller passed, so every case with another rate trains at the wrong speed.",
        "fix": "Pass the function's own argument: update_parameters(parameters, grads, learning_rate).",
    },
    {
        "id": "loop-short",
        "pattern": r"range\([^#]*num_iterations\s*-\s*\d",
        "public_values": [1, 2, 3],
        "functions": list(BOTH),
        "parameter": "the number of missing iterations",
        "mixin": ShortLoop,
        "attribute": "short",
        "evidence": short_loop_evidence,
        "show": _show_loop,
        "fit": fit_loop_short,
        "where": r"^\s*for\b.*\brange\(",
        "title": "the loop runs num_iterations - {value} times",
        "explanation": "range(a, b) runs b - a iterations and already excludes its end, so range(0, num_iterations) "
        "runs exactly num_iterations; this loop runs {value} fewer (a smaller end or a later start), "
        "so the last updates are missing and the costs are recorded at other iterations.",
        "fix": "Loop with for i in range(0, num_iterations).",
    },
    {
        "id": "cost-every-n",
        "pattern": r"\bi\s*%\s*(?!100\b)\d+",
        "public_values": [1, 2, 5, 10, 20, 25, 50],
        "functions": list(BOTH),
        "parameter": "the recording interval",
        "mixin": RecordEvery,
        "attribute": "every",
        "evidence": record_every_evidence,
        "fit": fit_record_every,
        "where": recording_line,
        "title": "the cost is recorded every {value} iterations instead of every 100",
        "explanation": "costs should hold one entry every 100 iterations (i % 100 == 0), the values the cost curve "
        "is plotted from; recording every {value} gives another number of entries.",
        "fix": "Append inside `if i % 100 == 0 or i == num_iterations:`.",
    },
    {
        "id": "activation-pair",
        "pattern": r"linear_activation_(forward|backward)\(.*['\"](relu|sigmoid)['\"]",
        "public_values": ACTIVATION_PAIRS,
        "functions": [TWO],
        "parameter": "the activations",
        "show": _show_pairs,
        "mixin": ActivationPair,
        "attribute": "pairs",
        "evidence": activation_pair_evidence,
        "fit": fit_activation_pairs,
        "where": r"linear_activation_(forward|backward)\(",
        "title": "the wrong activations are used ({value})",
        "explanation": "The hidden layer must use ReLU and the output layer the sigmoid, in the forward pass and, "
        "mirrored, in the backward pass; this cell uses {value}.",
        "fix": "Use 'relu' for the first linear_activation_forward/backward and 'sigmoid' for the second.",
    },
]


def family_outputs(family_id: str, value, case, folder: Path) -> dict:
    """What the family's variant, with its parameter set to `value`, does on one case."""
    family = next(f for f in FAMILIES if f["id"] == family_id)
    bases = {TWO: TwoLayerModel, DEEP: LLayerModel}
    variant = type(
        f"{family['mixin'].__name__}_{case.function}",
        (family["mixin"], Traced, bases[case.function]),
        {family["attribute"]: value},
    )()
    raw = _run(variant, case, folder)
    if "error" not in raw:
        raw["trace"] = variant.trace  # ignored by the grader's comparison; read by fit_loop_short
    return raw


# --- advice when no catalogued mistake matches (grader.diagnose.advice_for) -------------------------


def _layer(name: str) -> int | None:
    match = re.fullmatch(r"[A-Za-z]+(\d+)", name)
    return int(match.group(1)) if match else None


def _parameters_explanation(differing: list[str], everything: list[str]) -> str:
    layers = sorted({_layer(k) for k in differing if _layer(k) is not None})
    if not any(name.startswith("costs") for name in everything) and len(differing) >= 4 and len(layers) > 1:
        return (
            "Every recorded cost is right, yet the parameters returned differ: the training went right "
            "while costs were recorded, so look at what happens after the last recorded cost (the number "
            "of iterations the loop runs, the last update) and at which dictionary is returned."
        )
    if layers:
        which = ", ".join(str(layer) for layer in layers)
        return (
            f"Only layer {which} ends up different. The forward pass and the cost are right; look at that "
            "layer's part of the backward pass (the cache and dA its step receives, the activation named) "
            "and at its update."
        )
    return (
        "Only some parameters end up different: look at how those entries are computed in the backward "
        "pass and updated."
    )


ADVICE = [
    {
        "raised": "NameError",
        "explanation": "A name is read before anything was assigned to it: a YOUR CODE region still empty, a variable spelled "
        "differently where it is set and where it is used, or a notebook variable (the grader runs only the "
        "imports and the graded cells, so the notebook's other variables do not exist). Assign every name the "
        "function uses inside the function.",
        "title": "the function raised {exception}",
    },
    {
        "raised": "TypeError",
        "title": "the function raised {exception}",
        "explanation": "A function received arguments it does not take, or a value of the wrong kind: compare each helper call "
        "with the helper's signature (for example initialize_parameters(n_x, n_h, n_y) takes three sizes, "
        "initialize_parameters_deep(layers_dims) one list).",
    },
    {
        "raised": "ValueError",
        "title": "the function raised {exception}",
        "explanation": "Arrays of incompatible shapes met, usually in a matrix product: check that each layer's W is multiplied "
        "with the previous layer's activations, and which cache each step receives.",
    },
    {
        "raised": "KeyError",
        "title": "the function raised {exception}",
        "explanation": "A dictionary was asked for a key it lacks: check the names of the parameters (W1, b1, ...) and of the "
        "gradients (dW1, db1, ...) that update_parameters reads.",
    },
    {
        "part": "returned",
        "kind": ["type", "length"],
        "title": "the function does not return the pair (parameters, costs)",
        "explanation": "Whatever the body computes, the caller expects exactly two values back: the dictionary of "
        "trained parameters and the list of recorded costs.",
    },
    {
        "part": "parameters",
        "kind": "type",
        "title": "parameters is not a dictionary",
        "explanation": "The first returned value must be the dictionary of arrays W1, b1, ... as the initialiser "
        "and the update build it.",
    },
    {
        "part": "costs",
        "kind": ["values", "not_finite"],
        "index": 0,
        "title": "the very first cost already differs: initialisation, forward pass or cost",
        "explanation": "Nothing has been learnt when the first cost is recorded, so the difference comes from the "
        "parameters training starts from (which initialiser, its arguments, the random seed) or from "
        "the forward pass and the cost (the activation of each layer, the cost formula, which arrays "
        "are passed in).",
    },
    {
        "part": "costs",
        "kind": ["length", "type"],
        "title": "costs holds the wrong number of entries: when the cost is recorded",
        "explanation": "The values may be right, but a cost must be appended exactly when the template does it "
        "(every 100 iterations), and the loop must run exactly as many times as asked.",
    },
    {
        "part": "costs",
        "title": "the first cost agrees but later ones drift: the backward pass, the update, or a parameter read",
        "explanation": "The first cost matches, so the initial parameters and the first forward pass give the right "
        "cost. That does not clear the forward pass: while the biases are still zero, reading the wrong one "
        "(b2 where b1 belongs) changes nothing yet. Look at what changes after the first step: the gradients "
        "(the backward pass, the caches and dA each step receives), the update (its sign, the learning rate "
        "used, keeping its result), and which weights and biases each forward pass reads.",
    },
    {
        "part": "parameters",
        "title": "the costs agree but the returned {names} differ",
        "explanation": _parameters_explanation,
    },
    {
        "part": "stdout",
        "title": "the printed cost lines differ",
        "explanation": "The returned values agree, so training is right; the lines printed are not the ones expected: "
        "check which iterations print and the exact format 'Cost after iteration i: cost'.",
    },
    {
        "part": "inputs",
        "title": "the function changes the X or Y it was given",
        "explanation": "The caller's arrays must come back untouched. An in-place operation (X /= ..., X -= ..., "
        "Y[...] = ...) on an argument changes the caller's data; compute on a new array instead.",
    },
]
