"""`grader gradescope`: the autograder.zip, unpacked into a folder laid out like Gradescope's
(/autograder, moved by GRADER_GRADESCOPE_ROOT), set up with its own setup.sh (cheaply: a venv
over the installed dependencies, the bundled wheel installed without them), then run_autograder on
five submissions. Every results.json is checked against Gradescope's documented format
(gradescope-autograders.readthedocs.io, "Autograder Specifications": results.json)."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from grader.assignment.manifest import load_assignment
from grader.assignment.released import released_notebook
from tests.conftest import ASSIGNMENT_DIR, ROOT

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_KEYS = {"score": (int, float), "execution_time": (int, float), "output": str, "output_format": str,
            "test_output_format": str, "test_name_format": str, "visibility": str, "stdout_visibility": str,
            "extra_data": dict, "tests": list, "leaderboard": list}
TEST_KEYS = {"score": (int, float), "max_score": (int, float), "status": str, "name": str, "name_format": str,
             "number": str, "output": str, "output_format": str, "tags": list, "visibility": str,
             "extra_data": dict}


def schema_problems(document: dict) -> list[str]:
    """What in a results.json does not follow Gradescope's specification."""
    problems = []
    if not isinstance(document, dict):
        return ["not a JSON object"]
    if "score" not in document and not all("score" in t for t in document.get("tests", [])):
        problems.append("no score, and not every test has one")
    for key, value in document.items():
        if key not in TOP_KEYS:
            problems.append(f"unknown key {key}")
        elif not isinstance(value, TOP_KEYS[key]) or isinstance(value, bool):
            problems.append(f"{key} has the wrong type")
    for key in ("visibility", "stdout_visibility"):
        if key in document and document[key] not in VISIBILITIES:
            problems.append(f"{key}={document[key]!r}")
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in document and document[key] not in FORMATS:
            problems.append(f"{key}={document[key]!r}")
    for test in document.get("tests", []):
        for key, value in test.items():
            if key not in TEST_KEYS:
                problems.append(f"test key {key}")
            elif not isinstance(value, TEST_KEYS[key]) or isinstance(value, bool):
                problems.append(f"test {key} has the wrong type")
        if test.get("status", "passed") not in {"passed", "failed"}:
            problems.append(f"test status {test['status']!r}")
        if test.get("visibility", "visible") not in VISIBILITIES:
            problems.append(f"test visibility {test['visibility']!r}")
    return problems


def test_the_schema_check_is_not_vacuous():
    assert schema_problems({"score": 1, "tests": [{"status": "ok", "visibility": "later"}], "x": 1}) == [
        "unknown key x", "test status 'ok'", "test visibility 'later'"]


SCENARIOS = ("solution", "blank", "not_a_notebook", "two_notebooks", "no_notebook")


def _fill(submission, scenario, tmp):
    solution = ASSIGNMENT_DIR / "dnn_app_solution.ipynb"
    blank = tmp / "blank.ipynb"
    nbformat.write(released_notebook(load_assignment(ASSIGNMENT_DIR)), blank)
    if scenario == "solution":
        shutil.copy(solution, submission / "dnn_app.ipynb")
    elif scenario == "blank":
        shutil.copy(blank, submission / "dnn_app.ipynb")
    elif scenario == "not_a_notebook":
        (submission / "dnn_app.ipynb").write_text("my answers are in the PDF\n")
    elif scenario == "two_notebooks":
        shutil.copy(solution, submission / "mine.ipynb")
        shutil.copy(blank, submission / "old.ipynb")
    elif scenario == "no_notebook":
        (submission / "answers.pdf").write_bytes(b"%PDF-1.4\n")


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory):
    """Build, unpack, set up once; run every scenario; return {scenario: results.json document}."""
    tmp = tmp_path_factory.mktemp("gradescope")
    archive = tmp / "autograder.zip"
    built = subprocess.run([sys.executable, "-m", "grader", "gradescope", "--assignment", str(ASSIGNMENT_DIR),
                            "--out", str(archive)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    root = tmp / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # zipfile drops modes; Gradescope's unzip keeps them
        (root / "source" / name).chmod(0o755)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"GRADER_GRADESCOPE_ROOT": str(root), "GRADER_SKIP_APT": "1", "GRADER_SKIP_REQUIREMENTS": "1",
            "GRADER_VENV_FLAGS": "--system-site-packages --without-pip"}
    setup = subprocess.run(["bash", "setup.sh"], cwd=root / "source", env=env, capture_output=True, text=True,
                           timeout=120)
    assert setup.returncode == 0, setup.stderr
    results = {}
    for scenario in SCENARIOS:
        shutil.rmtree(root / "submission", ignore_errors=True)
        shutil.rmtree(root / "results", ignore_errors=True)
        (root / "submission").mkdir()
        _fill(root / "submission", scenario, tmp)
        done = subprocess.run([str(root / "run_autograder")], cwd=tmp, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        results[scenario] = json.loads((root / "results" / "results.json").read_text())
    return {"root": root, "results": results, "archive": archive}


def test_the_bundle_holds_setup_run_and_the_instructor_side(gradescope):
    names = set(zipfile.ZipFile(gradescope["archive"]).namelist())
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= names
    assert any(n.startswith("wheels/") and n.endswith(".whl") for n in names)
    for name in ("cases.py", "expected.npz", "mistakes.py", "mistakes_expected.npz"):
        assert f"tree/assignments/dnn_app/{name}" in names
    assert "tree/reference/expected.py" in names  # cases.py imports it through instructor_path
    assert not any("__pycache__" in n for n in names)
    pinned = zipfile.ZipFile(gradescope["archive"]).read("requirements.txt").decode().split()
    assert any(line.startswith("numpy==") for line in pinned)


def test_the_grader_runs_from_the_installed_wheel(gradescope):
    venv_python = gradescope["root"] / "venv" / "bin" / "python"
    where = subprocess.run([str(venv_python), "-c", "import grader; print(grader.__file__)"], cwd="/",
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert str(gradescope["root"] / "venv") in where.stdout


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_submission_gets_a_valid_results_json(gradescope, scenario):
    assert schema_problems(gradescope["results"][scenario]) == []


def test_the_solution_scores_full_marks_and_hides_hidden_cases_until_published(gradescope):
    document = gradescope["results"]["solution"]
    assert document["score"] == pytest.approx(100)
    assert len(document["tests"]) == 16 and all(t["status"] == "passed" for t in document["tests"])
    visibility = {t["visibility"] for t in document["tests"] if "hidden" in t["tags"]}
    assert visibility == {"after_published"}
    assert {t["visibility"] for t in document["tests"] if "public" in t["tags"]} == {"visible"}
    isolated = document["extra_data"]["isolated"]
    assert document["extra_data"]["isolation"].startswith("bubblewrap" if isolated else "none beyond the container")
    from grader.kernel.sandbox import choose_sandbox

    if choose_sandbox(disabled=False) is not None:  # bubblewrap works here: so it must from the wheel install
        assert isolated, document["extra_data"]["isolation"]


def test_the_blank_notebook_fails_with_the_graders_messages(gradescope):
    document = gradescope["results"]["blank"]
    assert document["score"] == 0
    assert all(t["status"] == "failed" for t in document["tests"])
    assert all(t["output"].count("\n") >= 1 for t in document["tests"])  # a message under the verdict


def test_a_file_that_is_not_a_notebook_is_said_clearly(gradescope):
    document = gradescope["results"]["not_a_notebook"]
    assert document["score"] == 0 and document["extra_data"]["status"] == "invalid"
    assert "notebook" in document["output"].lower() and "Traceback" not in document["output"]


def test_two_notebooks_are_refused_by_name(gradescope):
    document = gradescope["results"]["two_notebooks"]
    assert document["score"] == 0
    assert "mine.ipynb" in document["output"] and "old.ipynb" in document["output"]
    assert "dnn_app.ipynb" in document["output"]


def test_no_notebook_says_what_was_found_and_what_to_upload(gradescope):
    document = gradescope["results"]["no_notebook"]
    assert document["score"] == 0
    assert "answers.pdf" in document["output"] and "dnn_app.ipynb" in document["output"]


def test_the_installed_wheel_registers_the_pytest_plugin(gradescope):
    """A fresh install (the bundle's wheel) loads `pytest --grade` through its pytest11 entry point."""
    venv_python = gradescope["root"] / "venv" / "bin" / "python"
    shown = subprocess.run([str(venv_python), "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd="/",
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=120)
    assert "--grade=NOTEBOOK" in shown.stdout, shown.stderr[-2000:]
