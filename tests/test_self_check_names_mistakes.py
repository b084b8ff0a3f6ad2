"""The self-check names catalogued mistakes from the release bundle alone.

The bundle carries the variants' outcomes on the public cases (public_mistakes.json). The mistake
corpus (stored mistakes and family members) is graded against a bundle in one batch; the test
prints how many are named, and requires every mistake that a public case tells apart to be (a family
member counts when the bundle holds its family at some value: `family=value`).
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor

import pytest

from grader import cli
from grader.assignment.manifest import load_assignment
from grader.judge.catalogue import PUBLIC_MISTAKES_FILE
from grader.model import SubmissionReport
from grader.verbs.release import build_release
from tests.fixtures import ASSIGNMENT_DIR, said
from tests.mistakes_corpus import FAMILY_ENTRIES, MISTAKE_ENTRIES, build, grade_file, write_corpus

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

ALL = MISTAKE_ENTRIES + FAMILY_ENTRIES


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder, _ = build_release(load_assignment(ASSIGNMENT_DIR), tmp_path_factory.mktemp("self") / "bundle", None)
    return folder


@pytest.fixture(scope="module")
def graded(bundle, tmp_path_factory) -> dict[str, SubmissionReport]:
    paths = write_corpus(tmp_path_factory.mktemp("self-corpus"), ALL)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        reports = list(pool.map(grade_file, [str(paths[e.name]) for e in ALL], [str(bundle)] * len(ALL)))
    return {e.name: SubmissionReport.from_dict(r) for e, r in zip(ALL, reports, strict=True)}


def _tellable(bundle, entry) -> bool:
    """Some public case of the entry's function holds a stored outcome of its mistake (or of a member
    of its family), so that a failing public case can be told apart."""
    document = json.loads((bundle / PUBLIC_MISTAKES_FILE).read_text())
    return any(
        key.split("|")[0].split("=")[0] == entry.mistake and key.split("|")[1].startswith(entry.function + "/")
        for key in document["outcomes"]
    )


def test_the_self_check_names_every_stored_mistake_the_public_cases_tell_apart(bundle, graded):
    named, tellable = [], []
    for entry in ALL:
        report = graded[entry.name]
        failing = [c for c in report.cases_of(entry.function) if not c.passed]
        ids = {said(c).get("mistake") for c in failing if c.diagnosis}
        also = {m for c in failing if c.diagnosis for m in said(c).get("also_possible", [])}
        if any(m == entry.mistake or str(m).startswith(f"{entry.mistake}=") for m in ids | also):
            named.append(entry.name)
        if _tellable(bundle, entry) and failing:
            tellable.append(entry.name)
        assert all(c.diagnosis is None for c in report.cases if c.passed)
    print(
        f"\nself-check: {len(named)}/{len(ALL)} corpus mistakes named from the bundle "
        f"({len(tellable)} told apart by the public cases' stored outcomes); not named: "
        f"{sorted(e.name for e in ALL if e.name not in named)}"
    )
    assert set(tellable) <= set(named), sorted(set(tellable) - set(named))
    assert len(named) >= 8


def test_check_prints_the_likely_mistake_with_its_line(bundle, tmp_path, capsys):
    student = tmp_path / "bundle"
    shutil.copytree(bundle, student)
    entry = next(e for e in MISTAKE_ENTRIES if e.mistake == "update-discarded")
    import nbformat

    nbformat.write(build(entry), student / "dnn_app.ipynb")
    status = cli.main(["check", str(student / "dnn_app.ipynb"), "--assignment", str(student)])
    out = capsys.readouterr().out
    assert status == 1
    assert "Likely mistake: the result of update_parameters is thrown away" in out
    assert "update_parameters(parameters, grads, learning_rate)" in out and "Fix:" in out
