"""What comes into the grader: links, special files, names that are not UTF-8, files nested too
deeply, and one submission's failure to be stored. None of them may be followed, block, or end the
batch; each becomes an invalid (or error) row that says why."""

import hashlib
import os
import re
import zipfile

import pytest
from tqdm import tqdm

from grader import cli
from grader.assignment.notebook import SubmissionError, read_submission
from grader.batch import collection
from grader.batch.collection import collect_submissions
from grader.batch.pool import unrun_report
from grader.batch.run import Batch
from grader.grading import GradeOptions
from grader.render.refusals import refusal_text
from grader.store.gradebook import Gradebook
from tests.fixtures import csv_rows as _csv
from tests.fixtures import grade_cli, problem_texts
from tests.fixtures import gradebook_rows as _rows
from tests.intake_corpus import SOLUTION, write_intake_corpus

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)


@pytest.fixture()
def corpus(tmp_path):
    return write_intake_corpus(tmp_path / "submitted")


def test_links_and_special_files_are_never_followed_or_opened(corpus, tmp_path):
    found, warnings = collect_submissions([corpus["plain"].parent], tmp_path / "staging")
    by_name = {s.name: s for s in found}
    for name, words in (("link_to_solution", "symbolic link"), ("link_to_fifo", "symbolic link"), ("fifo", "a FIFO")):
        assert by_name[name].problem and words in refusal_text(by_name[name].problem), name
    assert not any(s.path.resolve() == SOLUTION.resolve() and not s.problem for s in found)
    assert any("linked_folder" in w and "symbolic link" in w for w in warnings)
    assert not any("dnn_app_solution" in s.source for s in found)  # the linked folder was not walked


def test_a_link_given_on_the_command_line_is_refused_with_a_message(corpus, tmp_path):
    found, _ = collect_submissions([corpus["link_to_solution"], corpus["fifo"]], tmp_path / "staging")
    assert [s.name for s in found] == ["link_to_solution", "fifo"]
    link, fifo = (refusal_text(s.problem) for s in found)
    assert "symbolic link" in link and "file itself" in link
    assert "FIFO" in fifo


def test_the_grader_grades_the_bytes_it_hashed(corpus, tmp_path):
    (submission,), _ = collect_submissions([corpus["plain"]], tmp_path / "staging")
    original = corpus["plain"].read_bytes()
    collection.stage(submission, tmp_path / "copies")
    corpus["plain"].write_text("changed after hashing")
    assert submission.path != corpus["plain"] and submission.path.read_bytes() == original
    assert submission.sha256 == hashlib.sha256(original).hexdigest()


def test_reading_refuses_links_and_fifos_without_blocking(corpus):
    for name in ("link_to_solution", "fifo", "link_to_fifo"):
        with pytest.raises(SubmissionError) as refused:
            read_submission(corpus[name], "import")
        assert re.search("symbolic link|FIFO", refusal_text(refused.value.refusal)), name


def test_a_notebook_nested_too_deeply_is_invalid(corpus):
    with pytest.raises(SubmissionError) as refused:
        read_submission(corpus["deep"], "import")
    assert "nested too deeply" in refusal_text(refused.value.refusal)


def test_check_says_a_deep_notebook_cannot_be_graded(corpus, capsys):
    status = cli.main(["check", str(corpus["deep"]), "--assignment", str(SOLUTION.parent)])
    out = capsys.readouterr()
    assert status == 2, out
    assert "nested too deeply" in out.out and "Traceback" not in out.out + out.err


def test_a_batch_of_hostile_files_finishes_with_a_row_for_each(corpus, tmp_path):
    out = tmp_path / "out"
    run = grade_cli(
        str(corpus["plain"].parent), str(corpus["link_to_solution"]), "--out", str(out), cwd=tmp_path, timeout=240
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert (out / "summary.html").is_file() and (out / "gradebook.csv").is_file()
    rows = _rows(out)
    assert {"caf_xe9", "deep", "fifo", "link_to_fifo", "link_to_solution", "plain"} <= set(rows)
    assert all(row.status == "invalid" and row.score == 0 for row in rows.values())
    assert "nested too deeply" in " ".join(problem_texts(rows["deep"].submission_report()))
    assert "caf\\xe9" in rows["caf_xe9"].path
    assert "caf_xe9" in _csv(out)
    assert "linked_folder" in run.stderr


def test_a_result_that_cannot_be_stored_becomes_an_error_row(assignment, tmp_path, monkeypatch):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b.ipynb").write_text("{}")
    found, _ = collect_submissions([tmp_path / "a.ipynb", tmp_path / "b.ipynb"], tmp_path / "staging")
    graded = Batch(assignment, GradeOptions(), tmp_path / "out", tmp_path / "staging", workers=1)
    original = Gradebook.record

    def record(self, report, origin=""):
        if report.name == "a" and report.status != "error":
            raise ValueError("a report the gradebook cannot hold")
        original(self, report, origin)

    monkeypatch.setattr(Gradebook, "record", record)
    with Gradebook(tmp_path / "out" / "gradebook.sqlite") as book:
        bar = tqdm(disable=True)
        for submission in found:
            submission.sha256 = "0" * 64
            graded.finish(book, bar, submission, unrun_report(submission, assignment, "invalid", "not a notebook"))
        rows = {row.name: row for row in book.rows()}
    assert rows["a"].status == "error" and "could not store" in problem_texts(rows["a"].submission_report())[0]
    assert rows["b"].status == "invalid"


def test_names_that_are_not_utf8_are_stored_escaped(assignment, tmp_path):
    path = tmp_path / os.fsdecode(b"caf\xe9.ipynb")
    path.write_text("{}")
    (submission,), _ = collect_submissions([path], tmp_path / "staging")
    report = unrun_report(submission, assignment, "invalid", "bad \udce9 message")
    report.path = str(path)  # even a raw name in a report is stored, escaped
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        book.record(report)
        (row,) = book.rows()
    assert row.name == "caf_xe9" and row.path.endswith("caf\\xe9.ipynb")
    assert "bad \\xe9 message" in problem_texts(row.submission_report())[0]


def _zip(path, member: str, text: str):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, text)
    return path


def test_the_same_name_from_another_zip_does_not_replace_the_first(tmp_path):
    week1 = _zip(tmp_path / "week1.zip", "alice.ipynb", "{}")  # invalid notebooks: no kernel is needed
    week2 = _zip(tmp_path / "week2.zip", "alice.ipynb", "not JSON")
    out = tmp_path / "out"
    first = grade_cli(str(week1), "--out", str(out), cwd=tmp_path, timeout=120)
    assert first.returncode == 0, first.stderr
    before = _rows(out)["alice"]
    second = grade_cli(str(week2), "--out", str(out), cwd=tmp_path, timeout=120)
    assert "graded 0, skipped 0 unchanged, refused 1" in second.stdout, second.stderr
    rows = _rows(out)
    assert sorted(rows) == ["alice", "alice-2"]
    assert (rows["alice"].sha256, rows["alice"].graded_at) == (before.sha256, before.graded_at)
    assert rows["alice-2"].path.startswith(str(week2))
    for name, words in (("alice", "no 'nbformat' field"), ("alice-2", "not valid JSON")):  # each its own reports
        assert words in (out / name / "feedback.md").read_text()
    # Reruns keep every name and skip what did not change, whichever zips are given, from anywhere.
    both = grade_cli(str(week2.relative_to(tmp_path)), str(week1), "--out", str(out), cwd=tmp_path, timeout=120)
    assert "graded 0, skipped 2 unchanged" in both.stdout, both.stderr
    assert sorted(_rows(out)) == ["alice", "alice-2"]


def test_names_held_in_the_gradebook_go_only_to_their_origin():
    names = collection.NameRegistry({"alice": "/a.zip!alice.ipynb", "bob": "", "carol-2": "/c2.ipynb"})
    assert names.take("alice", "/b.zip!alice.ipynb") == "alice-2"
    assert names.take("alice", "/a.zip!alice.ipynb") == "alice"
    assert names.take("bob", "/new/bob.ipynb") == "bob"  # a row from before origins: adopted
    assert names.take("renamed", "/c2.ipynb") == "carol-2"  # an origin keeps its row's name


def test_check_says_a_fifo_is_not_a_notebook_without_opening_it(corpus, capsys):
    status = cli.main(["check", str(corpus["fifo"]), "--assignment", str(SOLUTION.parent)])
    out = capsys.readouterr()
    assert status == 2 and "not a notebook file" in out.err and "Traceback" not in out.err
