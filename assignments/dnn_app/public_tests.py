"""Public tests the notebook calls after each graded function.

Each test runs the function on the public cases (inputs built from seeds, see test_utils) and
checks the returned types, the shapes and the values against `public_tests_expected.json`,
which the reference generates. Passing prints "All tests passed."; failing names what differs.
"""

import json
import os

import numpy as np
from test_utils import build_inputs, differences, report

_EXPECTED_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "public_tests_expected.json")


def _cases(function_name):
    with open(_EXPECTED_FILE) as f:
        return json.load(f)[function_name]


def _datatype_problems(output):
    if not isinstance(output, tuple) or len(output) != 2:
        return ["the function should return a tuple (parameters, costs)"]
    parameters, costs = output
    problems = []
    if not isinstance(parameters, dict):
        problems.append(f"parameters should be a dict, got {type(parameters).__name__}")
    else:
        problems += [
            f"{key} should be a numpy array" for key, value in parameters.items() if not isinstance(value, np.ndarray)
        ]
    if not isinstance(costs, list):
        problems.append(f"costs should be a list, got {type(costs).__name__}")
    return problems


def _shape_problems(output, expected):
    parameters, costs = output
    problems = [
        f"{key} has shape {np.shape(parameters.get(key))}, expected {np.shape(value)}"
        for key, value in expected["parameters"].items()
        if np.shape(parameters.get(key)) != np.shape(value)
    ]
    if len(costs) != len(expected["costs"]):
        problems.append(f"costs has {len(costs)} entries, expected {len(expected['costs'])}")
    return problems


def _equality_problems(output, expected):
    parameters, costs = output
    return differences(expected["parameters"], parameters, "parameters") + differences(
        expected["costs"], list(costs), "costs"
    )


def _call(function_name, target, recipe):
    """Call the student's function; an exception becomes a failure message instead of a traceback."""
    try:
        return target(**build_inputs(recipe)), None
    except Exception as error:  # noqa: BLE001 - the student's exception becomes a message
        return None, (f"{function_name} raised {type(error).__name__}: {error} (is every YOUR CODE region complete?)")


def _run(function_name, target):
    passed, failures = 0, []
    for case in _cases(function_name):
        for check in case["checks"]:
            output, raised = _call(function_name, target, case["recipe"])
            if raised:
                failures.append(f"{case['name']}: {raised}")
                break  # the other checks of this case would only raise again
            problems = _datatype_problems(output)
            if not problems and check == "shape":
                problems = _shape_problems(output, case["expected"])
            elif not problems and check == "equality":
                problems = _equality_problems(output, case["expected"])
            if problems:
                failures += [f"{case['name']} ({check} check): {p}" for p in problems]
            else:
                passed += 1
    report(function_name, failures, passed)


def two_layer_model_test(target):
    """Check two_layer_model on the public cases."""
    _run("two_layer_model", target)


def L_layer_model_test(target):
    """Check L_layer_model on the public cases."""
    _run("L_layer_model", target)
