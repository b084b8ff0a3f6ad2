"""Shared by the report, gradebook and batch tests: submissions to grade, and what must never leak."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np

from grader.judge.expected import ExpectedValues
from tests.conftest import ASSIGNMENT_DIR, ROOT

SOLUTION = ASSIGNMENT_DIR / "dnn_app_solution.ipynb"
# The L-layer update written with the course's default rate instead of the argument: the public
# case with another rate fails, and so do the hidden cases with other rates.
HARD_CODED_RATE = ("parameters = update_parameters(parameters, grads, learning_rate)",
                   "parameters = update_parameters(parameters, grads, 0.0075)")


def write_broken(path: Path, function: str = "L_layer_model") -> Path:
    """A copy of the solution whose `function` ignores its learning rate."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith(f"# GRADED FUNCTION: {function}"):
            assert HARD_CODED_RATE[0] in cell.source
            cell.source = cell.source.replace(*HARD_CODED_RATE)
    nbformat.write(notebook, path)
    return path


def write_unwritten(path: Path) -> Path:
    """A copy of the solution whose graded functions raise at once: gradable, and quick to grade."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith("# GRADED FUNCTION:"):
            assert "    np.random.seed(1)\n" in cell.source
            cell.source = cell.source.replace("    np.random.seed(1)\n",
                                              "    raise NotImplementedError('not yet')\n", 1)
    nbformat.write(notebook, path)
    return path


def grade_command(*args: str) -> list[str]:
    """`python -m grader grade` with the project's assignment, as an instructor would run it."""
    return [sys.executable, "-m", "grader", "grade", "--assignment", str(ASSIGNMENT_DIR), "--quiet", *args]


def grade_cli(*args: str, cwd: Path, timeout: float = 300, env_drop: tuple = ()) -> subprocess.CompletedProcess:
    return subprocess.run(grade_command(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=environment(env_drop))


def environment(drop: tuple = ()) -> dict:
    """This environment, with the checkout importable and without the variables in `drop`."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def number_strings(value: float) -> list[str]:
    """The ways a report could print `value`, keeping only forms specific enough to search for."""
    forms = {format(float(value), spec) for spec in (".6g", ".8g", ".10g")} | {repr(float(value))}
    return sorted(f for f in forms if len(re.sub(r"e.*$", "", f).replace("-", "").replace(".", "").lstrip("0")) >= 5)


def case_numbers(values: dict, count: int = 6) -> list[str]:
    """Number strings of the first entries of every expected array of one case."""
    arrays = [*values.parts["parameters"].values(), values.parts["costs"], *values.inputs.values()]
    found = []
    for array in arrays:
        for value in np.ravel(np.asarray(array, dtype=np.float64))[:count]:
            found += number_strings(value)
    return found


def hidden_secrets(assignment) -> dict[str, list[str]]:
    """Per hidden case: strings that would give it away (its recipe, its globals, its expected numbers)."""
    expected = ExpectedValues(assignment)
    secrets = {}
    for case in assignment.cases():
        if case.visibility == "visible":
            continue
        found = [json.dumps(case.recipe), json.dumps(case.recipe.get("arrays")), "randn", "bernoulli",
                 "case_images.h5", '"seed"']
        for name, value in case.misleading_globals.items():
            found += [json.dumps({name: value})[1:-1], str(value) if isinstance(value, list) else f"{name}={value}"]
        found += case_numbers(expected.for_case(case.id))
        secrets[case.id] = found
    return secrets


def leaks(files: list[Path], secrets: dict[str, list[str]]) -> list[str]:
    """Which secret strings appear in which report file (empty: nothing leaked)."""
    found = []
    for path in files:
        text = path.read_text()
        for case_id, strings in secrets.items():
            found += [f"{path.name}: {case_id}: {s!r}" for s in strings if s in text]
    return found
