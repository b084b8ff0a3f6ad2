"""Grading is fair to the student where a first user found it was not: the grader's own failure (a kernel
that cannot start) is not the student's, a whole-notebook run that cannot finish still grades the
functions, spacing outside the regions is no edit, cost messages count and index the whole list, and
same-named files keep their own names whatever the order."""

import nbformat
import pytest

from grader.grading import GradeOptions, grade_one
from grader.judge.compare import compare
from grader.judge.expected import ExpectedValues
from grader.kernel.untrusted import result_of_value
from tests import notebook_edits as edits
from tests.fixtures import by_rule, findings_of, problem_texts, proven_sandbox

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

TWO = "two_layer_model"


def test_a_kernel_that_cannot_start_is_the_graders_failure_not_the_students(assignment, tmp_path):
    path = edits.write(edits.solution(), tmp_path / "good.ipynb")
    tiny = assignment.limits.overridden({"memory_mb": 50})
    report = grade_one(
        path, assignment, ExpectedValues(assignment), GradeOptions(sandbox=proven_sandbox(), limits=tiny)
    )
    assert report.status == "error"  # so the gradebook grades it again on the next run
    assert any("could not start" in problem for problem in problem_texts(report))


def test_a_whole_notebook_run_that_cannot_finish_still_grades_the_functions(assignment, tmp_path, synthetic_data_dir):
    notebook = edits.solution()
    graded = {edits.cell_position(notebook, name) for name in (TWO, "L_layer_model")}
    setup = edits.position_of(notebook, "from dnn_app_utils_v3 import")
    notebook.cells = [cell for i, cell in enumerate(notebook.cells) if i in graded | {setup}]
    notebook.cells.insert(2, nbformat.v4.new_code_cell("while True:\n    pass"))
    path = edits.write(notebook, tmp_path / "stuck.ipynb")
    report = grade_one(
        path,
        assignment,
        ExpectedValues(assignment),
        GradeOptions(
            sandbox=proven_sandbox(),
            execute_all=True,
            data_dir=synthetic_data_dir,
            limits=assignment.limits.overridden({"submission_seconds": 45}),
        ),
    )
    assert report.score == pytest.approx(100), problem_texts(report)
    assert any("whole notebook could not be run" in problem for problem in problem_texts(report))


def test_spacing_outside_the_regions_is_not_an_edit(assignment):
    notebook = edits.replace(
        edits.solution(),
        TWO,
        "dA2 = - (np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))",
        "dA2 = -(np.divide(Y, A2)-np.divide(1 - Y, 1 - A2))",
    )
    assert not by_rule(findings_of(notebook, assignment), "edited-outside-regions")
    changed = edits.replace(
        edits.solution(),
        TWO,
        "dA2 = - (np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))",
        "dA2 = + (np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))",
    )
    assert by_rule(findings_of(changed, assignment), "edited-outside-regions")


@pytest.mark.parametrize("visibility", ["visible", "hidden"])
def test_cost_messages_count_and_index_the_whole_list(visibility):
    from types import SimpleNamespace

    from grader.model import Expected, Kind, Tolerance
    from grader.render.wording import describe

    case = SimpleNamespace(visibility=visibility, compare=["costs"])
    names = ("parameters", "costs")
    expected = Expected(result_of_value(({}, [0.69, 0.5, 0.4])).returned, None)
    result = result_of_value(({}, [0.69, 0.5, 0.3]))
    comparison = compare(case, expected, result, Tolerance(1e-6, 1e-9), names)
    assert comparison.first.kind == Kind.VALUES and comparison.first.path == (1, 2)
    message = describe(comparison.first, visibility == "visible", names)
    assert message.startswith("costs[2] differs")
    # a hidden case's counts are its inputs' sizes, so only a visible case counts the entries
    assert ("1 of 3 entries differ" in message) == (visibility == "visible"), message


def test_same_named_files_keep_their_names_whatever_the_order(tmp_path):
    from grader.batch.collection import collect_submissions

    for student in ("alice", "bob"):
        (tmp_path / student).mkdir()
        edits.write(edits.solution(), tmp_path / student / "hw.ipynb")
    (tmp_path / "alice" / "notes.txt").write_text("not a notebook")
    forward = [tmp_path / "alice" / "hw.ipynb", tmp_path / "bob" / "hw.ipynb"]
    names = [
        {s.source: s.name for s in collect_submissions(order, tmp_path / f"stage{i}")[0]}
        for i, order in enumerate((forward, forward[::-1]))
    ]
    assert names[0] == names[1] and sorted(names[0].values()) == ["alice__hw", "bob__hw"]
    _, warnings = collect_submissions([tmp_path / "alice"], tmp_path / "stage-folder")
    assert any("not .ipynb skipped" in warning and "notes.txt" in warning for warning in warnings)
