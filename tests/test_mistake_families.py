"""Families of mistakes: any value of a catalogued mistake's parameter is named, and only when the
numbers confirm it.

The family members of tests/mistakes_corpus.py use values no stored variant holds (learning rates
0.01 and 0.05, costs every 50 and every 10, loops short by 1 and 2, sigmoid in both layers, the
backward activations swapped). They are graded in one batch; the test prints how many are named.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from grader.reports.results import SubmissionReport
from tests.mistakes_corpus import FAMILY_ALIASES, FAMILY_ENTRIES, UNCONFIRMED_ENTRIES, grade_file, write_corpus

ALL = FAMILY_ENTRIES + UNCONFIRMED_ENTRIES


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, SubmissionReport]:
    paths = write_corpus(tmp_path_factory.mktemp("family-corpus"), ALL)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        reports = list(pool.map(grade_file, [str(paths[e.name]) for e in ALL]))
    return {entry.name: SubmissionReport.from_dict(report) for entry, report in zip(ALL, reports, strict=True)}


def _named(report: SubmissionReport, entry) -> list:
    accepted = {entry.mistake} | FAMILY_ALIASES.get(entry.mistake, set())
    return [c for c in report.cases_of(entry.function)
            if not c.passed and c.diagnosis and c.diagnosis.get("mistake") in accepted]


def test_every_family_member_is_named_with_its_evidence(graded):
    named = {e.name: _named(graded[e.name], e) for e in FAMILY_ENTRIES}
    print(f"\nfamily members named in the instructor's report: {sum(map(bool, named.values()))}/{len(named)}")
    for entry in FAMILY_ENTRIES:
        report = graded[entry.name]
        assert report.score < report.max_score, f"{entry.name} lost no points"
        assert named[entry.name], (f"{entry.name}: not named; got "
                                   f"{[c.diagnosis for c in report.cases_of(entry.function) if not c.passed]}")
        diagnosis = named[entry.name][0].diagnosis
        assert diagnosis.get("line", "").startswith("cell "), diagnosis
        if diagnosis["mistake"] == entry.mistake:  # a family (not a stored variant) says its evidence
            assert "Evidence:" in diagnosis["explanation"] and diagnosis["code"] in diagnosis["explanation"]
        for verdict in report.cases:
            assert verdict.passed == (verdict.diagnosis is None)


def test_family_values_are_filled_in(graded):
    rates = {c.diagnosis.get("parameter") for e in FAMILY_ENTRIES if e.mistake == "learning-rate-constant"
             for c in _named(graded[e.name], e)}
    assert rates == {"0.01", "0.05"}
    every = {c.diagnosis.get("parameter") for e in FAMILY_ENTRIES if e.mistake == "cost-every-n"
             for c in _named(graded[e.name], e)}
    assert every == {"50", "10"}


@pytest.mark.parametrize("entry", UNCONFIRMED_ENTRIES, ids=lambda e: e.name)
def test_static_evidence_the_numbers_do_not_confirm_names_nothing(graded, entry):
    report = graded[entry.name]
    failing = [c for c in report.cases_of(entry.function) if not c.passed]
    assert failing
    families = {e.mistake for e in FAMILY_ENTRIES}
    for verdict in failing:  # a stored variant may match where the case's own rate is the literal's
        assert verdict.diagnosis is not None and verdict.diagnosis.get("mistake") not in families, verdict.diagnosis
    assert any(verdict.diagnosis.get("mistake") is None for verdict in failing)  # the localisation stays


@pytest.mark.parametrize("edit, shown", [("np.sum(dZ, keepdims=True)", "axis=None, keepdims=True"),
                                         ("np.sum(dZ, axis=0)", "axis=0, keepdims=False")])
def test_the_second_assignments_db_sum_family_is_named(tmp_path, edit, shown):
    """dnn_step_by_step: db's sum with an axis/keepdims no stored variant holds is named by its family."""
    import nbformat

    from grader.assignment.manifest import load_assignment
    from grader.grading import GradeOptions, grade_notebook
    from grader.judge.expected import ExpectedValues
    from tests.step_by_step_corpus import FOLDER, SOLUTION

    notebook = nbformat.read(SOLUTION, as_version=4)
    cells = [c for c in notebook.cells if c.cell_type == "code" and "np.sum(dZ, axis=1, keepdims=True)" in c.source]
    assert len(cells) == 1
    cells[0].source = cells[0].source.replace("np.sum(dZ, axis=1, keepdims=True)", edit)
    nbformat.write(notebook, tmp_path / "student.ipynb")
    assignment = load_assignment(FOLDER)
    report = grade_notebook(tmp_path / "student.ipynb", assignment, ExpectedValues(assignment),
                            GradeOptions(sandbox=None))
    failing = [c for c in report.cases if c.function == "linear_backward" and not c.passed]
    named = [c.diagnosis for c in failing if c.diagnosis and c.diagnosis.get("mistake") == "db-sum"]
    assert named, [c.diagnosis for c in failing]
    assert shown in named[0]["title"] and edit in named[0]["explanation"]
