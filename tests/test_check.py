"""`grader check`: the student's self-check, from the instructor's folder and from a release bundle."""

import re
import shutil

import pytest

from grader import cli
from grader.model import CaseStatus, CaseVerdict, Finding, SubmissionReport, SubmissionStatus, Visibility
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.model.notes import Text
from grader.model.report import FindingRule
from grader.render.console import Style as _Style
from grader.render.console import print_report
from grader.verbs.release import build_release
from tests import notebook_edits as edits
from tests.fixtures import ASSIGNMENT_DIR

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

ESCAPE = "\033["


def check(capsys, *argv):
    """Run `grader check` (in the sandbox); returns (status, stdout)."""
    status = cli.main(["check", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from grader.assignment.manifest import load_assignment

    folder, _ = build_release(load_assignment(ASSIGNMENT_DIR), tmp_path_factory.mktemp("check") / "bundle", None)
    return folder


def test_the_solution_passes(capsys):
    status, out = check(capsys, edits.SOLUTION, "--assignment", ASSIGNMENT_DIR)
    assert status == 0, out
    assert "two_layer_model: passed (2 of 2 public cases)" in out
    assert "L_layer_model: passed (2 of 2 public cases)" in out
    assert "All 4 public cases passed" in out
    assert "not isolated" not in out  # in the sandbox: nothing to say
    assert ESCAPE not in out  # captured output is not a terminal: plain text
    assert "Warnings" not in out and "Problems" not in out
    assert len(out.splitlines()) <= 10


def test_the_released_notebook_fails_and_says_why_from_the_bundle_alone(bundle, capsys):
    """Inside a release bundle there is no cases module and no expected.npz: check still works."""
    assert not (bundle / "cases.py").exists() and not (bundle / "expected.npz").exists()
    status, out = check(capsys, bundle / "dnn_app.ipynb", "--assignment", bundle, "--color", "always")
    plain = re.sub(r"\033\[[0-9;]*m", "", out)
    assert status == 1, out
    assert ESCAPE in out  # --color always
    assert "two_layer_model: FAILED (0 of 2 public cases)" in plain
    assert "L_layer_model: FAILED (0 of 2 public cases)" in plain
    assert "raised NameError" in plain
    assert "fails the same way as the case above" in plain
    assert "0 of 4 public cases passed" in plain


def test_a_solved_notebook_in_the_bundle_passes_without_cases(bundle, tmp_path, capsys):
    student = tmp_path / "bundle"
    shutil.copytree(bundle, student)
    shutil.copy(edits.SOLUTION, student / "dnn_app.ipynb")
    status, out = check(capsys, student / "dnn_app.ipynb", "--assignment", student)
    assert status == 0, out
    assert "All 4 public cases passed" in out and "Warnings" not in out


def test_a_wrong_value_names_the_quantity_and_rules_come_as_warnings(tmp_path, capsys):
    # A hard-coded learning rate passes the first public case (rate 0.0075) but not the second (0.1);
    # the extra print breaks a submission rule without changing any returned value.
    notebook = edits.replace(
        edits.solution(),
        "two_layer_model",
        "parameters = update_parameters(parameters, grads, learning_rate)",
        "parameters = update_parameters(parameters, grads, 0.0075)",
    )
    notebook = edits.replace(
        notebook,
        "L_layer_model",
        "        grads = L_model_backward(AL, Y, caches)\n",
        "        grads = L_model_backward(AL, Y, caches)\n        print('here')\n",
    )
    index = edits.cell_position(notebook, "L_layer_model")
    line = edits.line_of(notebook, index, "print('here')")
    path = edits.write(notebook, tmp_path / "mine.ipynb")
    status, out = check(capsys, path, "--assignment", ASSIGNMENT_DIR, "--color", "never")
    assert status == 1, out
    assert "two_layer_model: FAILED (1 of 2 public cases)" in out
    assert "public test: learning rate 0.1, 3 iterations" in out
    assert "differs: expected" in out and ", got " in out
    assert "L_layer_model: passed (2 of 2 public cases)" in out
    assert "Warnings" in out and f"cell {index + 1}, line {line}: extra print statement" in out
    assert "3 of 4 public cases passed" in out


def test_a_file_that_is_not_a_notebook_cannot_be_graded(tmp_path, capsys):
    path = tmp_path / "essay.ipynb"
    path.write_text("Dear grader, here is my homework.")
    status, out = check(capsys, path, "--assignment", ASSIGNMENT_DIR)
    assert status == 2
    assert "is not a notebook" in out and "cannot be graded" in out
    assert check(capsys, tmp_path / "missing.ipynb", "--assignment", ASSIGNMENT_DIR)[0] == 2


def _report(verdicts, findings=(), problems=()):
    return SubmissionReport(
        name="n",
        path="n.ipynb",
        sha256="0",
        assignment="dnn_app",
        assignment_version="1",
        status=SubmissionStatus.GRADED,
        cases=list(verdicts),
        findings=list(findings),
        problems=[Text(p) for p in problems],
    )


def test_a_diagnosis_is_printed_in_at_most_five_lines(assignment, capsys, tmp_path):
    explanation = "The loop stops one iteration early, " * 12
    verdicts = [
        CaseVerdict(
            "two_layer_model/public-1",
            "two_layer_model",
            "first case",
            Visibility.VISIBLE,
            CaseStatus.FAILED,
            notes=[Text("costs has 3 entries, expected 1")],
            diagnosis=Diagnosis(DiagnosisKind.ADVICE, title="range(num_iterations - 1)", explanation=explanation),
        ),
        CaseVerdict("L_layer_model/public-1", "L_layer_model", "second case", Visibility.VISIBLE, CaseStatus.PASSED),
    ]
    findings = [Finding(FindingRule.TEXT, i, detail=f"extra cell number {i}") for i in range(12)]
    status = print_report(
        _report(verdicts, findings, ["cell 3 raised ValueError when run"]),
        assignment,
        tmp_path / "n.ipynb",
        not_isolated="",
        style=_Style(False),
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "costs has 3 entries, expected 1" in out
    cause = [line for line in out.splitlines() if "Likely cause" in line]
    assert cause and "range(num_iterations - 1)" in cause[0]
    start = out.splitlines().index(cause[0])
    shown = out.splitlines()[start : start + 5]
    assert all(line.startswith(" " * 8) for line in shown)
    assert shown[-1].rstrip().endswith("…") and "…" not in "".join(shown[:-1])  # five lines, then cut
    assert "not isolated" not in out
    assert "… and 4 more warnings" in out
    assert "Problems" in out and "cell 3 raised ValueError" in out
    assert out.index("Problems") < out.index("two_layer_model:")  # a failed cell explains the cases: first
