"""Families of mistakes: any value of a catalogued mistake's parameter is named, and only when the
numbers confirm it.

The family members of tests/mistakes_corpus.py use values no stored variant holds (learning rates
0.01 and 0.05, costs every 50 and every 10, loops short by 1 and 2, sigmoid in both layers, the
backward activations swapped). They are graded in one batch; the test prints how many are named.

The fitted members carry no static evidence (a rate in a variable or reassigned, an interval in a
variable, a loop that starts at 1 or ends at a variable, activations held in variables): their
parameter is fitted from the returned values and confirmed by a run. They are graded in the same
batch, with decoys that must not be named (a correct cell that renames the rate, uncatalogued
mistakes next to a fittable shape) and one member graded with no budget for re-running variants,
which keeps the plain localisation.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from grader.model import Limits, SubmissionReport
from grader.model.diagnosis import DiagnosisBudget
from grader.render.diagnosis import UNSHOWN_VALUE
from tests.fixtures import proven_sandbox, said
from tests.mistakes_corpus import (
    DECOYS,
    FAMILY_ALIASES,
    FAMILY_BATCH,
    FAMILY_ENTRIES,
    FITTED_ENTRIES,
    RENAMED,
    ROOT,
    SHOWN,
    UNCONFIRMED_ENTRIES,
    write_corpus,
)

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

# Graded with no budget for re-running variants: today's localisation, no family.
NO_BUDGET = [FITTED_ENTRIES[0]]
NO_BUDGET_LIMITS = {"diagnosis_runs": 0}

FAMILY_IDS = {e.mistake for e in FAMILY_ENTRIES}


def grade_with(path: str, limits: dict) -> dict:
    """Grade one corpus notebook without a sandbox, with these limits over the manifest's (a worker)."""
    import os
    import sys
    from pathlib import Path

    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from grader.assignment.manifest import load_assignment
    from grader.grading import GradeOptions, grade_one
    from grader.judge.expected import ExpectedValues

    assignment = load_assignment(ROOT / "assignments" / "dnn_app")
    report = grade_one(
        Path(path),
        assignment,
        ExpectedValues(assignment),
        GradeOptions(sandbox=proven_sandbox(), limits=assignment.limits.overridden(limits)),
    )
    return report.to_dict()


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict[tuple[str, bool], SubmissionReport]:
    """{(entry name, with the default budget): report}, every notebook graded in one batch."""
    paths = write_corpus(tmp_path_factory.mktemp("family-corpus"), FAMILY_BATCH)
    jobs = [(e.name, True) for e in FAMILY_BATCH] + [(e.name, False) for e in NO_BUDGET]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        reports = list(
            pool.map(
                grade_with,
                [str(paths[name]) for name, _ in jobs],
                [{} if budget else NO_BUDGET_LIMITS for _, budget in jobs],
            )
        )
    return {job: SubmissionReport.from_dict(report) for job, report in zip(jobs, reports, strict=True)}


@pytest.fixture(scope="module")
def graded(batch) -> dict[str, SubmissionReport]:
    return {name: report for (name, budget), report in batch.items() if budget}


def _named(report: SubmissionReport, entry) -> list:
    accepted = {entry.mistake} | FAMILY_ALIASES.get(entry.mistake, set())
    return [
        c
        for c in report.cases_of(entry.function)
        if not c.passed and c.diagnosis and said(c).get("mistake") in accepted
    ]


def test_every_family_member_is_named_with_its_evidence(graded):
    named = {e.name: _named(graded[e.name], e) for e in FAMILY_ENTRIES}
    print(f"\nfamily members named in the instructor's report: {sum(map(bool, named.values()))}/{len(named)}")
    for entry in FAMILY_ENTRIES:
        report = graded[entry.name]
        assert report.score < report.max_score, f"{entry.name} lost no points"
        assert named[entry.name], (
            f"{entry.name}: not named; got {[c.diagnosis for c in report.cases_of(entry.function) if not c.passed]}"
        )
        diagnosis = said(named[entry.name][0])
        assert diagnosis.get("line", "").startswith("cell "), diagnosis
        if diagnosis["mistake"] == entry.mistake:  # a family (not a stored variant) says its evidence
            assert "Evidence:" in diagnosis["explanation"] and diagnosis["code"] in diagnosis["explanation"]
        for verdict in report.cases:
            assert verdict.passed == (verdict.diagnosis is None)


def test_family_values_are_filled_in(graded):
    rates = {
        said(c).get("parameter")
        for e in FAMILY_ENTRIES
        if e.mistake == "learning-rate-constant"
        for c in _named(graded[e.name], e)
    }
    assert rates == {"0.01", "0.05"}
    every = {
        said(c).get("parameter")
        for e in FAMILY_ENTRIES
        if e.mistake == "cost-every-n"
        for c in _named(graded[e.name], e)
    }
    assert every == {"50", "10"}


@pytest.mark.parametrize("entry", UNCONFIRMED_ENTRIES, ids=lambda e: e.name)
def test_static_evidence_the_numbers_do_not_confirm_names_nothing(graded, entry):
    report = graded[entry.name]
    failing = [c for c in report.cases_of(entry.function) if not c.passed]
    assert failing
    for verdict in failing:  # a stored variant may match where the case's own rate is the literal's
        assert verdict.diagnosis is not None and said(verdict).get("mistake") not in FAMILY_IDS, verdict.diagnosis
    assert any(said(verdict).get("mistake") is None for verdict in failing)  # the localisation stays


def test_every_fitted_member_is_named_with_the_fitted_value(graded):
    named = {e.name: _named(graded[e.name], e) for e in FITTED_ENTRIES}
    print(
        f"\nfamily members without static evidence named (fitted, then confirmed): "
        f"{sum(map(bool, named.values()))}/{len(named)}"
    )
    for entry in FITTED_ENTRIES:
        report = graded[entry.name]
        assert report.score < report.max_score, f"{entry.name} lost no points"
        assert named[entry.name], (
            f"{entry.name}: not named; got {[c.diagnosis for c in report.cases_of(entry.function) if not c.passed]}"
        )
        for verdict in named[entry.name]:
            diagnosis = said(verdict)
            assert diagnosis["mistake"] == entry.mistake and diagnosis["parameter"] == SHOWN[entry.name], diagnosis
            assert diagnosis["evidence"] == "fitted+confirmed", diagnosis
            assert "was fitted from your returned values" in diagnosis["explanation"], diagnosis
            if verdict.visibility != "visible":  # the code could have computed the value from the hidden inputs
                assert UNSHOWN_VALUE in diagnosis["explanation"], diagnosis
                assert SHOWN[entry.name] not in diagnosis["title"] + diagnosis.get("fix", ""), diagnosis
            assert "your cell states it" not in diagnosis["explanation"]
            if "code" in diagnosis:  # the line it most likely sits on, quoted
                assert diagnosis["code"] in diagnosis["explanation"] and diagnosis["line"].startswith("cell ")
            else:
                assert "none is quoted" in diagnosis["explanation"]
        assert all(verdict.passed == (verdict.diagnosis is None) for verdict in report.cases)


def test_a_fitted_loop_quotes_the_loop_line(graded):
    entry = next(e for e in FITTED_ENTRIES if e.name == "fitted-loop-from-1")
    codes = {said(c).get("code") for c in _named(graded[entry.name], entry)}
    assert codes == {"for i in range(1, num_iterations):"}


def test_a_correct_cell_that_renames_the_rate_is_not_named(graded):
    report = graded[RENAMED.name]
    assert report.score == report.max_score
    assert [c.diagnosis for c in report.cases] == [None] * len(report.cases)


@pytest.mark.parametrize("entry", DECOYS, ids=lambda e: e.name)
def test_an_unconfirmed_fit_names_nothing(graded, entry):
    failing = [c for c in graded[entry.name].cases_of(entry.function) if not c.passed]
    assert failing
    assert all(c.diagnosis is not None and said(c).get("mistake") not in FAMILY_IDS for c in failing), [
        c.diagnosis for c in failing
    ]
    assert any(said(c).get("mistake") is None for c in failing)  # the localisation stays


@pytest.mark.parametrize("entry", NO_BUDGET, ids=lambda e: e.name)
def test_without_a_budget_the_diagnosis_falls_back_to_the_localisation(batch, entry):
    budgeted, spent = batch[(entry.name, True)], batch[(entry.name, False)]
    assert _named(budgeted, entry)  # named when variants may run ...
    failing = [c for c in spent.cases_of(entry.function) if not c.passed]
    assert failing and spent.score == budgeted.score
    assert all(c.diagnosis is not None and said(c).get("mistake") not in FAMILY_IDS for c in failing)
    assert any(said(c).get("mistake") is None and said(c).get("title") for c in failing)


def test_the_budget_stops_runs_before_they_start():
    calls = []
    budget = DiagnosisBudget(seconds=60.0, runs=2)
    results = [budget.run(lambda: calls.append(1) or {"returned": None}) for _ in range(4)]
    assert calls == [1, 1] and results[2:] == [None, None] and budget.exhausted
    assert DiagnosisBudget(seconds=0.0, runs=100).run(lambda: calls.append(2)) is None and calls == [1, 1]
    assert DiagnosisBudget.from_limits(Limits(diagnosis_runs=3)).runs == 3


@pytest.mark.parametrize(
    "edit, shown",
    [("np.sum(dZ, keepdims=True)", "axis=None, keepdims=True"), ("np.sum(dZ, axis=0)", "axis=0, keepdims=False")],
)
def test_the_second_assignments_db_sum_family_is_named(tmp_path, edit, shown):
    """dnn_step_by_step: db's sum with an axis/keepdims no stored variant holds is named by its family."""
    import nbformat

    from grader.assignment.manifest import load_assignment
    from grader.grading import GradeOptions, grade_one
    from grader.judge.expected import ExpectedValues
    from tests.step_by_step_corpus import FOLDER, SOLUTION

    notebook = nbformat.read(SOLUTION, as_version=4)
    cells = [c for c in notebook.cells if c.cell_type == "code" and "np.sum(dZ, axis=1, keepdims=True)" in c.source]
    assert len(cells) == 1
    cells[0].source = cells[0].source.replace("np.sum(dZ, axis=1, keepdims=True)", edit)
    nbformat.write(notebook, tmp_path / "student.ipynb")
    assignment = load_assignment(FOLDER)
    report = grade_one(
        tmp_path / "student.ipynb", assignment, ExpectedValues(assignment), GradeOptions(sandbox=proven_sandbox())
    )
    failing = [c for c in report.cases if c.function == "linear_backward" and not c.passed]
    named = [said(c) for c in failing if c.diagnosis and said(c).get("mistake") == "db-sum"]
    assert named, [c.diagnosis for c in failing]
    assert shown in named[0]["title"] and edit in named[0]["explanation"]
