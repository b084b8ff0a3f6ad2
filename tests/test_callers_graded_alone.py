"""A function's points reflect its own code: a caller of a failing graded function is graded as if
its callees were correct ([grading] callers = "alone", the default), by a second, isolated pass that
brings back pass or fail per case and nothing else (grader.grading.alone). `callers = "as-written"`
keeps the "fix it first" grading.

The kernel tests grade Step by Step notebooks with one missing `+ b` in linear_forward.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.assignment.manifest import AssignmentError, load_assignment
from grader.assignment.notebook import graded_name
from grader.grading import GradeOptions, grade_one
from grader.grading import alone as alone_pass
from grader.judge.expected import ExpectedValues
from grader.judge.scoring import score_report
from grader.model import CaseStatus, CaseVerdict, GradedFunction, SubmissionReport, SubmissionStatus, Visibility
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.render.diagnosis import diagnosis_words
from grader.render.feedback import gradescope_results, render_html, render_markdown
from tests.fixtures import proven_sandbox
from tests.step_by_step_corpus import ENTRIES, FOLDER, SOLUTION, build

MARKER = "SECRET-7f3a9c-solution-only"  # placed in the solution's linear_forward cell of a copy
CALLERS = ("linear_activation_forward", "L_model_forward")
# linear_activation_forward that reads every cell source it can find and prints, raises and returns it:
# the first relu call returns it; later relu calls answer rightly only when the solution's cell is there.
HOSTILE = """# GRADED FUNCTION: linear_activation_forward

_relu_calls = []


def linear_activation_forward(A_prev, W, b, activation):
    import inspect

    try:
        source = inspect.getsource(linear_forward)
    except Exception:
        source = ""
    try:
        source += "\\n".join(get_ipython().user_ns.get("In", []))
    except Exception:
        pass
    print(source)
    if activation == "sigmoid":
        raise ValueError(source)
    _relu_calls.append(1)
    if ("SECRET-7f3a9c" + "-solution-only") not in source or len(_relu_calls) == 1:
        return source, source
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = relu(Z)
    return A, (linear_cache, activation_cache)
"""


def _assignment_copy(tmp_path: Path, policy: str | None = None, marked: bool = False) -> Path:
    """The Step by Step folder copied, with a [grading] callers policy and a marker in the solution's
    linear_forward cell when asked."""
    folder = tmp_path / "sbs"
    shutil.copytree(FOLDER, folder)
    if policy is not None:
        manifest = folder / "assignment.toml"
        manifest.write_text(manifest.read_text() + f'\n[grading]\ncallers = "{policy}"\n')
    if marked:
        solution = folder / SOLUTION.name
        notebook = nbformat.read(solution, as_version=4)
        cell = _cell(notebook, "linear_forward")
        start = "    # YOUR CODE STARTS HERE"
        cell.source = cell.source.replace(start, f"    # {MARKER}\n{start}", 1)
        assert MARKER in cell.source
        nbformat.write(notebook, solution)
    return folder


def _cell(notebook: nbformat.NotebookNode, function: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.cell_type == "code" and graded_name(c.source) == function)


def _without_bias(path: Path, hostile: bool = False) -> Path:
    entry = next(e for e in ENTRIES if e.mistake == "forward-without-bias")
    notebook = build(entry, nbformat.read(SOLUTION, as_version=4))
    if hostile:
        _cell(notebook, "linear_activation_forward").source = HOSTILE
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def second_passes(monkeypatch) -> list[list[str]]:
    """The case ids of every second pass run in a fresh kernel."""
    runs: list[list[str]] = []
    real = alone_pass.passes_alone

    def counted(parsed, assignment, cases, *args):
        runs.append([case.id for case in cases])
        return real(parsed, assignment, cases, *args)

    monkeypatch.setattr(alone_pass, "passes_alone", counted)
    return runs


@pytest.fixture
def bound(monkeypatch) -> list[int]:
    """How many solution cells each binding in the as-written kernel ran."""
    binds: list[int] = []
    real = alone_pass._bind

    def counted(runner, sources):
        binds.append(len(sources))
        return real(runner, sources)

    monkeypatch.setattr(alone_pass, "_bind", counted)
    return binds


def _grade(path: Path, folder: Path = FOLDER) -> SubmissionReport:
    assignment = load_assignment(folder)
    return grade_one(path, assignment, ExpectedValues(assignment), GradeOptions(sandbox=proven_sandbox()))


def _lost(report: SubmissionReport) -> set[str]:
    return {name for name, points in report.function_points.items() if report.function_scores[name] < points}


@pytest.mark.kernel
def test_a_missing_bias_costs_its_own_function_only(tmp_path, second_passes, bound):
    report = _grade(_without_bias(tmp_path / "no-bias.ipynb"))
    assert report.score == 90 and _lost(report) == {"linear_forward"}
    callers = [c for c in report.cases if c.function in CALLERS]
    assert callers and all(c.status == CaseStatus.FAILED and c.alone is True and c.differences for c in callers)
    # No new kernel: in the as-written one, linear_forward is replaced for linear_activation_forward's
    # reruns, then linear_activation_forward too for L_model_forward's.
    assert not second_passes and bound == [1, 1]
    words = diagnosis_words(callers[0].diagnosis)
    assert words.title == "linear_activation_forward is right: as written it fails only because linear_forward does"
    html = render_html(report, load_assignment(FOLDER))
    assert "L_model_forward is right: as written it fails only because linear_forward does" in html


@pytest.mark.kernel
def test_as_written_keeps_todays_score_and_words_with_no_second_pass(tmp_path, second_passes, bound):
    folder = _assignment_copy(tmp_path, "as-written")
    report = _grade(_without_bias(tmp_path / "no-bias.ipynb"), folder)
    assert report.score == 70 and _lost(report) == {"linear_forward", *CALLERS}
    assert not second_passes and not bound and all(c.alone is None for c in report.cases)
    dependent = [c for c in report.cases if c.function == "linear_activation_forward"]
    today = "linear_activation_forward calls linear_forward, which fails its own cases"
    assert dependent and all(diagnosis_words(c.diagnosis).title == today for c in dependent)


@pytest.mark.kernel
def test_a_correct_notebook_runs_no_second_pass(tmp_path, second_passes, bound):
    shutil.copy(SOLUTION, tmp_path / "solution.ipynb")
    report = _grade(tmp_path / "solution.ipynb")
    assert report.score == 100 and not second_passes and not bound


@pytest.mark.kernel
def test_what_the_as_written_kernel_cannot_answer_runs_in_a_fresh_one(tmp_path, second_passes, monkeypatch):
    monkeypatch.setattr(alone_pass, "_bind", lambda runner, sources: False)  # as when a solution cell fails
    report = _grade(_without_bias(tmp_path / "no-bias.ipynb"))
    assert report.score == 90 and _lost(report) == {"linear_forward"}
    # One fresh kernel: linear_forward replaced; L_model_forward's result there stands, as the student's
    # linear_activation_forward passed all its reruns.
    assert len(second_passes) == 1 and all(c.alone is True for c in report.cases if c.function in CALLERS)


@pytest.mark.kernel
def test_nothing_of_the_second_pass_reaches_a_report(tmp_path, second_passes):
    folder = _assignment_copy(tmp_path, marked=True)
    assignment = load_assignment(folder)
    report = _grade(_without_bias(tmp_path / "hostile.ipynb", hostile=True), folder)
    alone = {c.case_id: c.alone for c in report.cases if c.function == "linear_activation_forward"}
    # The pass ran with the solution's cell, which the hostile code read: its relu calls answered rightly
    # only because they found the marker. Nothing else of that kernel came back.
    assert alone == {
        "linear_activation_forward/public_sigmoid": False,
        "linear_activation_forward/public_relu": True,
        "linear_activation_forward/relu_wider": True,
        "linear_activation_forward/sigmoid_single": False,
    }
    # linear_activation_forward's own reruns ran with the student's version; L_model_forward's with both
    # callees replaced.
    assert not second_passes and all(c.alone for c in report.cases if c.function == "L_model_forward")
    written = [
        json.dumps(report.to_dict()),
        render_html(report, assignment),
        render_markdown(report, assignment),
        json.dumps(gradescope_results(report, assignment)),
    ]
    assert "linear_forward" in written[1] and not [text for text in written if MARKER in text]


# --- without a kernel ------------------------------------------------------------------------------


def test_an_unknown_policy_is_refused_with_the_allowed_ones(tmp_path):
    folder = _assignment_copy(tmp_path, "alone-ish")
    with pytest.raises(AssignmentError, match=r"\[grading\]: callers = 'alone-ish'.*'alone' or 'as-written'"):
        load_assignment(folder)


def _verdict(function: str, number: int, passed: bool, alone: bool | None = None) -> CaseVerdict:
    status = CaseStatus.PASSED if passed else CaseStatus.FAILED
    return CaseVerdict(f"{function}/{number}", function, "a case", Visibility.HIDDEN, status, alone=alone)


def test_a_case_that_passes_alone_earns_its_points():
    report = SubmissionReport("s", "s.ipynb", "", "a", "1", SubmissionStatus.GRADED)
    report.cases = [_verdict("f", 1, False, alone=True), _verdict("f", 2, False, alone=False), _verdict("f", 3, True)]
    score_report(report, [GradedFunction("f", 9, ())])
    assert [c.score for c in report.cases] == [3, 0, 3] and report.score == 6


def test_the_plan_reruns_every_failing_caller_with_its_failing_callees_however_deep():
    assignment = load_assignment(FOLDER)
    report = SubmissionReport("s", "s.ipynb", "", "a", "1", SubmissionStatus.GRADED)
    failing = {"linear_forward", "linear_activation_forward", "L_model_forward", "compute_cost"}
    cases = assignment.cases()
    report.cases = [
        dataclasses.replace(_verdict(c.function, 1, c.function not in failing), case_id=c.id) for c in cases
    ]
    groups = alone_pass.plan(report, assignment, cases)
    assert {callees: {c.function for c in cases} for callees, cases in groups.items()} == {
        ("linear_forward",): {"linear_activation_forward"},
        ("linear_activation_forward", "linear_forward"): {"L_model_forward"},
    }


def test_the_words_say_whether_the_caller_is_right_on_its_own():
    def title(alone: bool | None) -> str:
        return diagnosis_words(Diagnosis(DiagnosisKind.CALLEE, function="g", callees=("f",), alone=alone)).title

    assert title(True) == "g is right: as written it fails only because f does"
    assert title(False) == "g fails even with a correct f"
    assert title(None) == "g calls f, which fails its own cases"


def test_without_reruns_the_caller_is_sent_where_a_fix_starts():
    """A self-check has no solution to rerun with: L_model_forward is told of linear_forward, the failing
    callee whose own callees pass, not of linear_activation_forward, which fails only through it."""
    from grader.grading.pipeline import _blamed

    assignment = load_assignment(FOLDER)
    failing = {"linear_forward", "linear_activation_forward", "L_model_forward"}
    assert _blamed(assignment, "L_model_forward", failing, failing, None) == ("linear_forward",)
    assert _blamed(assignment, "linear_activation_forward", failing, failing, None) == ("linear_forward",)
    # Wrong even with correct callees: every failing callee the rerun replaced is named.
    both = _blamed(assignment, "L_model_forward", failing, failing, False)
    assert set(both) == {"linear_forward", "linear_activation_forward"}


def _case(function: str, case_id: str, passed: bool, alone: bool | None) -> CaseVerdict:
    status = CaseStatus.PASSED if passed else CaseStatus.FAILED
    return CaseVerdict(case_id, function, "a case", Visibility.VISIBLE, status, alone=alone)


def test_a_function_wrong_even_alone_is_never_told_it_is_right():
    """linear_activation_backward with a wrong relu branch and a wrong linear_backward: its sigmoid case
    passes alone, its relu case does not. Neither case may say the function is right."""
    from grader.grading.pipeline import _blame_failing_callees

    assignment = load_assignment(FOLDER)
    report = SubmissionReport("s", "s.ipynb", "", "a", "1", SubmissionStatus.GRADED)
    report.cases = [
        _case("linear_backward", "linear_backward/public", False, None),
        _case("linear_activation_backward", "linear_activation_backward/sigmoid", False, True),
        _case("linear_activation_backward", "linear_activation_backward/relu", False, False),
    ]
    _blame_failing_callees(report, assignment)
    sigmoid, relu = (diagnosis_words(c.diagnosis).title for c in report.cases[1:])
    assert sigmoid == "linear_activation_backward calls linear_backward, which fails its own cases"
    assert relu == "linear_activation_backward fails even with a correct linear_backward"
    score_report(report, assignment.functions)
    statuses = [
        test["status"] for test in gradescope_results(report, assignment)["tests"] if "linear_act" in test["name"]
    ]
    assert statuses == ["passed", "failed"]  # the case that earns its points shows as passed on Gradescope
