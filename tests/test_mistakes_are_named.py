"""The mistake corpus, graded end to end: each mistake costs points where it is, and is named.

Every notebook of tests/mistakes_corpus.py is graded once (a module fixture, two worker
processes). A mistake must lose points on the function it breaks and only there, and at least one
failing case must name it, pointing at a line of that function's cell. A correct solution written
differently must keep full marks and receive no diagnosis at all.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from grader.judge.catalogue import load_catalogue
from grader.model import SubmissionReport
from tests.fixtures import ASSIGNMENT_DIR, messages, problem_texts, said
from tests.mistakes_corpus import CORRECT_ENTRIES, ENTRIES, MISTAKE_ENTRIES, grade_file, write_corpus

# critical: also run under the oldest supported versions; kernel: grades notebooks, the sandbox proven first
pytestmark = [pytest.mark.critical, pytest.mark.kernel]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, SubmissionReport]:
    paths = write_corpus(tmp_path_factory.mktemp("mistake-corpus"))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        reports = list(pool.map(grade_file, [str(paths[e.name]) for e in ENTRIES]))
    return {entry.name: SubmissionReport.from_dict(report) for entry, report in zip(ENTRIES, reports, strict=True)}


def test_every_catalogued_mistake_has_a_notebook_in_the_corpus():
    catalogue = load_catalogue(ASSIGNMENT_DIR)
    assert catalogue is not None
    assert sorted(catalogue.mistakes) == sorted(e.mistake for e in MISTAKE_ENTRIES)
    assert len(catalogue.mistakes) >= 12


@pytest.mark.parametrize("entry", MISTAKE_ENTRIES, ids=lambda e: e.name)
def test_a_mistake_loses_points_on_its_function_only(graded, entry):
    report = graded[entry.name]
    assert report.status == "graded", problem_texts(report)
    for function, points in report.function_points.items():
        if function == entry.function:
            assert report.function_scores[function] < points - 1e-9, f"{entry.name} lost no points"
        else:
            assert report.function_scores[function] == pytest.approx(points), (
                f"{entry.name} lost points on {function}: "
                f"{[(c.case_id, messages(c)) for c in report.cases_of(function) if not c.passed]}"
            )


@pytest.mark.parametrize("entry", MISTAKE_ENTRIES, ids=lambda e: e.name)
def test_a_mistake_is_named_and_located(graded, entry):
    report = graded[entry.name]
    failing = [c for c in report.cases_of(entry.function) if not c.passed]
    named = [c for c in failing if c.diagnosis and said(c).get("mistake") == entry.mistake]
    assert named, f"{entry.name}: no failing case names it; got {[c.diagnosis for c in failing]}"
    others = {said(c).get("mistake") for c in failing if c.diagnosis} - {entry.mistake, None}
    assert not others - set(said(named[0]).get("also_possible", [])), f"other mistakes named: {others}"
    diagnosis = said(named[0])
    assert diagnosis["title"] and diagnosis["explanation"] and diagnosis["fix"]
    assert diagnosis.get("line", "").startswith("cell "), f"{entry.name}: the line was not located: {diagnosis}"
    for verdict in report.cases:
        if verdict.passed:
            assert verdict.diagnosis is None


@pytest.mark.parametrize("entry", CORRECT_ENTRIES, ids=lambda e: e.name)
def test_a_correct_solution_written_differently_gets_full_marks_and_no_diagnosis(graded, entry):
    report = graded[entry.name]
    assert report.score == pytest.approx(report.max_score), [
        (c.case_id, messages(c)) for c in report.cases if not c.passed
    ]
    assert all(c.diagnosis is None for c in report.cases)


def test_the_curve_cases_record_the_students_costs(graded, assignment):
    report = graded["correct-while-loop"]
    curves = [c for c in report.cases if c.case_id.endswith("/curve")]
    iterations = {c.id: c.recipe["args"]["num_iterations"] for c in assignment.cases()}
    assert len(curves) == 2
    for verdict in curves:  # one cost every 100 iterations, from iteration 0
        assert len(verdict.series) == -(-iterations[verdict.case_id] // 100) >= 5
