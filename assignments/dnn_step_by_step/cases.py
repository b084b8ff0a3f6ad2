"""The step-by-step assignment's grading cases (instructor-only).

Every function has a public case (the one its public test runs in the notebook) and hidden ones
on other sizes: one hidden unit, deeper networks, both activations, a single example. Inputs are
recipes in the harness's language (grader/kernel/harness.py); caches and parameter dicts are
nested recipes built by the helpers below, in the layouts the course uses.
"""


def normal(*shape):
    return {"normal": list(shape)}


def linear_cache(n_prev, n, m):
    """(A_prev, W, b) of one layer."""
    return {"tuple": [normal(n_prev, m), normal(n, n_prev), normal(n, 1)]}


def layer_cache(n_prev, n, m):
    """((A_prev, W, b), Z) of one layer."""
    return {"tuple": [linear_cache(n_prev, n, m), normal(n, m)]}


def network_caches(dims, m):
    return [layer_cache(dims[i - 1], dims[i], m) for i in range(1, len(dims))]


def parameters(dims):
    entries = {}
    for layer in range(1, len(dims)):
        entries[f"W{layer}"] = normal(dims[layer], dims[layer - 1])
        entries[f"b{layer}"] = normal(dims[layer], 1)
    return {"dict": entries}


def gradients(dims):
    entries = {}
    for layer in range(1, len(dims)):
        entries[f"dW{layer}"] = normal(dims[layer], dims[layer - 1])
        entries[f"db{layer}"] = normal(dims[layer], 1)
    return {"dict": entries}


def probabilities(m):
    return {"uniform": [1, m], "low": 0.05, "high": 0.95}


def labels(m):
    return {"bernoulli": [1, m], "p": 0.5}


def case(function, name, description, args, seed=0, visible=False, compare=None, exact_shapes=False):
    entry = {
        "id": f"{function}/{name}",
        "function": function,
        "visibility": "visible" if visible else "hidden",
        "description": ("public test: " if visible else "") + description,
        "recipe": {"seed": seed, "args": args},
    }
    if compare:
        entry["compare"] = compare
    if exact_shapes:  # the cost must be a number: a (1, 1) array is a shape difference here
        entry["exact_shapes"] = True
    return entry


CASES = [
    case("initialize_parameters", "public", "sizes (3, 2, 1)", {"n_x": 3, "n_h": 2, "n_y": 1}, visible=True),
    case("initialize_parameters", "wider", "sizes (5, 4, 3)", {"n_x": 5, "n_h": 4, "n_y": 3}),
    case("initialize_parameters", "one_hidden_unit", "one hidden unit", {"n_x": 4, "n_h": 1, "n_y": 1}),
    case("initialize_parameters_deep", "public", "layers [5, 4, 3]", {"layer_dims": [5, 4, 3]}, visible=True),
    case("initialize_parameters_deep", "deeper", "layers [6, 5, 4, 3, 1]", {"layer_dims": [6, 5, 4, 3, 1]}),
    case("initialize_parameters_deep", "one_hidden_unit", "layers [4, 1, 1]", {"layer_dims": [4, 1, 1]}),
    case(
        "linear_forward",
        "public",
        "3 inputs, 1 unit, 2 examples",
        {"A": normal(3, 2), "W": normal(1, 3), "b": normal(1, 1)},
        seed=1,
        visible=True,
    ),
    case(
        "linear_forward",
        "wider",
        "5 inputs, 3 units, 4 examples",
        {"A": normal(5, 4), "W": normal(3, 5), "b": normal(3, 1)},
        seed=2,
    ),
    case(
        "linear_forward",
        "single_example",
        "a single example",
        {"A": normal(4, 1), "W": normal(2, 4), "b": normal(2, 1)},
        seed=3,
    ),
    case(
        "linear_activation_forward",
        "public_sigmoid",
        "sigmoid, 3 inputs, 2 examples",
        {"A_prev": normal(3, 2), "W": normal(1, 3), "b": normal(1, 1), "activation": "sigmoid"},
        seed=2,
        visible=True,
    ),
    case(
        "linear_activation_forward",
        "public_relu",
        "relu, 3 inputs, 2 examples",
        {"A_prev": normal(3, 2), "W": normal(1, 3), "b": normal(1, 1), "activation": "relu"},
        seed=2,
        visible=True,
    ),
    case(
        "linear_activation_forward",
        "relu_wider",
        "relu, 5 inputs, 4 units, 6 examples",
        {"A_prev": normal(5, 6), "W": normal(4, 5), "b": normal(4, 1), "activation": "relu"},
        seed=4,
    ),
    case(
        "linear_activation_forward",
        "sigmoid_single",
        "sigmoid, a single example",
        {"A_prev": normal(4, 1), "W": normal(3, 4), "b": normal(3, 1), "activation": "sigmoid"},
        seed=5,
    ),
    case(
        "L_model_forward",
        "public",
        "layers [5, 4, 3, 1], 4 examples",
        {"X": normal(5, 4), "parameters": parameters([5, 4, 3, 1])},
        seed=6,
        visible=True,
    ),
    case(
        "L_model_forward",
        "two_layers_one_unit",
        "two layers, one hidden unit",
        {"X": normal(4, 3), "parameters": parameters([4, 1, 1])},
        seed=7,
    ),
    case(
        "L_model_forward",
        "deep_equal_widths",
        "four layers of width 3",
        {"X": normal(3, 5), "parameters": parameters([3, 3, 3, 3, 1])},
        seed=8,
    ),
    case(
        "L_model_forward",
        "single_example",
        "a single example",
        {"X": normal(4, 1), "parameters": parameters([4, 3, 1])},
        seed=9,
    ),
    case(
        "compute_cost",
        "public",
        "3 examples",
        {"AL": probabilities(3), "Y": labels(3)},
        seed=10,
        visible=True,
        exact_shapes=True,
    ),
    case("compute_cost", "many", "7 examples", {"AL": probabilities(7), "Y": labels(7)}, seed=11, exact_shapes=True),
    case(
        "compute_cost",
        "single_example",
        "a single example",
        {"AL": probabilities(1), "Y": labels(1)},
        seed=12,
        exact_shapes=True,
    ),
    case(
        "linear_backward",
        "public",
        "3 units, 5 inputs, 4 examples",
        {"dZ": normal(3, 4), "cache": linear_cache(5, 3, 4)},
        seed=13,
        visible=True,
    ),
    case(
        "linear_backward",
        "one_unit",
        "one unit, 2 examples",
        {"dZ": normal(1, 2), "cache": linear_cache(3, 1, 2)},
        seed=14,
    ),
    case(
        "linear_backward",
        "single_example",
        "a single example",
        {"dZ": normal(2, 1), "cache": linear_cache(4, 2, 1)},
        seed=15,
    ),
    case(
        "linear_activation_backward",
        "public_sigmoid",
        "sigmoid, 2 examples",
        {"dA": normal(1, 2), "cache": layer_cache(3, 1, 2), "activation": "sigmoid"},
        seed=16,
        visible=True,
    ),
    case(
        "linear_activation_backward",
        "public_relu",
        "relu, 2 examples",
        {"dA": normal(1, 2), "cache": layer_cache(3, 1, 2), "activation": "relu"},
        seed=16,
        visible=True,
    ),
    case(
        "linear_activation_backward",
        "relu_wider",
        "relu, 4 units, 5 examples",
        {"dA": normal(4, 5), "cache": layer_cache(3, 4, 5), "activation": "relu"},
        seed=17,
    ),
    case(
        "linear_activation_backward",
        "sigmoid_single",
        "sigmoid, a single example",
        {"dA": normal(2, 1), "cache": layer_cache(3, 2, 1), "activation": "sigmoid"},
        seed=18,
    ),
    case(
        "L_model_backward",
        "public",
        "two layers [4, 3, 1], 2 examples",
        {"AL": probabilities(2), "Y": labels(2), "caches": network_caches([4, 3, 1], 2)},
        seed=19,
        visible=True,
    ),
    case(
        "L_model_backward",
        "deep_equal_widths",
        "three layers [3, 3, 3, 1]",
        {"AL": probabilities(4), "Y": labels(4), "caches": network_caches([3, 3, 3, 1], 4)},
        seed=20,
    ),
    case(
        "L_model_backward",
        "one_hidden_unit",
        "one hidden unit [4, 1, 1]",
        {"AL": probabilities(3), "Y": labels(3), "caches": network_caches([4, 1, 1], 3)},
        seed=21,
    ),
    case(
        "L_model_backward",
        "single_example",
        "a single example",
        {"AL": probabilities(1), "Y": labels(1), "caches": network_caches([3, 2, 1], 1)},
        seed=22,
    ),
    case(
        "update_parameters",
        "public",
        "layers [3, 2, 1], learning rate 0.1",
        {"parameters": parameters([3, 2, 1]), "grads": gradients([3, 2, 1]), "learning_rate": 0.1},
        seed=23,
        visible=True,
        compare=["returned", "inputs_unchanged"],
    ),
    case(
        "update_parameters",
        "deeper",
        "layers [5, 4, 3, 1], learning rate 0.05",
        {"parameters": parameters([5, 4, 3, 1]), "grads": gradients([5, 4, 3, 1]), "learning_rate": 0.05},
        seed=24,
        compare=["returned", "inputs_unchanged"],
    ),
    case(
        "update_parameters",
        "one_hidden_unit",
        "one hidden unit, learning rate 1.2",
        {"parameters": parameters([2, 1, 1]), "grads": gradients([2, 1, 1]), "learning_rate": 1.2},
        seed=25,
        compare=["returned", "inputs_unchanged"],
    ),
]
