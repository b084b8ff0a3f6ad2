"""The built wheel holds the grader and nothing secret: no reference, cases, expected values or solution.

The wheel is built by pip from a copy of the checkout (so the build leaves nothing in the real
one), and searched both by file name and by content: the solution's answer lines, the hidden
cases' descriptions and their expected numbers must appear in no file of it.
"""

import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from grader.judge.expected import ExpectedValues
from tests.fixtures import ASSIGNMENT_DIR, ROOT

pytestmark = pytest.mark.slow  # pip builds a wheel: no kernel, but too slow for the quick run

SECRET_NAMES = ("cases.py", "expected.npz", "mistakes.py", "public_tests_expected.json")


def answer_lines() -> list[str]:
    """The code the students must write, as the solution notebook has it (long lines only)."""
    notebook = nbformat.read(ASSIGNMENT_DIR / "dnn_app_solution.ipynb", as_version=4)
    lines = []
    for cell in notebook.cells:
        inside = False
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            if "YOUR CODE STARTS HERE" in line:
                inside = True
            elif "YOUR CODE ENDS HERE" in line:
                inside = False
            elif inside and len(line.strip()) > 25:
                lines.append(line.strip())
    return lines


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("checkout") / "project"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "output"
        ),
    )
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    built = list(out.glob("*.whl"))
    assert len(built) == 1, built
    return zipfile.ZipFile(built[0])


def test_wheel_holds_only_the_grader_package(wheel):
    names = wheel.namelist()
    assert any(name == "grader/kernel/sandbox.py" for name in names)  # the search below looks at a real wheel
    assert any(name == "grader/render/templates/feedback.html" for name in names)  # package data moved along
    # pyproject lists the subpackages: a new one left out of that list would be missing from the wheel.
    sources = {path.relative_to(ROOT).as_posix() for path in (ROOT / "grader").rglob("*.py")}
    assert sources - set(names) == set()
    outside = [n for n in names if not (n.startswith("grader/") or n.split("/")[0].endswith(".dist-info"))]
    assert outside == []
    secret = [n for n in names if n.rsplit("/", 1)[-1] in SECRET_NAMES or n.endswith((".ipynb", ".npz", ".h5"))]
    assert secret == []


def test_wheel_contains_no_answer_hidden_case_or_expected_value(wheel, assignment):
    answers = answer_lines()
    assert len(answers) >= 8, answers  # the solution notebook still marks its answers
    hidden = [case for case in assignment.cases() if case.visibility == "hidden"]
    assert hidden
    expected = ExpectedValues(assignment)
    numbers = []
    for case in hidden:
        costs = expected.for_case(case.id).parts["costs"]
        numbers += [repr(float(costs[0])), f"{float(costs[-1]):.10g}"]
    needles = answers + [case.description for case in hidden] + numbers
    found = []
    for name in wheel.namelist():
        text = wheel.read(name).decode("utf-8", "replace")
        found += [(name, needle) for needle in needles if needle in text]
    assert found == []
