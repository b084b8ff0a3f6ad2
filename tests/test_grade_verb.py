"""`grader grade` end to end, as an instructor runs it: the solution, the released blank notebook,
and notebooks that break the course's submission rules, graded in one sandboxed batch."""

import json

import pytest

from grader.store.gradebook import Gradebook
from tests import notebook_edits as edits
from tests.fixtures import grade_cli

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

TWO, DEEP = "two_layer_model", "L_layer_model"


def _rule_breakers(folder):
    """Each breaks one submission rule; the comment says what grading should make of it."""
    solution = edits.solution()
    made = {
        # An extra print inside the loop changes what L_layer_model prints: its print case fails.
        "extra-print": edits.replace(
            solution,
            DEEP,
            "        cost = compute_cost(AL, Y)\n",
            "        cost = compute_cost(AL, Y)\n        print('debug', i)\n",
        ),
        # An extra cell is ignored by grading: full marks, with a warning.
        "extra-cell": edits.insert_code_cell(
            solution, edits.cell_position(solution, TWO) + 1, "print('scratch work')\nx = 3"
        ),
        # A renamed parameter: called positionally as the manifest says, so full marks, with a warning.
        "renamed-parameter": edits.replace(
            edits.replace(solution, TWO, "learning_rate = 0.0075, num_iterations", "lr = 0.0075, num_iterations"),
            TWO,
            "update_parameters(parameters, grads, learning_rate)",
            "update_parameters(parameters, grads, lr)",
        ),
        # A notebook variable read inside the function: it does not exist when grading, so two_layer fails.
        "global-variable": edits.replace(
            solution,
            TWO,
            "parameters = initialize_parameters(n_x, n_h, n_y)",
            "parameters = initialize_parameters(n_x, n_h_global, n_y)",
        ),
    }
    with_global = made["global-variable"]
    made["global-variable"] = edits.insert_code_cell(
        with_global, edits.cell_position(with_global, TWO), "n_h_global = 7"
    )
    for name, notebook in made.items():
        edits.write(notebook, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from grader.assignment.manifest import load_assignment
    from grader.verbs.release import build_release
    from tests.fixtures import ASSIGNMENT_DIR

    root = tmp_path_factory.mktemp("grade-verb")
    bundle, _ = build_release(load_assignment(ASSIGNMENT_DIR), root / "release", None)
    submissions = root / "submissions"
    submissions.mkdir()
    (submissions / "blank.ipynb").write_bytes((bundle / "dnn_app.ipynb").read_bytes())
    (submissions / "solution.ipynb").write_bytes((ASSIGNMENT_DIR / "dnn_app_solution.ipynb").read_bytes())
    _rule_breakers(submissions)
    out = root / "out"
    run = grade_cli(str(submissions), "--out", str(out), "--workers", "2", cwd=root)
    assert run.returncode == 0, run.stderr
    results = {
        folder.name: json.loads((folder / "results.json").read_text())
        for folder in out.iterdir()
        if (folder / "results.json").is_file()
    }
    with Gradebook(out / "gradebook.sqlite") as book:
        rules = {row.name: {f.family for f in row.submission_report().findings} for row in book.rows("dnn_app")}
    return {name: {**value, "rules": rules[name]} for name, value in results.items()}


def _function_score(results: dict, function: str) -> float:
    return sum(test["score"] for test in results["tests"] if function in test["tags"])


@pytest.mark.critical
def test_the_solution_gets_full_marks(graded):
    assert graded["solution"]["score"] == pytest.approx(100)
    assert graded["solution"]["rules"] == set()
    assert all(test["status"] == "passed" for test in graded["solution"]["tests"])


@pytest.mark.critical
def test_the_released_notebook_gets_zero_with_explanations(graded):
    blank = graded["blank"]
    assert blank["score"] == 0
    for test in blank["tests"]:
        assert test["status"] == "failed" and "NameError" in test["output"], test


@pytest.mark.parametrize(
    "name, losing, rule",
    [
        ("extra-print", {DEEP}, "extra-print"),
        ("extra-cell", set(), "extra-cell"),
        ("renamed-parameter", set(), "changed-parameters"),
        ("global-variable", {TWO}, "global-variable"),
    ],
)
def test_rule_breakers_lose_points_only_where_the_rule_breaks_the_function(graded, name, losing, rule):
    results = graded[name]
    for function, points in ((TWO, 50), (DEEP, 50)):
        score = _function_score(results, function)
        if function in losing:
            assert score < points - 1e-9, (name, function)
        else:
            assert score == pytest.approx(points), (name, function, results["output"])
    assert rule in results["rules"], results["rules"]


def test_dask_without_distributed_says_how_to_install_it(monkeypatch):
    import grader.verbs.grade as grade_verb
    from grader.errors import UserError

    monkeypatch.setattr(grade_verb.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match=r"pip install -e '\.\[dask\]'"):
        grade_verb.check_dask_address("local:2")


@pytest.mark.parametrize("address", ["local:0", "local:two", "nowhere"])
def test_a_bad_dask_address_is_named(address):
    pytest.importorskip("distributed")
    from grader.errors import UserError
    from grader.verbs.grade import check_dask_address

    with pytest.raises(UserError, match="--dask"):
        check_dask_address(address)
