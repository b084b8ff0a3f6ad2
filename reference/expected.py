"""What the reference answers on a grading case: the values every submission is compared with.

A case's inputs are built from its recipe by the assignment's own test_utils, in the folder the
kernel would see, then the fast reference function is called with the same arguments.
"""

import contextlib
import importlib.util
import io
import os
from pathlib import Path

import numpy as np

from reference.helpers import ASSIGNMENT_DIR
from reference.training import FAST_FUNCTIONS


def _test_utils():
    spec = importlib.util.spec_from_file_location("dnn_app_test_utils", ASSIGNMENT_DIR / "test_utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def case_inputs(recipe: dict, workdir: Path) -> dict:
    """The keyword arguments of a case, with relative paths read from `workdir`."""
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        return _test_utils().build_inputs(recipe)
    finally:
        os.chdir(previous)


def case_outputs(case, workdir: Path) -> dict:
    """{"returned": (parameters, costs), "stdout": lines}: the reference's answer on one case."""
    kwargs = case_inputs(case.recipe, workdir)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        parameters, costs = FAST_FUNCTIONS[case.function](**kwargs)
    returned = ({key: np.asarray(value) for key, value in parameters.items()}, [float(c) for c in costs])
    return {"returned": returned, "stdout": printed.getvalue().splitlines()}
