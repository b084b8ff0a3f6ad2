"""The diagnosis without kernels: catalogue variants, stored outcomes, matching, localising, curves.

A student's kernel result is imitated here from plain return values (what grader.kernel.harness
sends back), so every variant of every catalogued mistake can be checked quickly on the small
cases; tests/test_mistakes_are_named.py grades real notebooks end to end.
"""

from __future__ import annotations

import base64
import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.assignment.notebook import graded_name
from grader.judge.advice import localise
from grader.judge.catalogue import load_catalogue
from grader.judge.compare import compare as compare_case
from grader.judge.diagnose import diagnose
from grader.judge.expected import (
    ExpectedValues,
    python_value,
    run_reference,
    stale_entries,
    variant_values,
)
from grader.judge.matching import match_mistakes
from grader.judge.outcome_store import read_variant_table
from grader.judge.patterns import locate
from grader.kernel.untrusted import KernelResult, raised_result, result_of_value
from grader.model import CaseVerdict, SubmissionReport
from grader.model.notebook import CodeCell
from grader.model.staleness import CheckReport
from grader.render.plots import CURVE_MIN_POINTS, cost_curve_png, curves_for
from tests.fixtures import ASSIGNMENT_DIR, said
from tests.mistakes_corpus import MISTAKE_ENTRIES, build

# The mistakes a public test of the original course lets through; hidden cases must catch them.
PUBLIC_TESTS_MISS = [
    "learning-rate-hard-coded",
    "global-layers-dims",
    "one-iteration-short",
    "cost-every-iteration",
    "update-discarded",
    "activations-swapped",
]


@pytest.fixture(scope="module")
def catalogue():
    found = load_catalogue(ASSIGNMENT_DIR)
    assert found is not None, "assignment.toml names no mistakes module"
    return found


@pytest.fixture(scope="module")
def expected(assignment):
    return ExpectedValues(assignment)


@pytest.fixture(scope="module")
def workdir(assignment):
    with tempfile.TemporaryDirectory(prefix="diagnose-test-") as folder:
        assignment.prepare_workdir(Path(folder))
        yield Path(folder)


@pytest.fixture(scope="module")
def small_cases(assignment):
    """Cases on random inputs (the image cases take seconds per variant; grading covers them)."""
    return [c for c in assignment.cases() if not any("images" in spec for _, spec in c.recipe.get("arrays", []))]


def kernel_result(raw: dict, inputs: dict | None = None) -> KernelResult:
    """What the student's kernel would send back for this return value (or error), flattened by
    the harness's own function."""
    if "error" in raw:
        return raised_result(raw["error"]["type"], raw["error"]["message"])
    return result_of_value(raw["returned"], "\n".join(raw["stdout"]) + "\n", inputs)


def compare(case, want, result, assignment):
    return compare_case(
        case, want, result, assignment.tolerance(case.function, case), assignment.function(case.function).returns
    )


def arguments(want: dict) -> dict | None:
    """The case's arguments as they were before the call (for cases that check them), copied."""
    value = python_value(want.arguments)
    return None if value is None else {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in value.items()}


def reference_raw(catalogue, case, workdir) -> tuple[dict, dict]:
    """The reference's own (raw result, inputs after the call) on a case, via the catalogue's base class."""
    from reference.expected import case_inputs

    kwargs = case_inputs(case.recipe, workdir)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = catalogue.module.REFERENCE[case.function](**kwargs)
    return {"returned": returned, "stdout": printed.getvalue().splitlines()}, kwargs


# --- the catalogue and its stored outcomes ------------------------------------------------------


def test_the_catalogue_base_classes_are_the_reference(catalogue, small_cases, workdir):
    from reference.expected import case_inputs
    from reference.models import GRADED_FUNCTIONS

    for case in small_cases:
        raw, _ = reference_raw(catalogue, case, workdir)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            parameters, costs = GRADED_FUNCTIONS[case.function](**case_inputs(case.recipe, workdir))
        mine, my_costs = raw["returned"]
        assert mine.keys() == parameters.keys()
        assert all(np.array_equal(mine[k], parameters[k]) for k in parameters), case.id
        assert np.array_equal(np.array(my_costs, dtype=float), np.array(costs, dtype=float)), case.id
        assert raw["stdout"] == printed.getvalue().splitlines()


def test_every_catalogued_mistake_is_caught_by_a_hidden_case(catalogue, assignment):
    hidden = {c.id for c in assignment.cases() if c.visibility == "hidden"}
    stored = read_variant_table(catalogue.values_path)
    differs = {(key.mistake, key.case) for key in stored}
    for mistake_id, mistake in catalogue.mistakes.items():
        assert mistake["title"] and mistake["explanation"] and mistake["fix"] and mistake["pattern"]
        for function in mistake["functions"]:
            caught = {case for m, case in differs if m == mistake_id and case.startswith(function + "/")}
            assert caught & hidden, f"{mistake_id} passes every hidden case of {function}"
    assert set(PUBLIC_TESTS_MISS) <= set(catalogue.mistakes)


def test_stored_variant_outcomes_are_current_on_the_small_cases(assignment, catalogue, small_cases, workdir):
    outputs = {case.id: run_reference(assignment, case, workdir) for case in small_cases}
    fresh = variant_values(assignment, small_cases, outputs, workdir)
    ids = {case.id for case in small_cases}
    stored = {k: v for k, v in read_variant_table(catalogue.values_path).items() if k.case in ids}
    assert fresh.keys() == stored.keys(), "run `grader expected`: the stored variant outcomes are stale"
    report = CheckReport()  # floats and printed numbers within the stale tolerance, as `grader expected --check`
    stale_entries(report, stored, fresh)
    assert report.problems == [], "run `grader expected`: the stored variant outcomes are stale"


# --- matching ------------------------------------------------------------------------------------


def test_each_variant_is_recognised_as_its_own_mistake(assignment, catalogue, expected, small_cases, workdir):
    checked = 0
    for mistake_id, mistake in catalogue.mistakes.items():
        for case in small_cases:
            if case.function not in mistake["functions"]:
                continue
            want = expected.for_case(case.id)
            raw = catalogue.module.variant_outputs(mistake_id, case, workdir)
            result = kernel_result(raw, arguments(want))
            if mistake_id not in want.variants:
                assert compare(case, want, result, assignment).passed
                continue
            assert not compare(case, want, result, assignment).passed
            assert mistake_id in match_mistakes(assignment, case, want, result), f"{mistake_id} on {case['id']}"
            checked += 1
    assert checked >= 2 * len(catalogue.mistakes)


def test_the_reference_matches_no_mistake(assignment, catalogue, expected, small_cases, workdir):
    for case in small_cases:
        want = expected.for_case(case.id)
        raw, _ = reference_raw(catalogue, case, workdir)
        result = kernel_result(raw, arguments(want))
        assert compare(case, want, result, assignment).passed
        assert match_mistakes(assignment, case, want, result) == []


def test_a_slightly_different_result_matches_no_mistake(assignment, catalogue, expected, small_cases, workdir):
    """Wrong by a little everywhere: it fails, but it is not the catalogued mistake it resembles."""
    case = next(c for c in small_cases if c.id == "two_layer_model/learning-rate")
    want = expected.for_case(case.id)
    raw = catalogue.module.variant_outputs("learning-rate-hard-coded", case, workdir)
    parameters, costs = raw["returned"]
    nudged = {k: v * (1 + 1e-4) for k, v in parameters.items()}
    result = kernel_result({"returned": (nudged, costs), "stdout": raw["stdout"]})
    assert "learning-rate-hard-coded" in match_mistakes(assignment, case, want, kernel_result(raw))
    assert match_mistakes(assignment, case, want, result) == []


def _cell(entry_name: str, function: str) -> CodeCell:
    entry = next(e for e in MISTAKE_ENTRIES if e.name == entry_name)
    notebook = build(entry)
    index, cell = next(
        (i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code" and graded_name(c.source) == function
    )
    return CodeCell(index, cell.source)


def test_look_alike_mistakes_are_told_apart_by_the_students_code(assignment, catalogue, expected, workdir):
    """A flipped dA2 and a flipped update give the same numbers; the line in the code decides."""
    case = next(c for c in assignment.cases() if c.id == "two_layer_model/public-2")
    want = expected.for_case(case.id)
    result = kernel_result(catalogue.module.variant_outputs("dA-sign-flipped", case, workdir))
    comparison = compare(case, want, result, assignment)
    matched = match_mistakes(assignment, case, want, result)
    assert {"dA-sign-flipped", "gradient-ascent"} <= set(matched)

    flipped_dA = said(diagnose(assignment, case, want, result, comparison, _cell("dA-sign-flipped", "two_layer_model")))
    assert flipped_dA["mistake"] == "dA-sign-flipped"
    assert "gradient-ascent" in flipped_dA["also_possible"]
    assert "dA2 = np.divide(Y, A2)" in flipped_dA["line"]

    source = _cell("dA-sign-flipped", "two_layer_model").source
    ascent_source = source.replace(
        "dA2 = np.divide(Y, A2) - np.divide(1 - Y, 1 - A2)", "dA2 = - (np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))"
    ).replace(
        "update_parameters(parameters, grads, learning_rate)", "update_parameters(parameters, grads, -learning_rate)"
    )
    ascent = said(diagnose(assignment, case, want, result, comparison, CodeCell(16, ascent_source)))
    assert ascent["mistake"] == "gradient-ascent" and ascent["line"].startswith("cell 17, line ")


@pytest.mark.parametrize("entry", MISTAKE_ENTRIES, ids=lambda e: e.name)
def test_each_pattern_finds_the_edited_line(catalogue, entry):
    pattern = catalogue.mistakes[entry.mistake]["pattern"]
    cell = _cell(entry.name, entry.function)
    line = locate(pattern, cell.source)
    assert line is not None, f"{entry.mistake}: pattern finds nothing in the edited cell"
    new_lines = {text.strip() for _, _, new in entry.edits for text in new.splitlines() if text.strip()}
    points_elsewhere = {"global-layers-dims", "cost-never-recorded", "stale-weights"}  # edits that only remove
    if entry.mistake not in points_elsewhere:
        found = cell.source.splitlines()[line - 1]
        assert any(fragment in found for fragment in new_lines), f"{entry.mistake}: points at {found!r}"


def test_patterns_that_tell_look_alikes_apart_do_not_fire_on_the_solution(catalogue):
    from tests.mistakes_corpus import Entry

    for function in ("two_layer_model", "L_layer_model"):
        source = _cell_of_solution(function, Entry)
        for mistake_id in (
            "gradient-ascent",
            "dA-sign-flipped",
            "learning-rate-hard-coded",
            "update-discarded",
            "one-iteration-short",
            "only-parameters-returned",
            "reinitialised-in-loop",
            "cost-before-forward",
            "global-layers-dims",
            "seed-missing",
        ):
            assert locate(catalogue.mistakes[mistake_id]["pattern"], source) is None, (mistake_id, function)


def _cell_of_solution(function: str, entry_type) -> str:
    notebook = build(entry_type("solution", None, None, ()))
    return next(c.source for c in notebook.cells if c.cell_type == "code" and graded_name(c.source) == function)


def test_a_pattern_that_raises_finds_nothing():
    def broken(source):
        raise RuntimeError("boom")

    assert locate(broken, "x = 1") is None
    assert locate(r"^\s*return parameters$", "# return parameters\n    return parameters") == 2


# --- localising when nothing matches ----------------------------------------------------------


@pytest.fixture(scope="module")
def two_layer_case(assignment, catalogue, expected, workdir):
    case = next(c for c in assignment.cases() if c.id == "two_layer_model/print-cost")
    raw, inputs = reference_raw(catalogue, case, workdir)
    return case, expected.for_case(case.id), raw


def _localised(assignment, case, want, raw):
    result = kernel_result(raw)
    comparison = compare(case, want, result, assignment)
    assert not comparison.passed
    found = said(diagnose(assignment, case, want, result, comparison, None))
    assert found["mistake"] is None and found["title"] and found["explanation"]
    assert found == said(localise(assignment, case, comparison))
    return found


def test_localising_a_wrong_first_cost_points_at_the_start(assignment, two_layer_case):
    case, want, raw = two_layer_case
    parameters, costs = raw["returned"]
    found = _localised(
        assignment, case, want, {"returned": (parameters, [c * 1.1 for c in costs]), "stdout": raw["stdout"]}
    )
    assert found["where"] == "values:costs[0]" and "initialisation" in found["title"]


def test_localising_drifting_costs_points_at_the_training_step(assignment, two_layer_case):
    case, want, raw = two_layer_case
    parameters, costs = raw["returned"]
    drifted = [costs[0]] + [c * 1.1 for c in costs[1:]]
    found = _localised(assignment, case, want, {"returned": (parameters, drifted), "stdout": raw["stdout"]})
    assert found["where"] == "values:costs[1]" and "backward" in found["title"]


def test_localising_a_wrong_number_of_costs(assignment, two_layer_case):
    case, want, raw = two_layer_case
    parameters, costs = raw["returned"]
    found = _localised(assignment, case, want, {"returned": (parameters, costs[:1]), "stdout": raw["stdout"]})
    assert found["where"] == "length:costs" and "number of entries" in found["title"]


def test_localising_one_layer_names_the_layer(assignment, two_layer_case):
    case, want, raw = two_layer_case
    parameters, costs = raw["returned"]
    changed = dict(parameters, W2=parameters["W2"] * 1.01)
    found = _localised(assignment, case, want, {"returned": (changed, costs), "stdout": raw["stdout"]})
    assert found["where"] == "values:W2" and "W2" in found["title"] and "layer 2" in found["explanation"]


def test_localising_printed_lines_and_errors(assignment, two_layer_case):
    case, want, raw = two_layer_case
    found = _localised(assignment, case, want, {"returned": raw["returned"], "stdout": raw["stdout"][:-1]})
    assert found["where"] == "printed_length:the returned value" and "printed" in found["title"]
    found = _localised(assignment, case, want, {"error": {"type": "KeyError", "message": "'W3'"}})
    assert found["where"] == "raised:the returned value" and "KeyError" in found["title"]
    assert "update_parameters" in found["explanation"]  # the assignment's own advice, from mistakes.py
    found = _localised(assignment, case, want, {"returned": list(raw["returned"]), "stdout": []})
    assert found["where"] == "type:the returned value" and "(parameters, costs)" in found["title"]


def test_a_passing_case_gets_no_diagnosis(assignment, two_layer_case):
    case, want, raw = two_layer_case
    result = kernel_result(raw)
    comparison = compare(case, want, result, assignment)
    assert comparison.passed and diagnose(assignment, case, want, result, comparison, None) is None


# --- the cost curve -------------------------------------------------------------------------------


def test_cost_curve_png_is_a_small_picture():
    png = cost_curve_png([0.7, 0.5, float("nan"), 0.2], [0.7, 0.4, 0.3, 0.2, 0.1], "two_layer_model: curve")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 80_000
    image = Image.open(io.BytesIO(png))
    assert 300 <= image.width <= 600 and 200 <= image.height <= 400
    pixels = np.asarray(image.convert("L"))
    assert pixels.min() < 100 < pixels.max()  # something was drawn on the white page
    assert cost_curve_png([], [0.7, 0.4], "no costs").startswith(b"\x89PNG")


def test_curves_are_drawn_for_the_long_public_cases_only(assignment, expected):
    """The long cases of dnn_app are hidden: shown as public they get a curve; as they are, none,
    even when the student's code returned nothing (the reference's curve would be drawn alone)."""

    def report_with(visibility, returned_costs: bool) -> SubmissionReport:
        report = SubmissionReport(
            name="s",
            path="s.ipynb",
            sha256="0",
            assignment=assignment.name,
            assignment_version=assignment.version,
            status="graded",
        )
        for case in assignment.cases():
            costs = [float(c) for c in expected.for_case(case.id).parts["costs"]] if returned_costs else []
            report.cases.append(
                CaseVerdict(
                    case.id, case.function, case.description, visibility or case.visibility, "failed", series=costs
                )
            )
        return report

    curves = curves_for(report_with("visible", True), expected, assignment)
    long_cases = {c.id for c in assignment.cases() if len(expected.for_case(c.id).parts["costs"]) >= CURVE_MIN_POINTS}
    assert set(curves) == long_cases == {"two_layer_model/curve", "L_layer_model/curve"}
    for data in curves.values():
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert all(c.visibility == "hidden" for c in assignment.cases() if c.id in long_cases)
    assert curves_for(report_with(None, False), expected, assignment) == {}
    assert curves_for(report_with(None, True), expected, assignment) == {}


def test_outputs_that_are_not_numbers_fit_no_family(assignment, catalogue, expected, workdir):
    """NaN equals NaN in the comparison, so all-NaN outputs (from any mistake) agree with every variant
    that also ends in NaN: a value fitted from them would name a mistake the cell does not make (here
    'forward relu/relu' for a cell whose activations are right)."""
    import json

    case = next(c for c in assignment.cases() if c.id == "two_layer_model/public-2")
    want = expected.for_case(case.id)
    raw, _ = reference_raw(catalogue, case, workdir)
    parameters, costs = raw["returned"]
    nan = {
        "returned": ({k: v * np.nan for k, v in parameters.items()}, [c * np.nan for c in costs]),
        "stdout": raw["stdout"],
    }
    result = kernel_result(nan)
    comparison = compare(case, want, result, assignment)
    notebook = json.loads((assignment.folder / "dnn_app_solution.ipynb").read_text())
    source = "".join(notebook["cells"][16]["source"])
    assert graded_name(source) == "two_layer_model"
    found = said(diagnose(assignment, case, want, result, comparison, CodeCell(16, source)))
    assert not (found or {}).get("mistake"), found


def test_a_fitted_recording_interval_points_at_the_line_that_records(catalogue):
    """The print's own `if print_cost and i % 100 == 0` comes first in the cell; the interval is on the
    `if` that appends to costs."""
    import json

    from grader.judge.patterns import locate

    notebook = json.loads((ASSIGNMENT_DIR / "dnn_app_solution.ipynb").read_text())
    source = "".join(notebook["cells"][16]["source"]).replace("if i % 100 == 0 or", "if i % every == 0 or")
    family = next(f for f in catalogue.module.FAMILIES if f["id"] == "cost-every-n")
    line = locate(family["where"], source)
    assert line is not None and "i % every" in source.splitlines()[line - 1]


def test_evidence_that_trips_on_odd_code_does_not_hide_the_other_families(assignment, catalogue, expected, workdir):
    """An int literal too large for a float (here in a branch never run) made the rate's evidence raise,
    and every family of the cell went unnamed with it."""
    import json

    case = next(c for c in assignment.cases() if c.id == "two_layer_model/learning-rate")
    want = expected.for_case(case.id)
    notebook = json.loads((ASSIGNMENT_DIR / "dnn_app_solution.ipynb").read_text())
    update = "        parameters = update_parameters(parameters, grads, learning_rate)"
    source = (
        "".join(notebook["cells"][16]["source"])
        .replace("if i % 100 == 0 or", "if i % 7 == 0 or")
        .replace(update, f"        if False:\n    {update.replace('learning_rate)', '1' + '0' * 400 + ')')}\n{update}")
    )
    result = kernel_result(catalogue.module.family_outputs("cost-every-n", 7, case, workdir))
    comparison = compare(case, want, result, assignment)
    found = said(diagnose(assignment, case, want, result, comparison, CodeCell(16, source)))
    assert found["mistake"] == "cost-every-n", found
