"""The second real assignment, "Building your Deep Neural Network: Step by Step", from its folder alone.

One `grader grade` batch (a module fixture) grades the solution, the released notebook, one
notebook per catalogued mistake (tests/step_by_step_corpus.py) and a notebook of the other
assignment; the tests then assert per member. The graded functions call one another as in the
course (linear_activation_forward calls the student's linear_forward); a mistake costs points on
its own function only, as the callers are graded as if their callees were right.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.assignment.manifest import AssignmentError, load_assignment
from grader.cli import main
from grader.judge.catalogue import load_catalogue
from grader.judge.compare import compare_nodes
from grader.judge.outcome_store import read_variant_values, save_variant_values, stored_variant_table
from grader.model import Array, Number, Tolerance
from grader.render.wording import label_for, labelled_path
from grader.store.gradebook import Gradebook
from tests.fixtures import messages, problem_texts, said
from tests.step_by_step_corpus import ENTRIES, FOLDER, FUNCTIONS, SOLUTION, write_corpus

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

ROOT = Path(__file__).resolve().parent.parent
OTHER = ROOT / "assignments" / "dnn_app" / "dnn_app_solution.ipynb"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sbs-release") / "bundle"
    assert main(["release", "--assignment", str(FOLDER), "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory, bundle) -> tuple[dict, Path]:
    """Every member of the batch graded in one run: {name: report}, and the output folder."""
    batch = tmp_path_factory.mktemp("sbs-batch")
    write_corpus(batch)
    shutil.copy(SOLUTION, batch / "solution.ipynb")
    shutil.copy(bundle / "dnn_step_by_step.ipynb", batch / "released.ipynb")
    shutil.copy(OTHER, batch / "other_assignment.ipynb")
    out = batch.parent / (batch.name + "-out")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            "--assignment",
            str(FOLDER),
            "--out",
            str(out),
            "--quiet",
            str(batch),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr
    with Gradebook(out / "gradebook.sqlite") as book:
        return {row.name: row.submission_report() for row in book.rows()}, out


def test_the_catalogue_has_a_corpus_notebook_for_every_mistake():
    catalogue = load_catalogue(load_assignment(FOLDER))
    assert catalogue is not None and len(catalogue.mistakes) >= 12
    assert sorted(catalogue.mistakes) == sorted(e.mistake for e in ENTRIES)
    assert all(m["explanation"] and m["fix"] for m in catalogue.mistakes.values())


def test_the_solution_scores_full_marks(graded):
    report = graded[0]["solution"]
    assert report.score == report.max_score == 100, [(c.case_id, messages(c)) for c in report.cases if not c.passed]
    assert set(report.function_scores) == set(FUNCTIONS)


def test_the_released_notebook_scores_0_and_explains_the_name_error(graded):
    report = graded[0]["released"]
    assert report.score == 0
    raised = [c for c in report.cases if messages(c) and "NameError" in messages(c)[0]]
    assert raised and all(said(c)["title"].startswith("the function raised NameError") for c in raised)
    assert "is every YOUR CODE region complete?" in said(raised[0])["explanation"]  # its regions are empty


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.mistake)
def test_a_mistake_costs_points_where_it_is_and_is_named(graded, entry):
    reports, out = graded
    report = reports[entry.mistake]
    lost = {f for f in FUNCTIONS if report.function_scores[f] < report.function_points[f]}
    assert lost == {entry.function}, lost  # its callers are graded as if it were right ([grading] callers)
    own = [c for c in report.cases if c.function == entry.function and not c.passed]
    assert any(c.diagnosis and said(c).get("mistake") == entry.mistake for c in own), [
        (c.case_id, c.diagnosis) for c in own
    ]
    title = load_catalogue(load_assignment(FOLDER)).mistakes[entry.mistake]["title"]
    assert title in (out / entry.mistake / "feedback.md").read_text().replace("\\", "")  # markdown escapes


def test_a_function_whose_callee_fails_keeps_its_points_and_is_told_it_is_right(graded):
    report = graded[0]["forward-without-bias"]
    dependent = [c for c in report.cases if c.function == "linear_activation_forward"]
    assert dependent and all(not c.passed and c.alone for c in dependent)  # as written it fails; alone it passes
    assert all(
        said(c)["title"] == "linear_activation_forward is right: as written it fails only because linear_forward does"
        for c in dependent
    ), [c.diagnosis for c in dependent]
    # The solution has no failing callee, and a calls entry naming no graded function is refused.
    assert not any(c.diagnosis for c in graded[0]["solution"].cases)


def test_calls_must_name_graded_functions(tmp_path):
    folder = tmp_path / "sbs"
    shutil.copytree(FOLDER, folder)
    manifest = folder / "assignment.toml"
    manifest.write_text(manifest.read_text().replace('calls = ["linear_backward"]', 'calls = ["linear_backwards"]', 1))
    with pytest.raises(AssignmentError, match="'linear_activation_backward' calls \\['linear_backwards'\\]"):
        load_assignment(folder)


def test_nested_returns_are_named_by_their_parts(graded):
    """The manifest's `returns` name the tuple's parts, its `labels` the nested ones."""
    step_by_step = load_assignment(FOLDER)
    swapped = graded[0]["cache-parts-swapped"]
    case = next(c for c in swapped.cases if c.case_id == "linear_activation_forward/public_relu")
    said = messages(case, step_by_step)
    assert "cache[0] (the linear cache) is a numpy array, expected a tuple" in said, said
    no_bias = graded[0]["forward-without-bias"]
    case = next(c for c in no_bias.cases if c.case_id == "L_model_forward/public")
    said = messages(case, step_by_step)
    assert any(m.startswith("caches[0][1] (the Z of layer 1) differs: expected ") for m in said), said


def test_a_label_template_names_any_index():
    labels = (("caches[*][0][1]", "the W of layer {1+1}'s linear cache"), ("grid[*][*]", "cell {1},{2+1}"))
    assert labelled_path((1, 1, 0, 1), ("AL", "caches"), labels) == "caches[1][0][1] (the W of layer 2's linear cache)"
    assert labelled_path((1, 1, 0), ("AL", "caches"), labels) == "caches[1][0]"
    assert label_for("grid[3][4]", labels) == "cell 3,5" and label_for("grid[3]", labels) is None
    assert label_for("x", (("x", "uses {3}"),)) == "uses {3}"


def test_labels_that_are_not_texts_are_refused(tmp_path):
    folder = tmp_path / "sbs"
    shutil.copytree(FOLDER, folder)
    manifest = folder / "assignment.toml"
    manifest.write_text(
        manifest.read_text().replace('labels = { "cache[0]" = "A, the input"', 'labels = { "cache[0]" = 3', 1)
    )
    with pytest.raises(
        AssignmentError,
        match=r"\[\[function\]\] 'linear_forward': labels.cache\[0\] = 3: input should be a valid string",
    ):
        load_assignment(folder)


def test_a_notebook_of_the_other_assignment_is_refused_with_a_way_out(graded):
    report = graded[0]["other_assignment"]
    assert report.status == "invalid" and report.score == 0
    problem = " ".join(problem_texts(report))
    assert "two_layer_model" in problem and "is not a notebook of Building your Deep Neural Network" in problem
    assert "--assignment" in problem


@pytest.mark.critical  # another NumPy's rounding and wording must keep --check green
def test_the_expected_values_are_current(capsys):
    assert main(["expected", "--check", "--assignment", str(FOLDER)]) == 0
    assert "expected values are current" in capsys.readouterr().out


def test_the_bundle_checks_the_solution_and_keeps_the_instructor_files(bundle, capsys):
    instructor_only = ("dnn_step_by_step_solution.ipynb", "mistakes.py", "expected.npz", "mistakes_expected.npz")
    assert "[[case]]" not in (bundle / "assignment.toml").read_text()  # the hidden recipes stay behind
    for private in instructor_only:
        assert not (bundle / private).exists(), private
    public = load_assignment(bundle).cases()
    assert {c.id for c in public if c.exact_shapes} == {"compute_cost/public"}  # the bundle keeps it
    capsys.readouterr()
    assert main(["check", str(SOLUTION), "--assignment", str(bundle), "--color", "never"]) == 0
    assert "All 12 public cases passed" in capsys.readouterr().out
    assert main(["check", str(bundle / "dnn_step_by_step.ipynb"), "--assignment", str(bundle), "--color", "never"]) == 1
    text = capsys.readouterr().out
    assert "initialize_parameters: FAILED (0 of 1 public case)" in text and "NameError" in text


def test_exact_shapes_tells_a_number_from_a_one_value_array():
    number, matrix = Number(0.5, "float"), Array(np.array([[0.5]]), "float64")
    assert compare_nodes(number, matrix, (), Tolerance()) == []
    found = compare_nodes(number, matrix, (), Tolerance(exact_shapes=True))
    assert len(found) == 1 and found[0].got == (1, 1) and found[0].expected == ()
    assert compare_nodes(number, Array(np.array(0.5), "float64"), (), Tolerance(exact_shapes=True)) == []


def test_a_variant_that_changes_its_inputs_is_stored_so(tmp_path):
    outcome = {"signature": "returned=n", "leaves": {}, "stdout": [], "inputs_changed": True}
    path = tmp_path / "variants.npz"
    save_variant_values(
        path,
        stored_variant_table(("m", "case/1"), outcome)
        | stored_variant_table(("k", "case/1"), {**outcome, "inputs_changed": False}),
    )
    stored = read_variant_values(path)["case/1"]
    assert stored["m"]["inputs_changed"] is True and stored["k"]["inputs_changed"] is False


def test_the_feedback_and_summary_pages_read_well_on_a_phone(graded):
    """As a person sees them: the named mistake, the labelled nested part, ten functions, no sideways scroll."""
    from tests.browser import find_chromium, render

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed")
    out = graded[1]
    feedback = render(chromium, out / "cache-parts-swapped" / "feedback.html", ("section.function",))
    assert len(feedback.found["section.function"]) == len(FUNCTIONS)
    assert "the cache holds its two parts in the wrong order" in feedback.text
    assert "caches[0][0] (layer 1's linear cache)" in feedback.text
    summary = render(chromium, out / "summary.html", ("tr.submission",))
    assert len(summary.found["tr.submission"]) == len(graded[0])
    assert all(name in summary.text for name in FUNCTIONS)
    for seen in (feedback, summary):
        assert seen.scroll_width <= seen.viewport_width, seen.scroll_width
        assert not seen.broken_words, seen.broken_words
