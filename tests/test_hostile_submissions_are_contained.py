"""Every hostile or broken submission of the corpus gets a clear report and harms nothing else.

The corpus (tests/hostile_corpus.py) is graded once, by `grader grade` in the sandbox, with short
limits, two submissions at a time, mixed with well-behaved ones (tests/hostile_grading.py, a
session fixture: tests/test_dask.py grades the same batch on a Dask cluster and compares). The
checks: each report says what happened in words a student can act on; cheats score 0 on what they
faked; the well-behaved submissions get exactly the scores they get alone; no process is left
behind; no file outside the temporary folders changes.

The test process is made a "child subreaper" while the batch runs, so any process a kernel starts
and abandons becomes our child instead of init's, where the leftover check finds it.
"""

from __future__ import annotations

import math
import re

import pytest

from grader.assignment.manifest import load_assignment
from grader.grading import GradeOptions, grade_one
from grader.judge.expected import ExpectedValues
from tests.conftest import ASSIGNMENT_DIR
from tests.fixtures import messages, problem_texts
from tests.hostile_corpus import CORPUS
from tests.hostile_grading import LIMITS, gradebook_rows

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)


def _text(report) -> str:
    names = load_assignment(ASSIGNMENT_DIR)
    return "\n".join(problem_texts(report) + [m for case in report.cases for m in messages(case, names)])


def _outcome(report) -> list[tuple]:
    return [(c.case_id, c.status, round(c.score, 9)) for c in report.cases]


@pytest.fixture(scope="module")
def graded(assignment, sandbox, hostile_batch) -> dict:
    """The batch graded once by `grader grade`, two workers (the session's `hostile_batch`, shared with
    tests/test_dask.py), read back from the gradebook; and the well-behaved notebooks graded alone.
    """
    expected = ExpectedValues(assignment)
    options = GradeOptions(sandbox=sandbox, limits=assignment.limits.overridden(LIMITS))
    alone = {name: grade_one(path, assignment, expected, options) for name, path in hostile_batch.calm.items()}
    rows = gradebook_rows(hostile_batch.out)
    batch = hostile_batch
    return {
        "alone": alone,
        "reports": {name: row.submission_report() for name, row in rows.items()},
        "rows": rows,
        "done": batch.done,
        "count": batch.count,
        "bound": batch.bound,
        "seconds": batch.seconds,
        "guarded": batch.guarded,
        "guarded_after": batch.guarded_after,
        "leftovers": batch.leftovers,
        "planted": batch.planted,
    }


@pytest.mark.parametrize("entry", CORPUS, ids=[entry.name for entry in CORPUS])
def test_each_report_says_what_happened(graded, entry):
    report = graded["reports"][entry.name]
    text = _text(report)
    assert report.status == entry.expect.status, text
    for words in entry.expect.words:
        assert re.search(words, text), f"{entry.name}: the report does not say /{words}/:\n{text}"
    for function in entry.expect.zero:
        assert report.function_scores[function] == 0, f"{entry.name}: {function} scored on what it faked\n{text}"
    for function in entry.expect.full:
        assert math.isclose(report.function_scores[function], report.function_points[function]), (
            f"{entry.name}: {function}, left untouched, lost points\n{text}"
        )
    assert "Traceback" not in "\n".join(problem_texts(report)), problem_texts(report)
    assert report.isolated is True
    dnn_app = load_assignment(ASSIGNMENT_DIR)
    hidden = "\n".join(m for case in report.cases if case.visibility != "visible" for m in messages(case, dnn_app))
    for words in entry.expect.hidden_never:
        assert not re.search(words, hidden), f"{entry.name}: a hidden case's messages say /{words}/:\n{hidden}"
    if entry.expect.max_seconds is not None:
        assert report.seconds < entry.expect.max_seconds, f"{entry.name}: graded in {report.seconds:.0f} s"


def test_process_storm_was_capped(graded):
    text = _text(graded["reports"]["process_storm"])
    started = [int(n) for n in re.findall(r"fork failed after (\d+) processes", text)]
    assert started and max(started) < LIMITS["processes"], text


def test_every_report_is_bounded(graded):
    for name, report in graded["reports"].items():
        size = len(str(report.to_dict()))
        assert size < 200_000, f"{name}: a report of {size} characters"


def test_well_behaved_submissions_score_as_they_do_alone(graded):
    alone = graded["alone"]
    assert math.isclose(alone["solution"].score, alone["solution"].max_score)
    assert 0 < alone["fixed_rate"].score < alone["fixed_rate"].max_score  # partly right: shows it is compared
    for name, report in alone.items():
        assert _outcome(graded["reports"][name]) == _outcome(report), name


def test_no_process_is_left_behind(graded):
    assert graded["leftovers"] == []


def test_no_file_outside_the_temporary_folders_changed(graded):
    """Every file of the checkout and every entry at the top of $HOME and / is as it was, and none is new."""
    assert graded["planted"] == []
    before, after = graded["guarded"], graded["guarded_after"]
    changed = sorted(str(path) for path in set(before) | set(after) if before.get(path) != after.get(path))
    assert changed == []
    assert any(path.name == "expected.npz" for path in before)  # the checkout's files are among them


def test_grade_command_finishes_the_corpus_in_bounded_time(graded):
    """`grader grade` on the corpus and the well-behaved notebooks, two workers: every row recorded, in time."""
    assert graded["done"].returncode == 0, graded["done"].stderr[-3000:]
    assert graded["seconds"] < graded["bound"]
    rows = graded["rows"]
    assert len(rows) == graded["count"], sorted(rows)
    assert {row.status for row in rows.values()} <= {"graded", "invalid"}, {n: r.status for n, r in rows.items()}
    assert math.isclose(rows["solution"].score, rows["solution"].max_score)
    for entry in CORPUS:
        assert rows[entry.name].status == entry.expect.status, entry.name
        for function in entry.expect.zero:
            assert rows[entry.name].function_scores[function] == 0, entry.name
