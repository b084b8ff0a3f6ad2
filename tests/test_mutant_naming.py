"""Naming a slip by the solution's mutants (grader.judge.mutant_match), and naming that cannot mislead.

The rules on hand-made tables: a mutant is named when it behaves as the student's function on every
case it ran, never through exceptions alone, and among several slips only the one whose line is in
the cell. On the Step by Step assignment's stored mutants: the self-check (the bundle's public copy)
and the batch (the instructor's file) reach the same name from the same public outcomes, for every
uncatalogued slip of the corpus; the bundle's copy holds no solution code; and the words agree.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from grader.assignment.manifest import load_assignment
from grader.judge.expected import ReferenceRun, case_inputs, reference_outcome
from grader.judge.mutant_match import Ran, mutant_diagnosis
from grader.judge.mutant_runner import solution_namespace
from grader.judge.mutant_store import (
    PUBLIC_MUTANTS_FILE,
    MutantTable,
    SourceRuns,
    StoredMutant,
    _sources,
    changed_keys,
    mutant_table,
    read_mutants,
)
from grader.judge.mutants import generate
from grader.judge.outcome_store import as_text, stored_variant_table
from grader.model import Case, Difference, Kind
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.model.mutation import Detail, Operator, Site, Slip
from grader.model.notebook import CodeCell
from grader.render.diagnosis import diagnosis_words
from tests.step_by_step_corpus import FOLDER
from tests.step_by_step_slips import CORRECT, SLIPS

SOLUTION = "def compute_cost(x):\n    y = x + 1\n    return y * 2\n"


def _outcome(value: float) -> dict:
    return {
        "signature": "returned=n",
        "leaves": {"returned": np.array([1.0, value, abs(value), value])},
        "stdout": [],
        "inputs_changed": False,
    }


def _error() -> dict:
    return {"error": ["ValueError", "shapes (2,3) and (2,3) not aligned"]}


PASSED = Ran(True, _outcome(0.0))


@pytest.fixture(scope="module")
def assignment():
    return load_assignment(FOLDER)


def _cases(assignment) -> list[Case]:
    return [c for c in assignment.cases() if c.function == "compute_cost"][:2]


def _mutant(ident: str, operator: Operator, keys: tuple[str, ...] = (), **detail) -> StoredMutant:
    return StoredMutant(Slip(ident, operator, Detail(**detail)), "compute_cost", keys)


def _table(mutants: list[StoredMutant], outcomes: dict[str, dict[str, dict]]) -> MutantTable:
    """A table holding these outcomes ({case id: {mutant id: outcome}}), as the files spell it."""
    flat = {}
    for case_id, found in outcomes.items():
        for mutant_id, outcome in found.items():
            flat.update(stored_variant_table((mutant_id, case_id), outcome))
    return MutantTable({m.slip.id: m for m in mutants}, as_text(flat))


def test_a_mutant_matching_every_case_is_named_with_its_slip(assignment):
    first, second = _cases(assignment)
    stop = _mutant("compute_cost:a", Operator.RANGE_STOP, subject="l", delta=-1)
    other = _mutant("compute_cost:b", Operator.AXIS_SWAP, subject="np.sum", old="1", new="0")
    table = _table(
        [stop, other],
        {
            first.id: {"compute_cost:a": _outcome(2.0), "compute_cost:b": _outcome(3.0)},
            second.id: {"compute_cost:b": _outcome(1)},
        },
    )
    found = mutant_diagnosis(
        assignment,
        [first, second],
        {first.id: Ran(False, _outcome(2.0)), second.id: PASSED},
        table,
        "compute_cost",
        None,
    )
    assert found is not None and found.kind == DiagnosisKind.MUTANT and found.slip == stop.slip and found.named
    # the second case passed for the student, but not for the other mutant: only `a` matches both
    assert (
        mutant_diagnosis(
            assignment,
            [first, second],
            {first.id: Ran(False, _outcome(3.0)), second.id: PASSED},
            table,
            "compute_cost",
            None,
        )
        is None
    )


def test_an_exception_alone_never_names_a_mistake(assignment):
    first, second = _cases(assignment)
    table = _table(
        [_mutant("compute_cost:a", Operator.INDEX_SHIFT, subject="caches", delta=1)],
        {first.id: {"compute_cost:a": _error()}},
    )
    assert (
        mutant_diagnosis(
            assignment,
            [first, second],
            {first.id: Ran(False, _error()), second.id: PASSED},
            table,
            "compute_cost",
            None,
        )
        is None
    )


def test_of_several_slips_only_the_one_whose_line_is_in_the_cell_is_named(assignment):
    first, _ = _cases(assignment)
    mutants = generate(SOLUTION, "compute_cost")
    swap = next(m for m in mutants if m.operator == Operator.ARITH_SWAP and m.line == 2)  # y = x - 1
    scale = next(m for m in mutants if m.operator == Operator.CONSTANT_SCALE and m.line == 3)  # y * 20
    stored = [StoredMutant(m.slip, "compute_cost", changed_keys(SOLUTION, m)) for m in (swap, scale)]
    table = _table(stored, {first.id: {swap.id: _outcome(5.0), scale.id: _outcome(5.0)}})
    ran = {first.id: Ran(False, _outcome(5.0))}
    assert mutant_diagnosis(assignment, [first], ran, table, "compute_cost", None) is None  # two slips, no line
    cell = CodeCell(
        4,
        "# GRADED FUNCTION: compute_cost\ndef compute_cost(x):\n    '''y = x - 1'''\n    y = x - 1\n    return y * 2\n",
    )
    found = mutant_diagnosis(assignment, [first], ran, table, "compute_cost", cell)
    assert found is not None and found.slip == swap.slip
    assert found.place is not None and (found.place.cell, found.place.line, found.place.code) == (5, 4, "y = x - 1")


def test_the_words_of_a_mutant_diagnosis_never_quote_the_solution():
    slip = Slip("x", Operator.DROP_TERM, Detail(target="Z", place=Site.ASSIGNMENT, old="b", op="+"))
    words = diagnosis_words(Diagnosis(DiagnosisKind.MUTANT, "x", slip=slip, function="linear_forward"))
    assert words.title == "`b` is not added in `Z = ...`" and words.named
    assert "np.dot" not in words.title + words.explanation and "linear_forward" in words.explanation


@pytest.mark.parametrize(
    ("differing", "title", "verb"),
    [
        (("AL",), "AL differs", "It has the right form"),  # the title names them; the explanation follows it
        (("the returned value",), "the returned value differs", "It has the right form"),
        (("dW", "db"), "dW, db differ", "They have the right form"),
    ],
)
def test_differ_agrees_with_its_subject_and_the_advice_says_where_to_look(differing, title, verb):
    first = Difference(Kind.VALUES, (0,))
    advice = Diagnosis(
        DiagnosisKind.ADVICE, advice="numbers", differing=differing, first=first, function="L_model_forward"
    )
    words = diagnosis_words(advice)
    assert words.title == title
    assert words.explanation.startswith(verb) and "L_model_forward" in words.explanation
    assert words.explanation.count(". ") == 0  # one sentence


# --- the Step by Step assignment's stored mutants ---------------------------------------------------


def _solution_run(namespace: dict, assignment, case: Case, folder: Path) -> ReferenceRun:
    """The solution notebook's function on one case, run in-process as the mutants are (the instructor's code)."""
    arguments = case_inputs(assignment, case, folder)
    before = copy.deepcopy(arguments)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = namespace[case.function](**arguments)
    return ReferenceRun(returned, printed.getvalue().splitlines(), before)


@pytest.fixture(scope="module")
def public_runs(assignment):
    """Each slip's (and correct variant's) outcomes on the public cases of its function, run like the
    mutants were: {name: (function, {case id: outcome, or None where it passes})}."""
    cases = assignment.cases()
    from grader.judge.authored import solution_cells

    cells = solution_cells(assignment)
    with tempfile.TemporaryDirectory() as folder:
        assignment.prepare_workdir(Path(folder))
        namespace = solution_namespace(_sources(assignment)[1], Path(folder))  # the notebook's cells, as mutants run
        outputs = {c.id: _solution_run(namespace, assignment, c, Path(folder)) for c in cases}
        found = {}
        for slip in SLIPS + CORRECT:
            public = [c for c in cases if c.function == slip.function and c.public]
            references = {
                c.id: reference_outcome(outputs[c.id], c, assignment.function(c.function).returns) for c in public
            }
            runs = SourceRuns(
                assignment,
                slip.function,
                public,
                references,
                namespace,
                Path(folder),
                lambda c, f=folder: case_inputs(assignment, c, Path(f)),
            )
            outcomes = runs.outcomes(slip.cell(cells.graded_source(slip.function)))
            found[slip.name] = (
                slip.function,
                {k: Ran(runs.passes(k, o), o, runs.passes(k, o)) for k, o in outcomes.items()},
            )
        return found


def test_the_self_check_and_the_batch_name_the_same_slip_from_the_same_public_outcomes(assignment, public_runs):
    batch = read_mutants(assignment)
    bundle = mutant_table(json.loads((FOLDER / PUBLIC_MUTANTS_FILE).read_text()))
    assert batch is not None and bundle.mutants
    cases = assignment.cases(public_only=True)
    named = 0
    for name, (function, ran) in public_runs.items():
        by_batch = mutant_diagnosis(assignment, cases, ran, batch, function, None)
        by_bundle = mutant_diagnosis(assignment, cases, ran, bundle, function, None)
        assert (by_batch and by_batch.slip) == (by_bundle and by_bundle.slip), name
        named += by_batch is not None
    assert named >= 10  # the equality is not only of two Nones


def test_every_correct_variant_passes_its_public_cases(assignment, public_runs):
    assert all(ran.passed for slip in CORRECT for ran in public_runs[slip.name][1].values())


def test_the_bundle_copy_holds_no_solution_code_and_only_public_cases(assignment):
    text = (FOLDER / PUBLIC_MUTANTS_FILE).read_text()
    document = json.loads(text)
    assert all("source" not in record for record in document["mutants"].values())
    for line in ("np.dot(W, A) + b", "np.dot(W.T, dZ)", "np.sum(dZ, axis=1, keepdims=True)", "range(1, L)"):
        assert line not in text
    public = {c.id for c in assignment.cases(public_only=True)}
    assert {key.split("|")[1] for key in document["outcomes"]} <= public


# --- a catalogued variant: named only when that cannot mislead -----------------------------------------


def _forward_cell(old: str, new: str) -> CodeCell:
    from grader.judge.authored import solution_cells

    source = solution_cells(load_assignment(FOLDER)).graded_source("L_model_forward")
    assert source is not None and old in source
    return CodeCell(9, source.replace(old, new))


def test_a_catalogued_variant_matched_by_its_exception_alone_needs_its_line_in_the_cell(assignment):
    """The issue's misnaming: a loop one step short raises the ValueError the "A_prev in the last
    layer" variant raises; it was named though its line is not in the cell."""
    from grader.judge.expected import ExpectedValues
    from grader.judge.matching import named_mistake
    from grader.kernel.untrusted import raised_result

    case = next(c for c in assignment.cases() if c.id == "L_model_forward/public")
    want = ExpectedValues(assignment).for_case(case.id)
    error_type, message = want.variants["A-prev-in-last-layer"]["error"]
    result = raised_result(error_type, message)
    loop_short = _forward_cell("for l in range(1, L):", "for l in range(1, L - 1):")
    assert named_mistake(assignment, case, want, result, loop_short) is None
    a_prev = _forward_cell(
        "AL, cache = linear_activation_forward(A, ", "AL, cache = linear_activation_forward(A_prev, "
    )
    found = named_mistake(assignment, case, want, result, a_prev)
    assert found is not None and found.mistake == "A-prev-in-last-layer" and found.place is not None


def test_a_mutant_diagnosis_is_stored_in_the_gradebook_as_a_record():
    from grader.model.notes import to_json
    from grader.model.report import diagnosis_from

    slip = Slip("f:drop-term:3:8:0", Operator.DROP_TERM, Detail(target="Z", place=Site.ASSIGNMENT, old="b", op="+"))
    found = Diagnosis(DiagnosisKind.MUTANT, slip.id, slip=slip, function="linear_forward")
    assert diagnosis_from(json.loads(json.dumps(to_json(found)))) == found


def test_the_release_ships_the_public_copy_and_keeps_the_instructor_file(tmp_path):
    from grader.cli import main

    out = tmp_path / "bundle"
    assert main(["release", "--assignment", str(FOLDER), "--out", str(out)]) == 0
    assert (out / PUBLIC_MUTANTS_FILE).is_file() and not (out / "mutants_expected.npz").exists()
    bundle = load_assignment(out)
    table = read_mutants(bundle)
    assert table is not None and table.mutants and all(not m.source for m in table.mutants.values())


def test_a_catalogued_mistake_is_kept_only_when_its_variant_behaves_so_on_every_case(assignment):
    """The issue's other misnaming, in small: a variant that fails a case the student passed (both
    activations swapped, where only the sigmoid branch is) is not the student's mistake."""
    from dataclasses import replace
    from types import SimpleNamespace

    from grader.judge.diagnose import name_by_mutants
    from grader.judge.expected import ExpectedValues
    from grader.model import CaseStatus, CaseVerdict, Visibility
    from grader.model.diagnosis import DiagnosisBudget

    real = ExpectedValues(assignment)
    first, second = _cases(assignment)
    named = Diagnosis(DiagnosisKind.MISTAKE, "swapped", "both swapped", place=None)

    def graded(stored_on_second: dict | None) -> CaseVerdict:
        variants = {
            first.id: {"swapped": _outcome(2.0)},
            second.id: {"swapped": stored_on_second} if stored_on_second else {},
        }
        stored = {case_id: replace(real.for_case(case_id), variants=found) for case_id, found in variants.items()}
        expected = SimpleNamespace(for_case=stored.__getitem__)
        failed = CaseVerdict(
            first.id,
            first.function,
            "",
            Visibility.VISIBLE,
            CaseStatus.FAILED,
            differences=[Difference(Kind.VALUES, ())],
            diagnosis=named,
        )
        passed = CaseVerdict(second.id, second.function, "", Visibility.VISIBLE, CaseStatus.PASSED)
        budget = DiagnosisBudget(10, 10, outcomes={first.id: _outcome(2.0), second.id: _outcome(0.0)})
        name_by_mutants(assignment, [first, second], [failed, passed], {}, budget, expected)  # type: ignore[arg-type]
        return failed

    assert graded(None).diagnosis == named  # the variant passes the second case too: kept
    demoted = graded(_outcome(7.0)).diagnosis
    assert demoted is not None and demoted.kind == DiagnosisKind.ADVICE and not demoted.named
