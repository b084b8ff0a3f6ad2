"""The pytest plugin: `pytest --grade NOTEBOOK` runs one item per case, graded once in one kernel,
and --junitxml reports each; without --grade it changes nothing."""

import os
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from importlib import metadata

import nbformat
import pytest

from grader.assignment.manifest import load_assignment
from grader.assignment.released import released_notebook
from tests.fixtures import ASSIGNMENT_DIR, ROOT, proven_sandbox

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)


def _plugin_args() -> list[str]:
    """-p loads the worktree's plugin when the installed metadata does not name it yet."""
    registered = any(e.value == "grader.pytest_plugin" for e in metadata.entry_points(group="pytest11"))
    return [] if registered else ["-p", "grader.pytest_plugin"]


def run_pytest(folder, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *_plugin_args(),
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--rootdir",
            str(folder),
            *args,
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def cases_of(xml_path) -> dict[str, ET.Element]:
    """{function::case: testcase}; junit's classname is `notebook.ipynb.function` (the item's id's path)."""
    found = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        notebook, _, function = case.get("classname", "").rpartition(".ipynb.")
        assert notebook, case.get("classname")  # the item's id starts with the notebook's name
        found[f"{function}::{case.get('name')}"] = case
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The solution and the blank released notebook, each through `pytest --grade --junitxml`."""
    folder = tmp_path_factory.mktemp("plugin")
    blank = folder / "dnn_app.ipynb"
    nbformat.write(released_notebook(load_assignment(ASSIGNMENT_DIR)), blank)
    runs = {}
    for name, notebook in (("solution", ASSIGNMENT_DIR / "dnn_app_solution.ipynb"), ("blank", blank)):
        xml = folder / f"{name}.xml"
        done = run_pytest(
            folder, "--grade", str(notebook), "--assignment", str(ASSIGNMENT_DIR), "--junitxml", str(xml), "-q"
        )
        runs[name] = (done, cases_of(xml))
    return runs


def _declared_entry_points() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]


def test_the_entry_point_is_declared_under_the_name_p_uses():
    """pytest skips an entry point whose name is already a registered plugin's: named as the module,
    `-p grader.pytest_plugin` and the entry point register it once, under one name."""
    assert _declared_entry_points() == {"grader.pytest_plugin": "grader.pytest_plugin"}


# pytest run in a process whose installed distributions are only this project, with the entry point
# pyproject.toml declares (the environment's install may predate it).
AS_INSTALLED = r"""
import importlib.metadata, sys, pytest

class Installed(importlib.metadata.Distribution):
    def read_text(self, filename):
        return {"METADATA": "Metadata-Version: 2.1\nName: nbgrade-dnn\nVersion: 0.1.0\n",
                "entry_points.txt": sys.argv[1]}.get(filename)
    def locate_file(self, path):
        return path
importlib.metadata.distributions = lambda **kwargs: iter([Installed()])
sys.exit(pytest.main(sys.argv[2:]))
"""


@pytest.mark.parametrize("plugin_args", [["-p", "grader.pytest_plugin"], []], ids=["with -p", "entry point only"])
def test_p_with_the_entry_point_registered_loads_the_plugin_once(tmp_path, plugin_args):
    entry_points = "[pytest11]\n" + "".join(f"{name} = {value}\n" for name, value in _declared_entry_points().items())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            AS_INSTALLED,
            entry_points,
            *plugin_args,
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--rootdir",
            str(tmp_path),
            "--grade",
            str(tmp_path / "nowhere.ipynb"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # the plugin ran (its usage error for a missing notebook), and nothing was registered twice
    assert done.returncode == 4 and "no such notebook file" in done.stderr, done.stderr[-2000:]
    assert "already registered" not in done.stderr


def test_the_solution_passes_every_case_item(graded):
    done, cases = graded["solution"]
    assert done.returncode == 0, done.stdout[-2000:]
    assert len(cases) == 16
    assert "two_layer_model::public-1" in cases and "L_layer_model::five-layers" in cases
    assert all(c.find("failure") is None and c.find("error") is None for c in cases.values())
    assert "grader: graded" in done.stdout  # says whether the sandbox was used


def _masked(text: str) -> str:
    return re.sub(r"[-+0-9.e]+", "#", text)


def test_the_blank_notebook_fails_each_item_with_the_feedbacks_text(graded):
    from grader.grading import GradeOptions, grade_one
    from grader.judge.expected import ExpectedValues
    from grader.pytest_plugin import item_name
    from grader.render.feedback import case_text

    done, cases = graded["blank"]
    assert done.returncode == 1
    assert len(cases) == 16
    failures = {name: case.find("failure") for name, case in cases.items()}
    assert all(f is not None for f in failures.values())
    # The same notebook graded in-process (the released one: the course's own code, no sandbox needed):
    assignment = load_assignment(ASSIGNMENT_DIR)
    report = grade_one(
        _blank_path(graded), assignment, ExpectedValues(assignment), GradeOptions(sandbox=proven_sandbox())
    )
    for verdict in report.cases:
        shown = failures[item_name(verdict)].text or ""
        assert shown.splitlines()[0] == case_text(verdict).splitlines()[0]
        assert _masked(case_text(verdict)) in _masked(shown)  # numbers only within a run's own rounding


def _blank_path(graded):
    done, _ = graded["blank"]
    return next(p for p in done.args if str(p).endswith("dnn_app.ipynb"))


def test_without_grade_the_plugin_collects_nothing_of_its_own(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    done = run_pytest(tmp_path, "-q")
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def test_a_missing_notebook_is_a_usage_error_not_a_traceback(tmp_path):
    done = run_pytest(tmp_path, "--grade", str(tmp_path / "nowhere.ipynb"))
    assert done.returncode == 4
    assert "no such notebook file" in done.stderr and "Traceback" not in done.stderr
