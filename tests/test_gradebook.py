"""The gradebook database, and the CSV and summary rebuilt from it (no kernel needed here)."""

import csv
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from grader.render.summary import summary_view, write_gradebook_csv, write_summary_html
from grader.store.gradebook import SCHEMA_VERSION, Gradebook, GradebookError
from tests.fixtures import ROOT, make_report, messages, problem_texts, said


def test_a_row_is_stored_and_read_back_whole(tmp_path):
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        book.record(make_report("alice", passed=(True, False, True, True)))
        (row,) = book.rows("dnn_app", "1")
    assert (row.name, row.status, row.score, row.times_graded) == ("alice", "graded", 75.0, 1)
    assert row.function_scores == {"two_layer_model": 25.0, "L_layer_model": 50.0}
    again = row.submission_report()
    assert [v.passed for v in again.cases] == [True, False, True, True]
    assert row.first_graded_at == row.graded_at and row.graded_at.endswith("+00:00")
    connection = sqlite3.connect(tmp_path / "gradebook.sqlite")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


SCHEMA_1 = """
CREATE TABLE submissions (
    assignment TEXT NOT NULL, assignment_version TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
    path TEXT NOT NULL, status TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL,
    function_scores TEXT NOT NULL, report TEXT NOT NULL, seconds REAL NOT NULL, first_graded_at TEXT NOT NULL,
    graded_at TEXT NOT NULL, times_graded INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (assignment, assignment_version, name))
"""


def test_a_gradebook_of_the_previous_schema_opens_and_keeps_its_rows(tmp_path):
    import json

    path = tmp_path / "gradebook.sqlite"
    old = sqlite3.connect(path)
    report = make_report("alice")
    written = report.to_dict()  # as the version before the records stored it: sentences
    written["problems"] = ["cell 3 raised ValueError: x when run"]
    written["cases"][0] |= {
        "messages": ["not run: it timed out"],
        "notes": None,
        "diagnosis": {"mistake": "m", "title": "the m mistake", "explanation": "e", "fix": "f"},
    }
    for key in ("notes", "isolation"):
        written["cases"][0].pop(key, None) if key == "notes" else written.pop(key)
    old.execute(SCHEMA_1)
    old.execute(
        "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "dnn_app",
            "1",
            "alice",
            report.sha256,
            report.path,
            "graded",
            100.0,
            100.0,
            json.dumps(report.function_scores),
            json.dumps(written),
            1.0,
            "t0",
            "t0",
            1,
        ),
    )
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    with Gradebook(path) as book:
        assert book.is_current("alice", report.sha256, "dnn_app", "1")
        assert book.origins() == {"alice": ""}  # any submission named alice may adopt it
        book.claim("alice", "/class/week1.zip!alice.ipynb")
        assert book.origins() == {"alice": "/class/week1.zip!alice.ipynb"}
        book.record(make_report("bob"), "/class/week1.zip!bob.ipynb")
        book.record(make_report("bob", sha="2" * 64))  # a caller without an origin keeps the stored one
        assert book.origins()["bob"] == "/class/week1.zip!bob.ipynb"
        assert [row.name for row in book.rows()] == ["alice", "bob"]
        assert book.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        stored = book.row("alice", "dnn_app", "1")
    # Upgraded in place: the sentences are Text records now, and read back as they were written.
    assert stored.report["problems"] == [{"kind": "text", "text": "cell 3 raised ValueError: x when run"}]
    again = stored.submission_report()
    assert problem_texts(again) == ["cell 3 raised ValueError: x when run"]
    assert messages(again.cases[0]) == ["not run: it timed out"]
    assert said(again.cases[0])["title"] == "the m mistake" and again.isolated


def test_only_an_unchanged_file_is_current_and_a_new_hash_replaces_the_row(tmp_path):
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        book.record(make_report("bob", sha="a" * 64, passed=(False,) * 4))
        assert book.is_current("bob", "a" * 64, "dnn_app", "1")
        assert not book.is_current("bob", "b" * 64, "dnn_app", "1")  # the file changed
        assert not book.is_current("bob", "a" * 64, "dnn_app", "2")  # the assignment changed
        assert not book.is_current("carol", "a" * 64, "dnn_app", "1")
        first = book.row("bob", "dnn_app", "1")
        book.record(make_report("bob", sha="b" * 64))
        rows = book.rows("dnn_app", "1")
    assert len(rows) == 1
    assert (rows[0].sha256, rows[0].score, rows[0].times_graded) == ("b" * 64, 100.0, 2)
    assert rows[0].first_graded_at == first.first_graded_at and rows[0].graded_at >= first.graded_at


def test_a_grader_error_is_not_current(tmp_path):
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        book.record(make_report("dave", status="error", passed=(False,) * 4))
        assert not book.is_current("dave", "1" * 64, "dnn_app", "1")


def test_versions_are_kept_apart(tmp_path):
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        book.record(make_report("erin", version="1"))
        book.record(make_report("erin", version="2", passed=(False,) * 4))
        assert [r.score for r in book.rows("dnn_app", "1")] == [100.0]
        assert [r.score for r in book.rows("dnn_app", "2")] == [0.0]
        assert len(book.rows()) == 2


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "gradebook.sqlite"
    path.write_text("this is not sqlite " * 100)
    with pytest.raises(GradebookError, match="cannot be used as a gradebook"):
        Gradebook(path)


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from grader.store.gradebook import Gradebook
    from tests.fixtures import make_report, messages, problem_texts, said
    who, count, path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    (path.parent / f"ready-{{who}}").touch()
    while len(list(path.parent.glob("ready-*"))) < 2:  # start writing together
        time.sleep(0.01)
    with Gradebook(path) as book:
        for index in range(count):
            # Half the names are shared with the other writer, half are its own.
            name = f"shared-{{index}}" if index % 2 == 0 else f"{{who}}-{{index}}"
            book.record(make_report(name, sha=who[0] * 64))
            book.rows("dnn_app", "1")  # readers run between the writes too
""")


def test_two_batches_writing_at_once_do_not_corrupt_the_database(tmp_path):
    path = tmp_path / "gradebook.sqlite"
    count = 80
    script = WRITER.format(root=str(ROOT))
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, who, str(count), str(path)], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for who in ("first", "second")
    ]
    errors = [w.communicate(timeout=240)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Gradebook(path) as book:
        rows = book.rows("dnn_app", "1")
    shared = [r for r in rows if r.name.startswith("shared-")]
    assert len(rows) == count // 2 + 2 * (count // 2)
    assert sum(r.times_graded for r in rows) == 2 * count  # every write landed, none was lost
    assert all(r.times_graded == 2 for r in shared)


def test_csv_has_one_row_per_submission_with_function_scores(tmp_path, assignment):
    path = tmp_path / "gradebook.sqlite"
    with Gradebook(path) as book:
        book.record(make_report("alice", passed=(True, False, True, True), version=assignment.version))
        book.record(make_report("=cmd|evil", passed=(False,) * 4, status="invalid", version=assignment.version))
        book.record(make_report("old-version", version="0"))
    count = write_gradebook_csv(path, tmp_path / "gradebook.csv", assignment)
    with open(tmp_path / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert count == len(rows) == 2  # only the assignment's current version
    assert list(rows[0])[:6] == ["name", "sha256", "two_layer_model", "L_layer_model", "total", "max_score"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["alice"]["two_layer_model"] == "25" and by_name["alice"]["total"] == "75"
    assert by_name["alice"]["status"] == "graded" and by_name["alice"]["sha256"] == "1" * 64
    assert "'=cmd|evil" in by_name  # a name a spreadsheet would run as a formula is quoted
    assert by_name["'=cmd|evil"]["status"] == "invalid"


def test_summary_counts_pass_rates_and_mistakes(tmp_path, assignment):
    path, version = tmp_path / "gradebook.sqlite", assignment.version
    with Gradebook(path) as book:
        book.record(make_report("a", passed=(True, True, True, True), version=assignment.version))
        book.record(make_report("b", passed=(True, True, True, False), mistake="range-minus-one", version=version))
        book.record(make_report("c", passed=(True, False, True, False), mistake="range-minus-one", version=version))
        book.record(make_report("d", passed=(False,) * 4, status="invalid", version=assignment.version))
        book.record(make_report("e", passed=(False,) * 4, status="error", version=assignment.version))
        view = summary_view(book.rows("dnn_app", assignment.version), assignment)
        write_summary_html(book, tmp_path / "summary.html", assignment)
    rates = {c.id: (c.passed, c.total) for c in view.cases}
    assert rates == {
        "two_layer_model/case-0": (3, 3),
        "two_layer_model/case-1": (2, 3),
        "L_layer_model/case-0": (3, 3),
        "L_layer_model/case-1": (1, 3),
    }
    assert (view.graded, view.invalid, view.errors, view.full_marks) == (3, 1, 1, 1)
    assert view.mean == pytest.approx((100 + 75 + 50 + 0) / 4)
    assert sum(b.count for b in view.histogram) == 4
    assert view.histogram[-1].count == 1 and view.histogram[0].count == 1
    assert [(m.id, m.title, m.count, m.functions) for m in view.mistakes] == [
        ("range-minus-one", "the range-minus-one mistake", 2, ("L_layer_model", "two_layer_model"))
    ]
    html = (tmp_path / "summary.html").read_text()
    assert "<script" not in html and 'id="case-pass-rates"' in html
    assert 'data-case="L_layer_model/case-1"' in html and "1 / 3" in html
    assert 'data-mistake="range-minus-one"' in html
    assert 'id="invalid-count">1<' in html and 'id="error-count">1<' in html


def test_a_rerun_summary_line_counts_the_kept_rows_too(tmp_path):
    """On a rerun the unchanged rows are skipped: the line says what they hold, so its counts add up to
    the rows listed (a rerun of 2 graded and 4 refused files said `refused 0` over 4 refused rows)."""
    from types import SimpleNamespace

    from grader.batch.run import Batch
    from grader.model import SubmissionStatus

    batch = Batch(None, None, tmp_path, tmp_path)  # type: ignore[arg-type]
    statuses = [SubmissionStatus.GRADED] * 2 + [SubmissionStatus.INVALID] * 4
    rows = [SimpleNamespace(name=f"s{i}", status=s, score=0.0, max_score=100) for i, s in enumerate(statuses)]
    line = batch._summary_line(rows, {row.name for row in rows})
    assert line.startswith("graded 0, skipped 6 unchanged (kept from an earlier run: 2 graded, 4 refused), refused 0")
    first = batch._summary_line(rows, set())
    assert first.startswith("graded 0, skipped 0 unchanged, refused 0")
