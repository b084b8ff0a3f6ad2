"""The catalogue module (mistakes.py) is a checked contract: a slip in it is refused when it loads,
naming the file, the entry, the key and the fix; a hook that raises during grading is noted for the
instructor and changes no score; a module that imports its sibling says how (instructor_path)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.assignment.manifest import AssignmentError, load_assignment
from grader.judge.catalogue import load_catalogue
from grader.judge.compare import compare
from grader.judge.diagnose import diagnose
from grader.judge.expected import ExpectedValues
from grader.kernel.untrusted import result_of_value
from grader.model.diagnosis import DiagnosisBudget
from grader.model.notebook import CodeCell
from grader.model.notes import HookFailed
from grader.render.notes import hook_failed_text
from tests.fixtures import ROOT

REAL = [ROOT / "assignments" / "dnn_app", ROOT / "assignments" / "dnn_step_by_step", ROOT / "tests" / "toy_assignment"]

ENTRY = """
MISTAKES.append({
    "id": "extra",
    "title": "t",
    "explanation": "e",
    "fix": "f",
    "functions": ["mean_square"],
    "pattern": None,
    "variants": {"mean_square": lambda x: 0.0},
    %s
})
"""


@pytest.mark.parametrize("folder", REAL, ids=lambda p: p.name)
def test_the_real_catalogues_keep_the_contract_unchanged(folder):
    catalogue = load_catalogue(folder)
    assert catalogue is not None and catalogue.mistakes


@pytest.fixture
def toy(toy_dir, tmp_path) -> Path:
    folder = tmp_path / "toy"
    shutil.copytree(toy_dir, folder)
    return folder


def _refusal(folder: Path, addition: str) -> str:
    with (folder / "mistakes.py").open("a") as module:
        module.write(addition)
    with pytest.raises(AssignmentError) as refused:
        load_catalogue(folder)
    return str(refused.value)


def test_an_unknown_key_is_refused_with_the_entry_and_a_did_you_mean(toy):
    said = _refusal(toy, ENTRY % '"pattren": "x",')
    assert "mistakes.py" in said and "'extra'" in said and "'pattren'" in said and "did you mean 'pattern'" in said


def test_a_missing_key_names_the_entry_and_the_key(toy):
    said = _refusal(toy, "\nMISTAKES.append({'id': 'lonely', 'title': 't', 'explanation': 'e', 'functions': ['x']})\n")
    assert "'lonely'" in said and "lacks 'variants'" in said


def test_a_function_that_is_not_graded_is_refused(toy):
    said = _refusal(toy, (ENTRY % "").replace('["mean_square"]', '["mean_sqaure"]'))
    assert "'mean_sqaure'" in said and "did you mean 'mean_square'" in said


def test_advice_on_a_part_the_function_does_not_return_is_refused(toy):
    said = _refusal(toy, "\nADVICE.append({'part': 'loss', 'title': 't', 'explanation': 'e'})\n")
    assert "ADVICE[1]" in said and "'loss'" in said and "did you mean 'losses'" in said


def test_advice_with_an_unknown_difference_kind_is_refused(toy):
    said = _refusal(toy, "\nADVICE.append({'kind': 'shapes', 'title': 't', 'explanation': 'e'})\n")
    assert "'shapes'" in said and "did you mean 'shape'" in said


def test_a_family_without_family_outputs_is_refused(toy):
    family = "\nFAMILIES = [{'id': 'f', 'title': 't', 'explanation': 'e', 'functions': ['mean_square'],"
    said = _refusal(toy, family + " 'evidence': lambda source, function: None}]\n")
    assert "family_outputs" in said


def test_a_misspelled_table_name_is_refused(toy):
    said = _refusal(toy, "\nFAMILLIES = []\n")
    assert "FAMILLIES" in said and "did you mean 'FAMILIES'" in said


# --- hooks that raise during grading ---------------------------------------------------------------

RAISING_FAMILY = """
FAMILIES = [{
    "id": "scaled",
    "title": "scaled by {value}",
    "explanation": "e",
    "functions": ["mean_square"],
    "evidence": lambda source, function: {}["no such key"],
}]


def family_outputs(family_id, value, case, folder):
    raise AssertionError("never reached")
"""


def test_a_hook_that_raises_is_noted_for_the_instructor_and_the_verdict_stands(toy):
    with (toy / "mistakes.py").open("a") as module:
        module.write(RAISING_FAMILY)
    assignment = load_assignment(toy)
    case = next(c for c in assignment.cases() if c.function == "mean_square")
    expected = ExpectedValues(assignment).for_case(case.id)
    result = result_of_value(123.0)
    comparison = compare(case, expected, result, assignment.tolerance(case.function, case), ())
    budget = DiagnosisBudget(seconds=30.0, runs=4)
    cell = CodeCell(2, "# GRADED FUNCTION: mean_square\ndef mean_square(x):\n    return 123.0\n")
    diagnose(assignment, case, expected, result, comparison, cell, budget)  # never raises
    assert not comparison.passed
    assert budget.hook_failures == [HookFailed("evidence", "scaled", case.id, "KeyError", "'no such key'")]
    said = hook_failed_text(budget.hook_failures[0], "mistakes.py")
    assert "mistakes.py" in said and "evidence" in said and "'scaled'" in said and "KeyError" in said
    assert "score is unaffected" in said


def test_the_same_failure_is_noted_once_per_submission():
    budget = DiagnosisBudget(seconds=1.0, runs=1)
    for case in ("a", "b"):
        budget.hook_failed("fit", "rate", case, ValueError("bad"))
    assert [(n.hook, n.case) for n in budget.hook_failures] == [("fit", "a")]


def test_instructor_notes_travel_with_the_report_but_not_as_its_problems():
    from grader.model import SubmissionReport
    from grader.model.status import SubmissionStatus

    report = SubmissionReport("n", "p", "", "a", "1", SubmissionStatus.GRADED)
    report.instructor_notes.append(HookFailed("fit", "rate", "c", "ValueError", "bad"))
    again = SubmissionReport.from_dict(report.to_dict())
    assert again.instructor_notes == report.instructor_notes and again.problems == []


# --- a module that imports its sibling ------------------------------------------------------------


def test_a_sibling_import_names_the_file_the_module_and_instructor_path(toy):
    (toy / "helpers_of_mine.py").write_text("HELP = 1\n")
    with (toy / "mistakes.py").open("a") as module:
        module.write("\nimport helpers_of_mine\n")
    with pytest.raises(AssignmentError) as refused:
        load_catalogue(toy)
    said = str(refused.value)
    assert "mistakes.py" in said and "helpers_of_mine" in said and 'instructor_path = ["."]' in said
    manifest = (toy / "assignment.toml").read_text()
    (toy / "assignment.toml").write_text(manifest.replace("[assignment]\n", '[assignment]\ninstructor_path = ["."]\n'))
    assert load_catalogue(toy) is not None  # the fix it names works


def test_a_module_that_raises_names_the_file_and_the_line(toy):
    with (toy / "mistakes.py").open("a") as module:
        module.write("\nraise ValueError('half-written')\n")
    with pytest.raises(AssignmentError) as refused:
        load_catalogue(toy)
    assert "mistakes.py could not be loaded: ValueError (line" in str(refused.value)
    assert "half-written" in str(refused.value)
