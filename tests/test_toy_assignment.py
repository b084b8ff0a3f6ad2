"""A second assignment needs a folder only: the toy assignment, graded end to end by the same engine.

Its four functions return a number, a dict of arrays, a tuple with a nested list (and print lines),
and take a dict argument. Wrong versions are generated from the solution, one edit each
(tests/toy_corpus.py); each must lose points on its own function only, with a message naming the
differing leaf exactly. The folder graded is the session's copy (`toy_dir`), with its generated data file.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.assignment.manifest import AssignmentError, load_assignment
from grader.cli import main
from grader.grading import GradeOptions, grade_one
from grader.judge.expected import ExpectedValues
from grader.model import Kind
from tests.fixtures import messages, proven_sandbox, said
from tests.toy_corpus import FUNCTIONS, WRONG, edited, write_wrong

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)


@pytest.fixture(scope="module")
def toy(toy_dir):
    return load_assignment(toy_dir)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The generated corpus: one notebook per wrong version, plus one that never returns."""
    folder = tmp_path_factory.mktemp("toy-corpus")
    write_wrong(folder)
    nbformat.write(
        edited("    w, b = 0.0, 0.0\n", "    w, b = 0.0, 0.0\n    while True:\n        pass\n", "fit_line"),
        folder / "endless.ipynb",
    )
    return folder


def _grade(path: Path, toy):
    return grade_one(path, toy, ExpectedValues(toy), GradeOptions(sandbox=proven_sandbox()))


def test_the_solution_scores_full_marks(toy, toy_dir):
    report = _grade(toy_dir / "toy_solution.ipynb", toy)
    assert report.score == report.max_score == 100, [(c.case_id, messages(c)) for c in report.cases]
    assert len(report.cases) == 8 and all(c.passed for c in report.cases)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_version_loses_points_on_its_function_only(toy, corpus, name):
    function, _, _, message, case_id = WRONG[name]
    report = _grade(corpus / f"{name}.ipynb", toy)
    for other in FUNCTIONS:
        assert (report.function_scores[other] == report.function_points[other]) == (other != function), other
    failed = next(c for c in report.cases if c.case_id == case_id)
    assert not failed.passed and any(m.startswith(message) for m in messages(failed, toy)), messages(failed, toy)
    assert failed.differences and all(isinstance(d.kind, Kind) for d in failed.differences)


def test_a_catalogued_mistake_is_named(toy, tmp_path):
    path = tmp_path / "summed.ipynb"
    nbformat.write(edited("np.mean(np.asarray(x) ** 2)", "np.sum(np.asarray(x) ** 2)", "mean_square"), path)
    report = _grade(path, toy)
    diagnoses = [c.diagnosis for c in report.cases if not c.passed]
    assert diagnoses and all(d.mistake == "sum-not-mean" for d in diagnoses), diagnoses
    assert diagnoses[0].place is not None and diagnoses[0].place.cell == 3


def test_the_assignments_own_advice_localises_a_first_loss(toy, tmp_path):
    path = tmp_path / "offset.ipynb"
    nbformat.write(edited("    w, b = 0.0, 0.0\n", "    w, b = 0.0, 1.0\n", "fit_line"), path)
    report = _grade(path, toy)
    public = next(c for c in report.cases if c.case_id == "fit_line/public")
    assert said(public)["title"].startswith("the first loss already differs")
    assert messages(public, toy)[0].startswith("losses[0] differs: expected ")


def test_an_endless_function_is_stopped(toy, corpus):
    report = _grade(corpus / "endless.ipynb", toy)
    statuses = {c.case_id: c.status for c in report.cases if c.function == "fit_line"}
    assert statuses["fit_line/public"] == "timeout" and set(statuses.values()) <= {"timeout", "skipped"}
    assert report.function_scores["fit_line"] == 0
    assert report.score == report.max_score - report.function_points["fit_line"]


def test_the_expected_values_are_current(toy_dir, capsys):
    assert main(["expected", "--check", "--assignment", str(toy_dir)]) == 0
    assert "expected values are current" in capsys.readouterr().out


def test_a_release_bundle_checks_the_solution(toy_dir, tmp_path, capsys):
    bundle = tmp_path / "bundle"
    assert main(["release", "--assignment", str(toy_dir), "--out", str(bundle)]) == 0
    assert (bundle / "toy.ipynb").is_file() and (bundle / "toy_data.h5").is_file()
    assert not (bundle / "mistakes.py").exists() and not (bundle / "toy_solution.ipynb").exists()
    assert "MISTAKE" not in (bundle / "toy.ipynb").read_text()
    capsys.readouterr()
    assert main(["check", str(toy_dir / "toy_solution.ipynb"), "--assignment", str(bundle), "--color", "never"]) == 0
    assert "All 4 public cases passed" in capsys.readouterr().out
    assert main(["check", str(bundle / "toy.ipynb"), "--assignment", str(bundle), "--color", "never"]) == 1


def test_a_case_without_a_function_is_named(toy_dir, tmp_path):
    import shutil

    folder = tmp_path / "toy"
    shutil.copytree(toy_dir, folder)
    manifest = folder / "assignment.toml"
    original = manifest.read_text()
    without = original.replace('id = "init_weights/deep"\nfunction = "init_weights"\n', 'id = "init_weights/deep"\n', 1)
    assert without != original, "the toy's manifest no longer has the layout this test edits"
    manifest.write_text(without)
    with pytest.raises(AssignmentError, match=r"\[\[case\]\] 'init_weights/deep': lacks the key 'function'"):
        load_assignment(folder)


def test_the_toy_is_a_solution_notebook_and_a_manifest(toy):
    """The new authoring form: no cases or reference module, the mistake a wrong copy in the notebook;
    mistakes.py keeps only what the manifest cannot say (ADVICE)."""
    from grader.judge.catalogue import load_catalogue

    assert toy.reference == "" and toy.cases_file == "" and len(toy.cases()) == 8
    catalogue = load_catalogue(toy)
    assert catalogue is not None and list(catalogue.mistakes) == ["sum-not-mean"]
    assert catalogue.module.MISTAKES == [] and catalogue.module.ADVICE
