"""The submission rules: each fires on a notebook edited to break it, none on correct notebooks."""

import json
import shutil

import pytest

from grader.assignment.manifest import load_assignment
from grader.assignment.notebook import read_submission
from grader.assignment.released import MARKER_FILE, blank_regions, released_notebook
from grader.judge import rules
from grader.verbs.release import build_release
from tests import notebook_edits as edits
from tests.fixtures import by_rule, findings_of, message

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

TWO = "two_layer_model"
DEEP = "L_layer_model"


def test_the_solution_breaks_no_rule(assignment):
    parsed = read_submission(edits.SOLUTION, assignment.setup_marker)
    assert rules.check(parsed, assignment) == []


def test_a_correct_solution_written_differently_breaks_no_rule(assignment):
    notebook = edits.solution()
    notebook = edits.replace(
        notebook,
        TWO,
        "    parameters = initialize_parameters(n_x, n_h, n_y)\n",
        "    # my own way\n    sizes = (n_x, n_h, n_y)\n    parameters = initialize_parameters(*sizes)\n",
    )
    notebook = edits.replace(
        notebook,
        TWO,
        "A1, cache1 = linear_activation_forward(X, W1, b1, 'relu')",
        'A1, cache1 = linear_activation_forward(X, W1, b1, activation="relu")',
    )
    notebook = edits.replace(
        notebook, DEEP, "        cost = compute_cost(AL, Y)", "        cost = compute_cost(AL, Y)   # cross-entropy\n\n"
    )
    # Blank lines, trailing spaces and comments outside the regions are not edits that matter.
    notebook = edits.replace(notebook, DEEP, "    costs = []", "    costs = []   \n\n    # I read this line")
    # An edited ungraded cell is still the released cell, not an extra one.
    notebook = edits.replace_in_cell(notebook, edits.position_of(notebook, "index = 10"), "index = 10", "index = 25")
    assert findings_of(notebook, assignment) == []


def test_the_released_notebook_differs_from_itself_in_nothing(assignment):
    # With its regions empty, each function reads the notebook's `parameters`, which the empty region is
    # meant to set: that is an unwritten region (the cases' NameError says so), not a global to avoid.
    assert findings_of(released_notebook(assignment), assignment) == []


def test_an_extra_print_in_a_graded_function(assignment):
    notebook = edits.replace(
        edits.solution(),
        DEEP,
        "        grads = L_model_backward(AL, Y, caches)\n",
        "        grads = L_model_backward(AL, Y, caches)\n        print(grads.keys())\n",
    )
    index = edits.cell_position(notebook, DEEP)
    findings = findings_of(notebook, assignment)
    assert [(f.family, f.cell, f.line) for f in findings] == [
        ("extra-print", index + 1, edits.line_of(notebook, index, "print(grads.keys())"))
    ]
    assert "print(grads.keys())" in message(findings[0]) and "Remove it" in message(findings[0])


def test_an_extra_print_outside_the_regions_is_reported_once(assignment):
    notebook = edits.replace(edits.solution(), TWO, "    m = X.shape[1]", "    print(X.shape)\n    m = X.shape[1]")
    findings = findings_of(notebook, assignment)
    assert [f.family for f in findings] == ["extra-print"]


def test_extra_code_cells(assignment):
    notebook = edits.solution()
    after = edits.cell_position(notebook, TWO) + 1
    notebook = edits.insert_code_cell(notebook, after, "print(train_x.shape)\nW = parameters['W1']")
    notebook = edits.insert_code_cell(notebook, len(notebook.cells), "my_extra = 1")
    notebook = edits.insert_code_cell(notebook, len(notebook.cells), "   \n")  # an empty cell is harmless
    findings = findings_of(notebook, assignment)
    last = len(notebook.cells) - 1
    assert [(f.family, f.cell) for f in findings] == [("extra-cell", after + 1), ("extra-cell", last)]
    assert "does not have" in message(findings[0])


def test_a_copy_of_a_graded_cell_is_an_extra_cell(assignment):
    notebook = edits.solution()
    position = edits.cell_position(notebook, TWO)
    notebook = edits.insert_code_cell(notebook, position, notebook.cells[position].source)
    findings = findings_of(notebook, assignment)
    assert [(f.family, f.cell) for f in findings] == [("extra-cell", position + 1)]
    assert "only the last one is graded" in message(findings[0])


@pytest.mark.parametrize(
    "old, new, says",
    [
        ("def two_layer_model(X, Y, layers_dims,", "def two_layer_model(X, Y, dims,", "(X, Y, layers_dims"),
        (
            "learning_rate = 0.0075, num_iterations = 3000",
            "learning_rate = 0.01, num_iterations = 3000",
            "the default of learning_rate is 0.01 where the released notebook has 0.0075",
        ),
        ("print_cost=False):", "print_cost=False, verbose=True):", "print_cost, verbose)"),
    ],
)
def test_changed_function_parameters(assignment, old, new, says):
    notebook = edits.replace(edits.solution(), TWO, old, new)
    index = edits.cell_position(notebook, TWO)
    findings = findings_of(notebook, assignment)
    # One finding, on the def line; the edit of that line is not reported a second time.
    changed = [(f.family, f.cell, f.line) for f in findings if f.family != "global-variable"]
    assert changed == [("changed-parameters", index + 1, edits.line_of(notebook, index, "def two_layer_model("))]
    assert says in message(findings[0])
    # A renamed parameter leaves the body reading the notebook's variable of the old name.
    renamed = "dims" in new
    assert [message(f).split("`")[1] for f in by_rule(findings, "global-variable")] == (
        ["layers_dims"] if renamed else []
    )


def test_a_removed_graded_function_is_reported(assignment):
    notebook = edits.replace(edits.solution(), DEEP, "def L_layer_model(", "def deep_model(")
    assert "changed-parameters" in {f.family for f in findings_of(notebook, assignment)}


def test_global_variables_inside_a_graded_function(assignment):
    # n_x is set by the notebook's constants cell; the function's own learning_rate parameter is fine.
    notebook = edits.replace(
        edits.solution(),
        DEEP,
        "parameters = initialize_parameters_deep(layers_dims)",
        "parameters = initialize_parameters_deep([n_x] + list(layers_dims[1:]))",
    )
    notebook = edits.replace(
        notebook,
        DEEP,
        "        cost = compute_cost(AL, Y)\n",
        "        global costs_seen\n        cost = compute_cost(AL, Y)\n",
    )
    index = edits.cell_position(notebook, DEEP)
    constants = edits.position_of(notebook, "n_h = 7")
    findings = by_rule(findings_of(notebook, assignment), "global-variable")
    assert [(f.cell, f.line) for f in findings] == [
        (index + 1, edits.line_of(notebook, index, "[n_x]")),
        (index + 1, edits.line_of(notebook, index, "global costs_seen")),
    ]
    assert "`n_x`" in message(findings[0]) and f"cell {constants + 1}" in message(findings[0])
    assert "global" in message(findings[1])


def test_edits_outside_the_regions(assignment):
    notebook = edits.replace(
        edits.solution(), TWO, "for i in range(0, num_iterations):", "for i in range(0, num_iterations - 1):"
    )
    notebook = edits.replace(
        notebook,
        DEEP,
        "        # YOUR CODE ENDS HERE\n\n        # Cost of this iteration",
        "\n        # Cost of this iteration",
    )
    two, deep = edits.cell_position(notebook, TWO), edits.cell_position(notebook, DEEP)
    findings = findings_of(notebook, assignment)
    assert {f.family for f in findings} == {"edited-outside-regions"}
    assert (two + 1, edits.line_of(notebook, two, "num_iterations - 1")) in {(f.cell, f.line) for f in findings}
    changed = next(f for f in findings if f.cell == two + 1)
    assert "num_iterations - 1" in message(changed) and "range(0, num_iterations):" in message(changed)
    assert any(f.cell == deep + 1 and "marker line `# YOUR CODE ENDS HERE` was removed" in message(f) for f in findings)


def test_a_syntax_error_in_a_graded_cell(assignment):
    notebook = edits.replace(edits.solution(), TWO, "cost = compute_cost(A2, Y)", "cost = compute_cost(A2, Y")
    index = edits.cell_position(notebook, TWO)
    findings = findings_of(notebook, assignment)
    errors = by_rule(findings, "syntax-error")
    assert findings == errors  # and no edit reported where the cell's comments could not be read
    assert [(f.cell, f.line) for f in errors] == [(index + 1, edits.line_of(notebook, index, "compute_cost(A2, Y"))]
    assert "cannot be graded" in message(errors[0])
    # The other graded cell is still checked.
    broken = edits.replace(notebook, DEEP, "def L_layer_model(X, Y, layers_dims,", "def L_layer_model(X, Y, dims,")
    assert "changed-parameters" in {f.family for f in findings_of(broken, assignment)}


@pytest.mark.parametrize(
    "absurd",
    ["x = " + "(" * 300 + "1" + ")" * 300, "x = " + "-" * 1000 + "1", "x = " + "-" * 100_000 + "1", "x = '\x00'"],
)
def test_absurd_code_gives_findings_not_a_crash(assignment, absurd):
    notebook = edits.replace(edits.solution(), TWO, "    m = X.shape[1]", "    m = X.shape[1]\n    " + absurd)
    notebook = edits.insert_code_cell(notebook, 3, absurd)
    findings = findings_of(notebook, assignment)
    two = edits.cell_position(notebook, TWO) + 1
    assert {f.cell for f in findings} >= {4, two}
    assert all(message(f) for f in findings)


def test_a_graded_cell_too_large_to_check_says_so_instead_of_costing_the_grader(assignment):
    # 600 000 short lines (4.8 MB) cost ast, tokenize and difflib 47 s and 1.5 GB before the bound.
    huge = "    x=1\n" * (rules.MAX_RULES_CELL_CHARS // 8 + 1)
    notebook = edits.replace(edits.solution(), TWO, "    m = X.shape[1]", "    m = X.shape[1]\n" + huge)
    findings = findings_of(notebook, assignment)
    two = edits.cell_position(notebook, TWO) + 1
    assert [(f.family, f.cell) for f in findings] == [("unchecked", two)]
    assert "not checked" in message(findings[0]) and "KB" in message(findings[0])
    # Just under the bound, the cell is checked as any other.
    smaller = "    x=1\n" * (rules.MAX_RULES_CELL_CHARS // 8 - 1000)
    notebook = edits.replace(edits.solution(), TWO, "    m = X.shape[1]", "    m = X.shape[1]\n" + smaller)
    assert [f.family for f in findings_of(notebook, assignment)] == ["edited-outside-regions"]


def test_too_many_cells_or_too_long_a_check_says_so(assignment, monkeypatch):
    notebook = edits.solution()
    for index in range(rules.MAX_RULES_CELLS + 1):
        notebook = edits.insert_code_cell(notebook, len(notebook.cells), f"x{index} = {index}")
    findings = findings_of(notebook, assignment)
    assert {f.family for f in findings} == {"unchecked"} and "code cells" in message(findings[0])
    monkeypatch.setattr(rules, "RULES_SECONDS", -1.0)  # the time bound, reached at once
    findings = findings_of(edits.solution(), assignment)
    assert len(findings) == 3 and all(f.family == "unchecked" and "took more than" in message(f) for f in findings)


def test_magics_do_not_hide_the_graded_cells(assignment):
    notebook = edits.replace(
        edits.solution(),
        TWO,
        "# GRADED FUNCTION: two_layer_model\n",
        "# GRADED FUNCTION: two_layer_model\n%load_ext autoreload\n",
    )
    assert {f.family for f in findings_of(notebook, assignment)} == {"edited-outside-regions"}


def test_a_region_that_was_a_whole_block_stays_valid_python():
    source = "for i in range(3):\n    # YOUR CODE STARTS HERE\n    x = i\n    # YOUR CODE ENDS HERE\n"
    blanked = blank_regions(source)
    assert "x = i" not in blanked
    compile(blanked, "cell", "exec")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from tests.fixtures import ASSIGNMENT_DIR

    folder, _ = build_release(load_assignment(ASSIGNMENT_DIR), tmp_path_factory.mktemp("rules") / "bundle", None)
    return folder


def test_in_a_bundle_the_rules_compare_with_the_released_cells_even_after_editing(bundle, tmp_path):
    """A student edits the bundle's notebook in place: the marker file keeps the released cells."""
    copy_dir = tmp_path / "bundle"
    shutil.copytree(bundle, copy_dir)
    assignment = load_assignment(copy_dir)
    assert assignment.is_bundle
    notebook = edits.replace(edits.solution(), TWO, "    m = X.shape[1]", "    m = X.shape[1]\n    print(m)")
    edits.write(notebook, copy_dir / assignment.student_notebook)
    assert [f.family for f in findings_of(notebook, assignment)] == ["extra-print"]

    # Without the marker, the bundle's notebook is what the submission is compared with.
    (copy_dir / MARKER_FILE).unlink()
    edits.write(released_notebook(load_assignment(edits.SOLUTION.parent)), copy_dir / assignment.student_notebook)
    assert [f.family for f in findings_of(notebook, assignment)] == ["extra-print"]

    # With neither, only the rules that need no released notebook are checked.
    (copy_dir / assignment.student_notebook).unlink()
    assert findings_of(notebook, assignment) == []
    renamed = edits.replace(notebook, TWO, "print_cost=False):", "verbose=False):")
    assert [f.family for f in findings_of(renamed, assignment)] == ["changed-parameters"]


def test_the_marker_holds_only_released_cells(bundle):
    marker = json.loads((bundle / MARKER_FILE).read_text())
    solution_code = [c.source for c in edits.solution().cells if c.cell_type == "code"]
    assert len(marker["released_code_cells"]) == len(solution_code)
    assert not set(marker["released_code_cells"]) & {s for s in solution_code if "YOUR CODE STARTS" in s}
