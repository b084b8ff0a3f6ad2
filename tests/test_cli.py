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
from grader.assignment.manifest import AssignmentError, load_assignment
from grader.errors import GraderError, UserError
from grader.model import CaseStatus, CellStatus, Limits, SubmissionStatus
from grader.verbs.grade import grade
from grader.verbs.release import build_release
from tests.fixtures import ASSIGNMENT_DIR, ROOT, problem_texts, proven_sandbox

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder, _ = build_release(load_assignment(ASSIGNMENT_DIR), tmp_path_factory.mktemp("cli") / "bundle", None)
    return folder


def test_without_an_assignment_the_command_says_how_to_name_one(tmp_path, monkeypatch, capsys):
    """Even from the checkout, which holds an assignment folder: no default path is guessed."""
    monkeypatch.chdir(ROOT)
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "mine.ipynb")
    assert cli.main(["check", str(tmp_path / "mine.ipynb")]) == 2
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
    assert cli.main(["grade", str(notebook), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "release bundle" in error and "--assignment DIR" in error
    assert not (tmp_path / "out").exists()
    # Named explicitly, the bundle is refused too (it would grade the public cases only, as this version).
    assert cli.main(["grade", str(notebook), "--assignment", str(bundle), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "release bundle" in error and "hidden cases" in error
    assert not (tmp_path / "out").exists()
    with pytest.raises(UserError, match="release bundle"):  # the verb itself refuses it, for every batch path
        grade(assignment=find_assignment(bundle), paths=[notebook], out=tmp_path / "out")


def test_limits_have_one_set_of_defaults():
    assert Limits().overridden({"memory_mb": 512, "case_seconds": None}) == Limits(memory_mb=512)
    with pytest.raises(KeyError, match="unknown"):  # a name that is no limit is refused, not ignored
        Limits().overridden({"unknown": 1})
    # The manifest's [limits] override the defaults; what it leaves out keeps them.
    assert load_assignment(ASSIGNMENT_DIR).limits.file_mb == Limits.file_mb


def test_a_returned_part_named_like_one_of_the_graders_checks_is_refused(toy_dir, tmp_path):
    folder = shutil.copytree(toy_dir, tmp_path / "toy")
    manifest = folder / "assignment.toml"
    text = manifest.read_text()
    assert 'returns = ["coef", "losses"]' in text
    manifest.write_text(text.replace('returns = ["coef", "losses"]', 'returns = ["coef", "stdout"]'))
    with pytest.raises(AssignmentError, match=r"names a returned part 'stdout'.*rename that part in `returns`"):
        load_assignment(folder)


def test_a_misspelt_or_unusable_manifest_limit_is_refused_when_the_assignment_loads(toy_dir, tmp_path):
    folder = shutil.copytree(toy_dir, tmp_path / "toy")
    manifest = folder / "assignment.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace("[limits]\n", "[limits]\nfile_megabytes = 64\n"))
    with pytest.raises(AssignmentError, match=r"assignment.toml \[limits\]: unknown key 'file_megabytes'"):
        load_assignment(folder)
    manifest.write_text(text.replace("[limits]\n", "[limits]\nmemory_mb = 100\n"))
    with pytest.raises(AssignmentError, match=r"\[limits\] memory_mb 100: too small to start a kernel"):
        load_assignment(folder)


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
    from grader.store.gradebook import GradebookError

    for error in (
        UserError,
        AssignmentError,
        ReleaseError,
        SubmissionError,
        SandboxError,
        KernelStartError,
        UntrustedDataError,
        GradebookError,
    ):
        assert issubclass(error, GraderError), error


def _assignment_importing(tmp_path, declared: bool):
    folder = tmp_path / ("declared" if declared else "undeclared") / "course" / "hw1"
    (folder.parent / "shared").mkdir(parents=True)
    (folder.parent / "shared" / f"hw_helpers_{declared}.py").write_text("ANSWER = 42\n")
    folder.mkdir()
    path_line = 'instructor_path = ["../shared"]\n' if declared else ""
    (folder / "assignment.toml").write_text(
        f'[assignment]\nname = "hw1_{declared}"\ncases = "cases.py"\n{path_line}\n[[function]]\nname = "f"\n'
    )
    (folder / "cases.py").write_text(
        textwrap.dedent(f"""
        from hw_helpers_{declared} import ANSWER
        CASES = [{{"id": "a", "function": "f", "visibility": "visible", "description": str(ANSWER),
                   "recipe": {{}}}}]
    """)
    )
    return load_assignment(folder)


def test_instructor_modules_import_only_from_the_folders_their_manifest_declares(tmp_path):
    assert _assignment_importing(tmp_path, declared=True).cases()[0].description == "42"
    # named when the assignment loads
    with pytest.raises(AssignmentError, match="imports hw_helpers_False, which could not be found"):
        _assignment_importing(tmp_path, declared=False)


def test_bench_runs_with_only_the_grader_package_on_the_path(tmp_path):
    """As from a wheel: a copy of grader/ alone, no dataset variable (the baseline is left out)."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "grader", site / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "bench",
            "--assignment",
            str(ASSIGNMENT_DIR),
            "--submissions",
            "1",
            "--workers",
            "1",
            "--check-runs",
            "1",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert figures["batch_submissions"] == 1 and figures["submissions_per_minute"] > 0
    assert figures["core_seconds_per_submission"] > 0
    assert figures["cpu_seconds_per_submission"] > 0.1  # at least the kernel's start, sampled below the bench
    assert figures["check_seconds"] > figures["check_in_process_seconds"] > 0  # a fresh process starts, imports
    phases = figures["phases_cpu_seconds_per_submission"]  # measured in the workers, carried by the report
    assert phases["kernel_start"] > 0 and phases["cases"] > 0 and phases["grader_worker"] > 0
    assert sum(phases.values()) == pytest.approx(figures["cpu_seconds_per_submission"], abs=0.02)
    if importlib.util.find_spec("distributed"):  # the same batch on a LocalCluster
        assert figures["dask_submissions_per_minute"] > 0 and figures["dask_vs_pool_throughput"] > 0
        assert figures["dask_cpu_seconds_per_submission"] > 0.1 and figures["dask_vs_pool_cpu"] > 0
    assert "none: pass --data or set" in figures["baseline_data"]


SOLUTION = ASSIGNMENT_DIR / "dnn_app_solution.ipynb"


def _grade(tmp_path, *args: str) -> list[str]:
    return ["grade", "--assignment", str(ASSIGNMENT_DIR), "--out", str(tmp_path / "out"), "--quiet", *args]


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (["--memory-mb", "1"], ["--memory-mb 1: too small to start a kernel", "smallest accepted value is 512"]),
        (["--case-seconds", "0.1"], ["--case-seconds 0.1:", "smallest accepted value is 0.5"]),
    ],
)
@pytest.mark.parametrize("verb", ["grade", "check"])
def test_a_limit_too_small_to_grade_is_refused_up_front(tmp_path, capsys, option, words, verb):
    argv = (
        _grade(tmp_path, str(SOLUTION), *option)
        if verb == "grade"
        else ["check", str(SOLUTION), "--assignment", str(ASSIGNMENT_DIR), *option]
    )
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and all(w in captured.err for w in words), captured.err
    assert "Checking" not in captured.out and not (tmp_path / "out").exists()  # nothing was graded


def test_a_manifest_limit_too_small_is_refused_in_its_own_words(tmp_path, capsys):
    folder = shutil.copytree(ASSIGNMENT_DIR, tmp_path / "course", ignore=shutil.ignore_patterns("images"))
    manifest = folder / "assignment.toml"
    manifest.write_text(manifest.read_text().replace("memory_mb = 2048", "memory_mb = 100"))
    assert (
        cli.main(["grade", str(SOLUTION), "--assignment", str(folder), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    )
    assert "assignment.toml: [limits] memory_mb 100: too small to start a kernel" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value"), [("--case-seconds", "inf"), ("--submission-seconds", "nan")])
def test_a_limit_that_is_not_finite_is_refused_on_the_command_line(tmp_path, capsys, option, value):
    """inf left a case unbounded (both inf: a looping cell held the batch for ever); nan timed every case out."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(["check", str(SOLUTION), "--assignment", str(ASSIGNMENT_DIR), option, value])
    assert stopped.value.code == 2
    assert f"argument {option}: must be a finite number greater than 0, not {value}" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_a_manifest_limit_that_is_not_finite_is_refused(tmp_path, capsys, value):
    """inf would leave a case unbounded; nan passed every comparison and timed every case out at once."""
    folder = shutil.copytree(ASSIGNMENT_DIR, tmp_path / "course", ignore=shutil.ignore_patterns("images"))
    manifest = folder / "assignment.toml"
    manifest.write_text(manifest.read_text().replace("case_seconds = 20", f"case_seconds = {value}"))
    assert cli.main(["check", str(SOLUTION), "--assignment", str(folder)]) == 2
    assert (
        f"assignment.toml: [limits] case_seconds {value}: give a finite number greater than 0"
        in capsys.readouterr().err
    )


def test_a_kernel_that_cannot_start_under_a_small_memory_limit_blames_the_limit(assignment, tmp_path):
    """Accepted (not below the floor) but too small here: the row is the grader's error, naming the
    limit, whether the kernel died starting or could not import numpy."""
    from grader.grading import GradeOptions, grade_one
    from grader.judge.expected import ExpectedValues

    small = assignment.limits.overridden({"memory_mb": 450})
    report = grade_one(
        SOLUTION, assignment, ExpectedValues(assignment), GradeOptions(sandbox=proven_sandbox(), limits=small)
    )
    assert report.status == "error", problem_texts(report)
    assert any("memory limit of 450 MB" in problem for problem in problem_texts(report)), problem_texts(report)
    assert not any(v.status == "error" for v in report.cases)  # no case blames the student's function


class _FailingPool:
    """Stands in for the worker pool: the grader fails on every submission (an error row)."""

    def __init__(self, assignment, options, workers, staging, finish):
        self.assignment, self.options, self.finish = assignment, options, finish

    def run(self, submissions):
        from grader.batch.pool import unrun_report
        from grader.model import SubmissionStatus

        for submission in submissions:
            self.finish(
                submission,
                unrun_report(
                    submission,
                    self.assignment,
                    SubmissionStatus.ERROR,
                    "the grader failed (a test's stand-in)",
                    self.options,
                ),
            )


def test_grade_exit_statuses_say_whether_a_rerun_is_needed(tmp_path, monkeypatch, capsys):
    (tmp_path / "notes.txt").write_text("my answers are in the notebook\n")
    # a refused file has its verdict: exit 0, counted apart from the graded ones
    assert cli.main(_grade(tmp_path, str(tmp_path / "notes.txt"))) == 0
    assert (
        "graded 0, skipped 0 unchanged, refused 1 (not a gradable notebook), grader errors 0" in capsys.readouterr().out
    )
    # the grader failed on a submission: exit 1, and the line says to run again
    monkeypatch.setattr("grader.batch.run.Pool", _FailingPool)
    assert cli.main(_grade(tmp_path, str(SOLUTION), str(tmp_path / "notes.txt"))) == 1
    assert (
        "refused 0 (not a gradable notebook), grader errors 1 (run the same command again)" in capsys.readouterr().out
    )
    # bad input: exit 2, as `grader check` on a missing file
    assert cli.main(_grade(tmp_path, str(tmp_path / "missing.ipynb"))) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert cli.main(["check", str(tmp_path / "missing.ipynb"), "--assignment", str(ASSIGNMENT_DIR)]) == 2


def test_grade_help_states_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        cli.main(["grade", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 every submission has its verdict" in text and "1 the grader itself failed" in text
    assert "2 bad input" in text


@pytest.mark.parametrize("verb", ["grade", "check", "expected"])
def test_an_assignment_folder_that_does_not_exist_says_what_one_holds(tmp_path, capsys, verb):
    argv = {
        "grade": ["grade", str(SOLUTION), "--out", str(tmp_path / "out")],
        "check": ["check", str(SOLUTION)],
        "expected": ["expected"],
    }[verb]
    assert cli.main([*argv, "--assignment", str(tmp_path / "nowhere")]) == 2
    error = capsys.readouterr().err
    assert f"--assignment {tmp_path / 'nowhere'}: that folder does not exist" in error
    assert "must contain assignment.toml" in error and "Traceback" not in error
