"""Shared by the notebook's public tests and the grader: building a case's inputs, and checking.

A case's inputs are described as data (a "recipe"), so that the same description builds the same
arrays in the notebook, in the grader's kernel and in the reference:

    {"seed": 1,
     "arrays": [["X", {"randn": [10, 10]}], ["Y", {"values": [[1, 0, 1]]}]],
     "args": {"layers_dims": [10, 4, 1], "learning_rate": 0.0075, "num_iterations": 2}}

Arrays are drawn in order from numpy's global generator after np.random.seed(seed). Kinds:
randn (standard normal), uniform (in [0, 1)), bernoulli ([shape, p]: 0/1 floats), values (a
literal), images ({"path", "count"}: the first `count` pictures of an HDF5 file, flattened to
columns and scaled to [0, 1], with their labels as Y).
"""

import h5py
import numpy as np

GREEN = "\033[92m"
RED = "\033[91m"
RESET = "\033[0m"


def _draw(spec):
    kind, value = next(iter(spec.items()))
    if kind == "randn":
        return np.random.randn(*value)
    if kind == "uniform":
        return np.random.rand(*value)
    if kind == "bernoulli":
        shape, p = value
        return (np.random.rand(*shape) < p).astype(float)
    if kind == "values":
        return np.array(value)
    raise ValueError(f"unknown array kind {kind!r} in a case recipe")


def _images(path, count):
    with h5py.File(path, "r") as f:
        prefix = "train" if "train_set_x" in f else "test"
        pictures = np.array(f[prefix + "_set_x"][:count])
        labels = np.array(f[prefix + "_set_y"][:count])
    return pictures.reshape(count, -1).T / 255.0, labels.reshape(1, -1)


def build_inputs(recipe):
    """Return the keyword arguments of one call, built from a recipe (see the module docstring)."""
    np.random.seed(recipe.get("seed", 1))
    kwargs = {}
    for name, spec in recipe.get("arrays", []):
        if "images" in spec:
            kwargs["X"], kwargs["Y"] = _images(spec["images"]["path"], spec["images"]["count"])
        else:
            kwargs[name] = _draw(spec)
    kwargs.update(recipe.get("args", {}))
    return kwargs


def differences(expected, actual, path="output", rtol=1e-6, atol=1e-9):
    """List plain-language differences between an expected value and what the code returned."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path} should be a dict, got {type(actual).__name__}"]
        found = []
        for key in expected:
            if key not in actual:
                found.append(f"{path} lacks the key {key!r}")
            else:
                found += differences(expected[key], actual[key], key, rtol, atol)
        return found
    if isinstance(expected, list) and not np.isscalar(expected) and path.endswith("costs"):
        if not isinstance(actual, list):
            return [f"costs should be a list, got {type(actual).__name__}"]
        if len(actual) != len(expected):
            return [f"costs has {len(actual)} entries, expected {len(expected)}"]
        found = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found += differences(np.array(e), np.asarray(a, dtype=float), f"costs[{i}]", rtol, atol)
        return found
    expected = np.asarray(expected, dtype=float)
    if not isinstance(actual, np.ndarray):
        return [f"{path} should be a numpy array, got {type(actual).__name__}"]
    if actual.shape != expected.shape:
        return [f"{path} has shape {actual.shape}, expected {expected.shape}"]
    close = np.isclose(actual, expected, rtol=rtol, atol=atol)
    if not close.all():
        first = tuple(int(i) for i in np.argwhere(~close)[0])
        others = int((~close).sum()) - 1
        return [
            f"{path} differs at {list(first)}: expected {expected[first]:.10g}, got {actual[first]:.10g}"
            + (f" ({others} more entries differ)" if others else "")
        ]
    return []


def report(name, failures, passed):
    """Print the verdict the way the course does; raise AssertionError when anything failed."""
    if not failures:
        print(GREEN + "All tests passed." + RESET)
        return
    print(GREEN + f"{passed} Tests passed" + RESET)
    print(RED + f"{len(failures)} Tests failed" + RESET)
    for failure in failures:
        print(RED + "  " + failure + RESET)
    raise AssertionError(
        f"Not all tests were passed for {name}. Check your equations and avoid "
        "using global variables inside the function."
    )
