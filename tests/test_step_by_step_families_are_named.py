"""The step-by-step assignment's families: a misplaced transpose, the cost's sum axis and keepdims, and
another layer's cache in L_model_backward are named with their value, and only when the numbers agree.

Each member edits the solution notebook's graded cell the way a student would write the mistake, with
values no stored variant holds (and, where the family allows, none of its public_values either: the
`@` spellings, axis=-1, caches[L - 1] and caches[-1]). The instructor's side grades them all in one
`grader grade` batch with decoys (correct code written differently, and static evidence that the
numbers do not confirm); the self-check grades them against one release bundle. Both print how many
are named. The evidence each family reads from a cell is also checked exactly, on small cells.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from grader import cli
from grader.assignment.manifest import load_assignment
from grader.judge.catalogue import PUBLIC_MISTAKES_FILE
from grader.model import SubmissionReport
from grader.store.gradebook import Gradebook
from grader.verbs.release import build_release
from tests.fixtures import messages, said
from tests.mistakes_corpus import grade_file
from tests.step_by_step_corpus import (
    FOLDER,
    LOSS,
    MEMBERS,
    SOLUTION,
    SQUEEZE,
    UNCONFIRMED,
    Member,
    write_families,
)

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

ROOT = Path(__file__).resolve().parent.parent
# A fixed catalogue mistake whose outcome a member shares on some case may be named there instead.
ALIASES = {"cache-layer": {"wrong-cache-layer"}, "cost-sum": {"cost-not-squeezed"}}
FAMILIES = {m.family for m in MEMBERS}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, SubmissionReport]:
    """Every member, the decoy and the unconfirmed entry graded in one batch: {name: report}."""
    batch = tmp_path_factory.mktemp("sbs-families")
    write_families(batch)
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
        return {row.name: row.submission_report() for row in book.rows()}


def _named(report: SubmissionReport, member: Member) -> list[dict]:
    """The diagnoses of the member's failing cases that name its family (with any value)."""
    return [
        said(c)
        for c in report.cases_of(member.function)
        if not c.passed and c.diagnosis and said(c).get("mistake") == member.family
    ]


def test_every_member_is_named_with_its_value_and_its_line(graded):
    named = {m.name: _named(graded[m.name], m) for m in MEMBERS}
    print(
        f"\nstep-by-step family members named in the instructor's report: "
        f"{sum(map(bool, named.values()))}/{len(MEMBERS)}"
    )
    for member in MEMBERS:
        report = graded[member.name]
        assert report.score < report.max_score, f"{member.name} lost no points"
        assert named[member.name], (member.name, [c.diagnosis for c in report.cases_of(member.function)])
        for diagnosis in named[member.name]:
            assert diagnosis["parameter"] == member.shown, diagnosis
            assert member.shown in diagnosis["title"] and "Evidence:" in diagnosis["explanation"]
            assert diagnosis["line"].startswith("cell ") and diagnosis["code"] in diagnosis["explanation"]
        accepted = {member.family} | ALIASES.get(member.family, set())
        for verdict in report.cases_of(member.function):  # a failing case names the family, an alias, or nothing
            assert verdict.passed == (verdict.diagnosis is None)
            mistake = said(verdict).get("mistake") if verdict.diagnosis else None
            assert mistake is None or mistake in accepted or mistake not in FAMILIES, (member.name, verdict.diagnosis)


def test_correct_code_written_differently_scores_full_marks_and_names_nothing(graded):
    report = graded["decoy"]
    assert report.score == report.max_score, [(c.case_id, messages(c)) for c in report.cases if not c.passed]
    assert all(c.diagnosis is None for c in report.cases)


def test_evidence_the_numbers_do_not_confirm_names_no_family(graded):
    report = graded[UNCONFIRMED.name]
    failing = [c for c in report.cases_of("compute_cost") if not c.passed]
    assert failing
    assert all(c.diagnosis is not None and said(c).get("mistake") not in FAMILIES for c in failing), [
        c.diagnosis for c in failing
    ]


# --- the self-check: the same members against one release bundle ------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    folder, _ = build_release(load_assignment(FOLDER), tmp_path_factory.mktemp("sbs-self") / "bundle", None)
    return folder


def _told_apart(bundle: Path, function: str, accepted: set[str]) -> bool:
    """Some public case of the function holds an outcome of the family that no other stored mistake
    gives too (caches[L - 1] and caches[l + 1] are one and the same on a two-layer case), and not
    as an exception alone (many slips raise the same one): only then can the self-check name it
    without misleading."""
    from grader.judge.outcome_store import public_outcomes
    from grader.judge.outcomes import same_outcome

    assignment = load_assignment(bundle)
    by_case = public_outcomes(json.loads((bundle / PUBLIC_MISTAKES_FILE).read_text()))
    for case in assignment.cases():
        stored = by_case.get(case.id, {}) if case.function == function else {}
        tol = assignment.tolerance(case.function, case)
        for mistake, outcome in stored.items():
            if mistake.split("=")[0] not in accepted or "error" in outcome:
                continue
            others = [o for m, o in stored.items() if m.split("=")[0] not in accepted]
            if not any(same_outcome(case, outcome, other, tol.rtol, tol.atol) for other in others):
                return True
    return False


def test_the_self_check_names_every_member_the_public_cases_tell_apart(bundle, tmp_path):
    write_families(tmp_path)
    paths = [str(tmp_path / f"{m.name}.ipynb") for m in MEMBERS]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        reports = [SubmissionReport.from_dict(r) for r in pool.map(grade_file, paths, [str(bundle)] * len(paths))]
    outcomes = json.loads((bundle / PUBLIC_MISTAKES_FILE).read_text())["outcomes"]
    named, tellable = [], []
    for member, report in zip(MEMBERS, reports, strict=True):
        failing = [c for c in report.cases_of(member.function) if not c.passed]
        accepted = {member.family} | ALIASES.get(member.family, set())
        ids = {str(said(c).get("mistake")).split("=")[0] for c in failing if c.diagnosis}
        if ids & accepted:
            named.append(member.name)
        stored = any(
            key.split("|")[0].split("=")[0] in accepted and key.split("|")[1].startswith(member.function + "/")
            for key in outcomes
        )
        if failing and stored and _told_apart(bundle, member.function, accepted):
            tellable.append(member.name)
    print(
        f"\nself-check: {len(named)}/{len(MEMBERS)} step-by-step family members named from the bundle "
        f"({len(tellable)} told apart by the public cases)"
    )
    assert set(tellable) <= set(named), sorted(set(tellable) - set(named))
    assert len(named) >= len(FAMILIES)


def test_check_prints_the_likely_transpose_mistake(bundle, tmp_path, capsys):
    student = tmp_path / "bundle"
    shutil.copytree(bundle, student)
    member = next(m for m in MEMBERS if m.name == "dW-without-transpose")
    nbformat.write(member.notebook(nbformat.read(SOLUTION, as_version=4)), student / "dnn_step_by_step.ipynb")
    status = cli.main(["check", str(student / "dnn_step_by_step.ipynb"), "--assignment", str(student)])
    out = capsys.readouterr().out
    assert status == 1
    assert "Likely mistake: a transpose is misplaced: dW = np.dot(dZ, A_prev)" in out, out
    assert "np.dot(dZ, A_prev)" in out and "Fix:" in out


# --- the evidence read from a cell, exactly -----------------------------------------------------------

FORWARD = "def linear_forward(A, W, b):\n    Z = {}\n    return Z, (A, W, b)\n"
BACKWARD = (
    "def linear_backward(dZ, cache):\n    A_prev, W, b = cache\n    m = A_prev.shape[1]\n    dW = {}\n"
    "    db = np.sum(dZ, axis=1, keepdims=True) / m\n    dA_prev = {}\n    return dA_prev, dW, db\n"
)
COST_CELL = "def compute_cost(AL, Y):\n    m = Y.shape[1]\n    cost = {}\n{}    return cost\n"
LOOP = (
    "def L_model_backward(AL, Y, caches):\n    L = len(caches)\n    current_cache = caches[L - 1]\n"
    "    for layer in reversed(range(L - 1)):\n        current_cache = caches[{}]\n    return {{}}\n"
)


@pytest.fixture(scope="module")
def catalogue():
    from grader.judge.catalogue import load_catalogue

    return load_catalogue(load_assignment(FOLDER)).module


@pytest.mark.parametrize(
    "family, function, source, found",
    [
        ("transpose", "linear_forward", FORWARD.format("np.dot(W, A) + b"), None),
        ("transpose", "linear_forward", FORWARD.format("W @ A + b"), None),
        ("transpose", "linear_forward", FORWARD.format("W.dot(A) + b"), None),
        ("transpose", "linear_forward", FORWARD.format("np.dot(A.T, W.T).T + b"), None),  # transposed as a whole
        ("transpose", "linear_forward", FORWARD.format("np.transpose(W).dot(A) + b"), (2, ("Z", "dot", "W.T", "A"))),
        ("transpose", "linear_forward", FORWARD.format("np.matmul(A, W) + b"), (2, ("Z", "matmul", "A", "W"))),
        ("transpose", "linear_backward", BACKWARD.format("np.dot(dZ, A_prev.T) / m", "np.dot(W.T, dZ)"), None),
        (
            "transpose",
            "linear_backward",
            BACKWARD.format("np.dot(A_prev, dZ.T) / m", "np.dot(W.T, dZ)"),
            (4, ("dW", "dot", "A_prev", "dZ.T")),
        ),
        (
            "transpose",
            "linear_backward",
            BACKWARD.format("np.dot(dZ, A_prev.T) / m", "dZ.T @ W"),
            (6, ("dA_prev", "matmul", "dZ.T", "W")),
        ),
        ("transpose", "linear_backward", BACKWARD.format("np.dot(dZ, Aprev_T) / m", "np.dot(W.T, dZ)"), None),
        ("cost-sum", "compute_cost", COST_CELL.format(f"-np.sum({LOSS}) / m", ""), None),
        ("cost-sum", "compute_cost", COST_CELL.format(f"-np.sum({LOSS}, axis=1, keepdims=True) / m", SQUEEZE), None),
        (
            "cost-sum",
            "compute_cost",
            COST_CELL.format(f"-np.sum({LOSS}, 0, keepdims=True) / m", SQUEEZE),
            (3, (0, True, True)),
        ),
        ("cost-sum", "compute_cost", COST_CELL.format(f"-np.sum({LOSS}, axis=-2) / m", ""), (3, (-2, False, False))),
        ("cost-sum", "compute_cost", COST_CELL.format(f"-np.sum({LOSS}, axis=k) / m", ""), None),  # not a literal
        ("cache-layer", "L_model_backward", LOOP.format("layer"), None),
        ("cache-layer", "L_model_backward", LOOP.format("layer+2"), (5, ("l", 2))),
        ("cache-layer", "L_model_backward", LOOP.format("L - 2"), (5, ("L", -2))),
        ("cache-layer", "L_model_backward", LOOP.format("0"), (5, ("", 0))),
        ("cache-layer", "L_model_backward", LOOP.format("len(caches) - 1"), None),  # not read
        ("cache-layer", "L_model_backward", LOOP.format("layer") + "def broken(:\n", None),  # does not parse
    ],
)
def test_the_evidence_is_read_from_the_cell(catalogue, family, function, source, found):
    evidence = next(f for f in catalogue.FAMILIES if f["id"] == family)["evidence"]
    assert evidence(source, function) == found
