"""The command line: which assignment a verb uses when none is named, the limits' one set of
defaults, the statuses' string values, instructor modules loaded by path, and `grader bench`
running with nothing but the grader package on the path."""

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

from grader import cli
from grader.assignment.locate import find_assignment
from grader.assignment.manifest import DEFAULT_LIMITS, AssignmentError, load_assignment
from grader.errors import GraderError, UserError
from grader.kernel.session import KernelLimits
from grader.records import CaseStatus, CellStatus, Limits, SubmissionStatus
from grader.verbs.release import build_release
from tests.conftest import ASSIGNMENT_DIR, ROOT


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder, _ = build_release(load_assignment(ASSIGNMENT_DIR), tmp_path_factory.mktemp("cli") / "bundle", None)
    return folder


def test_without_an_assignment_the_command_says_how_to_name_one(tmp_path, monkeypatch, capsys):
    """Even from the checkout, which holds an assignment folder: no default path is guessed."""
    monkeypatch.chdir(ROOT)
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "mine.ipynb")
    assert cli.main(["check", str(tmp_path / "mine.ipynb"), "--no-sandbox"]) == 2
    error = capsys.readouterr().err
    assert "no assignment.toml beside or above" in error and "--assignment DIR" in error and "Traceback" not in error


def test_the_nearest_manifest_above_the_notebook_is_the_assignment(tmp_path):
    folder = shutil.copytree(ASSIGNMENT_DIR, tmp_path / "course", ignore=shutil.ignore_patterns("*.npz", "images"))
    (folder / "students" / "alice").mkdir(parents=True)
    found = find_assignment(near=[folder / "students" / "alice" / "work.ipynb"])
    assert found.folder == folder.resolve()


def test_check_finds_the_bundle_but_grade_refuses_it(bundle, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    notebook = bundle / "dnn_app.ipynb"
    assert find_assignment(near=[notebook]).is_bundle
    assert cli.main(["grade", str(notebook), "--out", str(tmp_path / "out"), "--no-sandbox", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "release bundle" in error and "--assignment DIR" in error
    assert not (tmp_path / "out").exists()


def test_limits_have_one_set_of_defaults():
    assert KernelLimits is Limits
    assert DEFAULT_LIMITS == Limits().as_dict()
    assert Limits().overridden({"memory_mb": 512, "case_seconds": None, "unknown": 1}) == Limits(memory_mb=512)
    # The manifest's [limits] override the defaults; what it leaves out keeps them.
    assert load_assignment(ASSIGNMENT_DIR).limits["file_mb"] == Limits.file_mb


def test_statuses_keep_the_strings_results_and_the_gradebook_hold():
    assert {s.value for s in SubmissionStatus} == {"graded", "invalid", "error"}
    assert {s.value for s in CaseStatus} == {"passed", "failed", "timeout", "crashed", "error", "skipped"}
    assert {s.value for s in CellStatus} == {"ok", "error", "timeout", "died"}
    assert json.dumps({"status": CaseStatus.PASSED}) == '{"status": "passed"}' and CaseStatus.PASSED == "passed"


def test_every_error_the_grader_explains_derives_from_one_base():
    from grader.assignment.manifest import AssignmentError
    from grader.assignment.notebook import SubmissionError
    from grader.assignment.released import ReleaseError
    from grader.kernel.sandbox import SandboxError
    from grader.kernel.session import KernelStartError
    from grader.kernel.untrusted import UntrustedDataError
    from grader.reports.gradebook import GradebookError

    for error in (UserError, AssignmentError, ReleaseError, SubmissionError, SandboxError, KernelStartError,
                  UntrustedDataError, GradebookError):
        assert issubclass(error, GraderError), error


def _assignment_importing(tmp_path, declared: bool):
    folder = tmp_path / ("declared" if declared else "undeclared") / "course" / "hw1"
    (folder.parent / "shared").mkdir(parents=True)
    (folder.parent / "shared" / f"hw_helpers_{declared}.py").write_text("ANSWER = 42\n")
    folder.mkdir()
    path_line = 'instructor_path = ["../shared"]\n' if declared else ""
    (folder / "assignment.toml").write_text(f'[assignment]\nname = "hw1_{declared}"\n{path_line}\n'
                                            '[[function]]\nname = "f"\n')
    (folder / "cases.py").write_text(textwrap.dedent(f"""
        from hw_helpers_{declared} import ANSWER
        CASES = [{{"id": "a", "function": "f", "visibility": "visible", "description": str(ANSWER),
                   "recipe": {{}}}}]
    """))
    return load_assignment(folder)


def test_instructor_modules_import_only_from_the_folders_their_manifest_declares(tmp_path):
    assert _assignment_importing(tmp_path, declared=True).cases()[0]["description"] == "42"
    with pytest.raises(AssignmentError, match="ModuleNotFoundError"):  # named when the assignment loads
        _assignment_importing(tmp_path, declared=False)


def test_bench_runs_with_only_the_grader_package_on_the_path(tmp_path):
    """As from a wheel: a copy of grader/ alone, no dataset variable (the baseline is left out)."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "grader", site / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "grader", "bench", "--assignment", str(ASSIGNMENT_DIR),
                           "--submissions", "1", "--workers", "1", "--no-sandbox"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert figures["batch_submissions"] == 1 and figures["submissions_per_minute"] > 0
    assert figures["core_seconds_per_submission"] > 0
    assert figures["cpu_seconds_per_submission"] > 0.1  # at least the kernel's start, sampled below the bench
    if importlib.util.find_spec("distributed"):  # the same batch on a LocalCluster
        assert figures["dask_submissions_per_minute"] > 0 and figures["dask_vs_pool_throughput"] > 0
        assert figures["dask_cpu_seconds_per_submission"] > 0.1 and figures["dask_vs_pool_cpu"] > 0
    assert "none: pass --data or set" in figures["baseline_data"]
