"""`grader gradescope`: the autograder.zip, unpacked into a folder laid out like Gradescope's
(/autograder, moved by GRADER_GRADESCOPE_ROOT) and set up by its own setup.sh as root
(tests/gradescope_install.py), then run_autograder on submissions in the two containers Gradescope
gives: one where bubblewrap runs, and the usual one where it cannot (GRADER_BWRAP=none), so that
kernels run as the unprivileged account grader-kernel. Every results.json is checked against
Gradescope's documented format (gradescope-autograders.readthedocs.io, "Autograder
Specifications": results.json)."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.assignment.manifest import load_assignment
from grader.assignment.released import released_notebook
from grader.kernel.account import living_processes
from tests.fixtures import ASSIGNMENT_DIR, ROOT
from tests.gradescope_install import run_autograder, tree_state

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_KEYS = {
    "score": (int, float),
    "execution_time": (int, float),
    "output": str,
    "output_format": str,
    "test_output_format": str,
    "test_name_format": str,
    "visibility": str,
    "stdout_visibility": str,
    "extra_data": dict,
    "tests": list,
    "leaderboard": list,
}
TEST_KEYS = {
    "score": (int, float),
    "max_score": (int, float),
    "status": str,
    "name": str,
    "name_format": str,
    "number": str,
    "output": str,
    "output_format": str,
    "tags": list,
    "visibility": str,
    "extra_data": dict,
}


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
        "unknown key x",
        "test status 'ok'",
        "test visibility 'later'",
    ]


SCENARIOS = ("solution", "blank", "not_a_notebook", "two_notebooks", "no_notebook")
ACCOUNT_SCENARIOS = ("solution", "blank", "hostile")
NO_BUBBLEWRAP = {"GRADER_BWRAP": "none"}  # as in an unprivileged container, where bubblewrap cannot run
HOSTILE_SETUP = """
import json, os, subprocess, sys
root, found = {root!r}, {{"uid": os.getuid()}}
def attempt(name, action):
    try:
        action()
        found[name] = "done"
    except Exception as error:
        found[name] = type(error).__name__
attempt("read_expected", lambda: open(root + "/source/tree/assignments/dnn_app/expected.npz", "rb").read(1))
attempt("read_cases", lambda: open(root + "/source/tree/assignments/dnn_app/cases.py").read(1))
attempt("write_results", lambda: open(root + "/results/results.json", "w").write('{{"score": 100}}'))
attempt("write_grader", lambda: open(subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"],
        capture_output=True, text=True).stdout.strip(), "a").write("# changed by a student"))
attempt("write_venv", lambda: open(root + "/venv/bin/planted", "w").write("x"))
attempt("write_source", lambda: open(root + "/source/planted", "w").write("x"))
attempt("read_metadata", lambda: open(root + "/submission_metadata.json").read(1))
open("/tmp/grader-left-behind", "w").write("x")  # removed once the account has no process left
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3); open({root!r} + '/results/results.json', 'w')"
                  ".write('{{}}')"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# The stopper: SIGSTOPs each new child of the grader it may signal (a killer running as the account
# would be one), so that it survives the kill and rewrites results.json.
subprocess.Popen([sys.executable, "-c", STOPPER, str(os.getppid()), str(os.getpid()), {root!r}],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open({report!r}, "w").write(json.dumps(found))
"""
STOPPER = """
import os, signal, sys, time
grader, kernel, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seen, end = set(), time.monotonic() + 20
while time.monotonic() < end:
    try:
        children = set(map(int, open(f"/proc/{grader}/task/{grader}/children").read().split()))
    except OSError:
        break
    for pid in children - seen - {kernel}:
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            pass
    seen = children
    time.sleep(0.001)
time.sleep(2)
open(root + "/results/results.json", "w").write("{}")
"""


def _notebooks(tmp) -> dict[str, bytes]:
    solution = (ASSIGNMENT_DIR / "dnn_app_solution.ipynb").read_bytes()
    blank = released_notebook(load_assignment(ASSIGNMENT_DIR))
    return {"solution": solution, "blank": nbformat.writes(blank).encode()}


def _hostile(root, report) -> bytes:
    assignment = load_assignment(ASSIGNMENT_DIR)
    notebook = released_notebook(assignment)
    setup = next(cell for cell in notebook.cells if assignment.setup_marker in cell.source)
    setup.source += "\n" + f"STOPPER = {STOPPER!r}\n" + HOSTILE_SETUP.format(root=str(root), report=str(report))
    return nbformat.writes(notebook).encode()


def _files(scenario: str, notebooks: dict[str, bytes]) -> dict[str, bytes]:
    if scenario in notebooks:
        return {"dnn_app.ipynb": notebooks[scenario]}
    if scenario == "not_a_notebook":
        return {"dnn_app.ipynb": b"my answers are in the PDF\n"}
    if scenario == "two_notebooks":
        return {"mine.ipynb": notebooks["solution"], "old.ipynb": notebooks["blank"]}
    return {"answers.pdf": b"%PDF-1.4\n"}


@pytest.fixture(scope="module")
def gradescope(gradescope_root, sandbox, tmp_path_factory):
    """Every scenario run once in the sandbox; returns {scenario: results.json document}."""
    notebooks = _notebooks(tmp_path_factory.mktemp("notebooks"))
    results = {}
    for scenario in SCENARIOS:
        results[scenario], done = run_autograder(gradescope_root, _files(scenario, notebooks))
        assert done.returncode == 0, done.stderr
    return {"root": gradescope_root, "results": results}


@pytest.fixture(scope="module")
def without_bubblewrap(gradescope_root, tmp_path_factory):
    """The usual Gradescope container: bubblewrap cannot run, so kernels run as grader-kernel."""
    from grader.kernel.account import find_account

    account = find_account("grader-kernel")
    notebooks = _notebooks(tmp_path_factory.mktemp("notebooks"))
    report = Path(tempfile.mkdtemp(prefix="grader-hostile-", dir="/tmp")) / "found.json"
    report.parent.chmod(0o777)
    notebooks["hostile"] = _hostile(gradescope_root, report)
    venv_before = tree_state(gradescope_root / "venv")
    results, runs = {}, {}
    for scenario in ACCOUNT_SCENARIOS:
        results[scenario], runs[scenario] = run_autograder(
            gradescope_root, _files(scenario, notebooks), **NO_BUBBLEWRAP
        )
        runs[scenario + ":left"] = living_processes(account.uid)
        runs[scenario + ":files"] = os.path.lexists("/tmp/grader-left-behind")
    time.sleep(4)  # the hostile daemon, had it survived, would have rewritten results.json by now
    hostile_after = json.loads((gradescope_root / "results" / "results.json").read_text())
    found = json.loads(report.read_text()) if report.exists() else {}
    shutil.rmtree(report.parent, ignore_errors=True)
    return {
        "root": gradescope_root,
        "results": results,
        "runs": runs,
        "account": account,
        "found": found,
        "hostile_after": hostile_after,
        "venv_before": venv_before,
        "venv_after": tree_state(gradescope_root / "venv"),
    }


def test_the_bundle_holds_setup_run_and_the_instructor_side(tmp_path):
    archive = tmp_path / "autograder.zip"
    built = subprocess.run(
        [sys.executable, "-m", "grader", "gradescope", "--assignment", str(ASSIGNMENT_DIR), "--out", str(archive)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= names
    assert any(n.startswith("wheels/") and n.endswith(".whl") for n in names)
    for name in ("cases.py", "expected.npz", "mistakes.py", "mistakes_expected.npz"):
        assert f"tree/assignments/dnn_app/{name}" in names
    assert "tree/reference/expected.py" in names  # cases.py imports it through instructor_path
    assert not any("__pycache__" in n for n in names)
    pinned = zipfile.ZipFile(archive).read("requirements.txt").decode().split()
    assert any(line.startswith("numpy==") for line in pinned)


def test_setup_makes_the_account_and_locks_the_instructors_side(gradescope_root):
    from grader.kernel.account import find_account

    account = find_account("grader-kernel")
    assert account is not None and account.uid != 0
    assert stat.S_IMODE((gradescope_root / "source").stat().st_mode) == 0o700
    assert stat.S_IMODE((gradescope_root / "results").stat().st_mode) == 0o755
    writable = [p for p in (gradescope_root / "venv").rglob("*") if not p.is_symlink() and p.stat().st_mode & 0o022]
    assert writable == []


def test_the_grader_runs_from_the_installed_wheel(gradescope_root):
    venv_python = gradescope_root / "venv" / "bin" / "python"
    where = subprocess.run(
        [str(venv_python), "-c", "import grader; print(grader.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert str(gradescope_root / "venv") in where.stdout


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
    assert document["extra_data"]["isolated"] is True
    assert document["extra_data"]["isolation"].startswith("bubblewrap sandbox")


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


def test_without_bubblewrap_kernels_run_as_the_account_and_grade_the_same(without_bubblewrap):
    results, account = without_bubblewrap["results"], without_bubblewrap["account"]
    assert results["solution"]["score"] == pytest.approx(100)
    assert results["blank"]["score"] == 0 and results["hostile"]["score"] == 0
    for scenario in ACCOUNT_SCENARIOS:
        assert schema_problems(results[scenario]) == []
        assert "extra_data" in results[scenario], (scenario, results[scenario]["output"])
        extra = results[scenario]["extra_data"]
        assert extra["isolated"] is True, extra
        assert extra["isolation"] == f"dedicated unprivileged account grader-kernel (uid {account.uid}), no sandbox"
        assert without_bubblewrap["runs"][scenario].returncode == 0, without_bubblewrap["runs"][scenario].stderr


def test_without_bubblewrap_the_kernel_reads_and_changes_nothing_of_the_graders(without_bubblewrap):
    found = without_bubblewrap["found"]
    assert found.get("uid") == without_bubblewrap["account"].uid != 0, found
    attempts = {name: outcome for name, outcome in found.items() if name != "uid"}
    assert attempts and set(attempts.values()) == {"PermissionError"}, attempts
    assert without_bubblewrap["venv_after"] == without_bubblewrap["venv_before"]
    assert not (without_bubblewrap["root"] / "source" / "planted").exists()


def test_without_bubblewrap_nothing_the_kernel_started_outlives_it(without_bubblewrap):
    for scenario in ACCOUNT_SCENARIOS:
        assert without_bubblewrap["runs"][scenario + ":left"] == [], scenario
        assert without_bubblewrap["runs"][scenario + ":files"] is False, scenario
    assert without_bubblewrap["hostile_after"] == without_bubblewrap["results"]["hostile"]


def test_without_bubblewrap_or_the_account_nothing_runs(gradescope_root):
    """Neither isolation: results.json says so, the exit status is 2, and no kernel ran."""
    document, done = run_autograder(
        gradescope_root,
        {"dnn_app.ipynb": (ASSIGNMENT_DIR / "dnn_app_solution.ipynb").read_bytes()},
        GRADER_KERNEL_ACCOUNT="no-such-account",
        **NO_BUBBLEWRAP,
    )
    assert done.returncode == 2 and document["score"] == 0 and document["tests"] == []
    assert "bubblewrap is turned off" in document["output"] and "no-such-account" in document["output"]
    assert schema_problems(document) == []


def test_the_installed_wheel_registers_the_pytest_plugin(gradescope_root):
    """A fresh install (the bundle's wheel) loads `pytest --grade` through its pytest11 entry point."""
    venv_python = gradescope_root / "venv" / "bin" / "python"
    probe = subprocess.run([str(venv_python), "-c", "import pytest"], capture_output=True)
    if probe.returncode != 0:  # pytest is not among the grader's requirements: bring it in for this test
        subprocess.run([str(venv_python), "-m", "pip", "install", "--quiet", "pytest"], check=True, timeout=300)
    shown = subprocess.run(
        [str(venv_python), "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd="/",
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert "--grade=NOTEBOOK" in shown.stdout, shown.stderr[-2000:]
