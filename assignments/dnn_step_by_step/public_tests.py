"""Public tests the notebook calls after each graded function.

Each test rebuilds the inputs of that function's public cases (the same recipes and seeds the
grader uses), calls the function and compares what it returns with `public_tests_expected.json`,
which the reference generates. Passing prints "All tests passed."; failing says what differs.
"""

import json
import os

import numpy as np

_EXPECTED_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "public_tests_expected.json")


def _build(recipe):
    random = np.random.RandomState(int(recipe.get("seed", 0)))

    def build(spec):
        if spec is None or isinstance(spec, (bool, int, float, str)):
            return spec
        if isinstance(spec, list):
            return [build(item) for item in spec]
        if "normal" in spec:
            return random.randn(*spec["normal"])
        if "uniform" in spec:
            return random.uniform(spec.get("low", 0.0), spec.get("high", 1.0), size=spec["uniform"])
        if "bernoulli" in spec:
            return (random.rand(*spec["bernoulli"]) < spec.get("p", 0.5)).astype(np.float64)
        if "array" in spec:
            return np.array(spec["array"], dtype=np.float64)
        if "tuple" in spec:
            return tuple(build(item) for item in spec["tuple"])
        if "dict" in spec:
            return {str(key): build(value) for key, value in spec["dict"].items()}
        return spec["literal"]

    return {name: build(value) for name, value in recipe["args"].items()}


def _differences(expected, got, path):
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return [f"{path} should be a dict, got {type(got).__name__}"]
        if sorted(expected) != sorted(got):
            return [f"{path} has keys {sorted(got)}, expected {sorted(expected)}"]
        return [d for key in expected for d in _differences(expected[key], got[key], f"{path}[{key!r}]")]
    if isinstance(expected, list) and not _is_numeric(expected):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return [f"{path} should have {len(expected)} parts"]
        return [d for i, item in enumerate(expected) for d in _differences(item, got[i], f"{path}[{i}]")]
    want, have = np.asarray(expected, dtype=float), np.asarray(got)
    if want.shape != have.shape:
        return [f"{path} has shape {have.shape}, expected {want.shape}"]
    if not np.allclose(have.astype(float), want, rtol=1e-6, atol=1e-9):
        return [f"{path} has the wrong values"]
    return []


def _is_numeric(value):
    try:
        np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def _as_plain(value):
    if isinstance(value, tuple):
        return [_as_plain(item) for item in value]
    if isinstance(value, list):
        return [_as_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_plain(item) for key, item in value.items()}
    return value


def _expected_value(expected):
    """The whole expected value: stored as is, or as the parts of a returned tuple, in order."""
    if "returned" in expected:
        return expected["returned"]
    return [value for key, value in expected.items() if key != "stdout"]


def run_public_tests(function):
    """Run `function` on its public cases and print what differs, or "All tests passed."."""
    with open(_EXPECTED_FILE) as handle:
        cases = json.load(handle)[function.__name__]
    problems = []
    for case in cases:
        try:
            got = function(**_build(case["recipe"]))
        except Exception as error:  # noqa: BLE001 - the student's exception becomes a message
            problems.append(
                f"{case['description']}: raised {type(error).__name__}: {error} (is every YOUR CODE region complete?)"
            )
            continue
        problems += [
            f"{case['description']}: {p}"
            for p in _differences(_expected_value(case["expected"]), _as_plain(got), function.__name__ + "(...)")
        ]
    if problems:
        print("\n".join(problems))
    else:
        print("All tests passed.")
    return not problems
