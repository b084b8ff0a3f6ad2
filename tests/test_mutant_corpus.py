"""Mutants of the step-by-step solution against uncatalogued slips (tests/step_by_step_slips.py).

Every mutant of the ten graded functions runs on every case (public and hidden) in a forked child,
as `grader expected` would run them; so do the slips and the correct variants. The figures are
printed (how many slips one class of mutants names, how many several or none; the mutants per
function; the time taken), and what must hold is asserted: a correct variant is never named, a
slip modelled by an operator is named by a class holding a mutant of that operator, and a quoted
line is the student's edited one. The corpus itself is checked too: two slips per function at
least, none of them a catalogued mistake, in name or in outcome.
"""

from __future__ import annotations

from collections import Counter

import pytest

from grader.judge.diagnose import load_catalogue, variant_outcome
from grader.judge.mutants import Operator
from tests.mutant_measure import measure_all, report
from tests.step_by_step_corpus import FOLDER, FUNCTIONS
from tests.step_by_step_slips import CORRECT, SLIPS


@pytest.fixture(scope="module")
def measured():
    return measure_all()


def test_the_corpus_covers_every_function_with_uncatalogued_slips():
    per_function = Counter(slip.function for slip in SLIPS)
    assert len(SLIPS) >= 24 and len(CORRECT) >= 10
    assert all(per_function[function] >= 2 for function in FUNCTIONS), per_function
    assert len({slip.name for slip in SLIPS + CORRECT}) == len(SLIPS + CORRECT)
    catalogue = load_catalogue(FOLDER)
    known = set(catalogue.mistakes) | {family["id"] for family in catalogue.module.FAMILIES}
    assert not known & {slip.name for slip in SLIPS}


def test_the_figures(measured, capsys):
    with capsys.disabled():
        print("\n" + report(*measured))


def test_every_slip_fails_and_every_correct_variant_passes(measured):
    _, slips, correct = measured
    assert [v.slip.name for v in slips if v.passes] == []
    assert [v.slip.name for v in correct if not v.passes] == []


def test_no_correct_variant_is_named(measured):
    _, _, correct = measured
    assert {v.slip.name: len(v.classes) for v in correct if v.classes} == {}


def test_a_modelled_slip_is_named_with_its_operator(measured):
    _, slips, _ = measured
    modelled = [v for v in slips if v.slip.operator is not None]
    assert [v.slip.name for v in modelled if not v.modelled] == []


def test_a_quoted_line_is_the_student_edited_line(measured):
    _, slips, _ = measured
    quoted = [v for v in slips if v.line is not None]
    assert [(v.slip.name, v.line, v.edited_line) for v in quoted if v.line != v.edited_line] == []
    unquoted = [v.slip.name for v in slips if v.line is None and v.modelled and len(v.classes) == 1
                and v.slip.operator not in (Operator.DROP_STATEMENT, Operator.SIGN_FLIP)]
    assert unquoted == []  # a dropped statement has no line; a negated value is written otherwise


def test_no_slip_behaves_like_a_catalogued_mistake(measured):
    """The corpus measures what the catalogue does not name: no slip has the outcomes of one of its
    mistakes (or of a family member it ships) on every case of the function."""
    measure, slips, _ = measured
    catalogue = load_catalogue(measure.assignment)
    module = catalogue.module
    for verdict in slips:
        function = verdict.slip.function
        cases = measure.runs[function].cases
        names = measure.assignment.function(function).returns
        variants = {m_id: lambda case, m_id=m_id: module.variant_outputs(m_id, case, measure.folder)
                    for m_id, m in catalogue.mistakes.items() if function in m["functions"]}
        for family in module.FAMILIES:
            if function in family["functions"]:
                for value in family["public_values"]:
                    variants[f"{family['id']}={value}"] = (
                        lambda case, f=family["id"], v=value: module.family_outputs(f, v, case, measure.folder))
        for variant_id, run in variants.items():
            outcomes = {case.id: variant_outcome(run(case), case, names) for case in cases}
            assert not measure.agree(function, outcomes, verdict.outcomes), (verdict.slip.name, variant_id)
