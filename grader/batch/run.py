"""A batch of submissions: collected, staged, graded in the pool, each result kept as it finishes.

As each submission finishes, its reports are written and its row is committed to the gradebook,
so a batch killed at any moment resumes where it stopped.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from grader.assignment.manifest import Assignment
from grader.batch.collection import GRADEBOOK_CSV, SUMMARY_HTML, Submission, collect_submissions, stage
from grader.batch.pool import Pool, unrun_report
from grader.errors import UserError
from grader.grading import GradeOptions
from grader.model import SubmissionReport, SubmissionStatus
from grader.model.notes import Failure, GraderFailed
from grader.render.feedback import write_submission_reports
from grader.render.notes import hook_failed_text
from grader.render.summary import write_gradebook_csv, write_summary_html
from grader.store.gradebook import FILE_NAME as GRADEBOOK_FILE
from grader.store.gradebook import Gradebook

EXIT_GRADED, EXIT_GRADER_ERRORS = 0, 1  # `grader grade`'s statuses; 2 (bad input) comes from a UserError
LISTED_SUBMISSIONS = 20  # batches this small get a line per submission on the terminal


def say(message: str) -> None:
    tqdm.write(f"grader grade: {message}", file=sys.stderr)


class Batch:
    """One `grader grade` run: collect, stage, grade what changed, keep reports and gradebook rows."""

    def __init__(
        self,
        assignment: Assignment,
        options: GradeOptions,
        out: Path,
        staging: Path,
        *,
        paths: list[Path] | tuple[Path, ...] = (),
        workers: int = 2,
        regrade: bool = False,
        quiet: bool = False,
        dask: str | None = None,
    ):
        self.assignment, self.options, self.out, self.staging = assignment, options, out, staging
        self.paths, self.workers = [Path(p) for p in paths], max(1, int(workers))
        self.regrade, self.quiet, self.dask = regrade, quiet, dask
        self.done: Counter = Counter()

    def finish(self, book: Gradebook, bar: tqdm, submission: Submission, report: SubmissionReport) -> None:
        """Reports first, then the gradebook row: a row always has its reports on disk.

        Nothing about one submission ends the batch: a report that cannot be stored becomes an
        error row saying so. Only a gradebook that refuses even that row (the file is broken or the
        disk is full) stops the batch, with GradebookError.
        """
        try:
            report.name, report.path = submission.name, submission.source
            try:
                write_submission_reports(report, self.out / submission.name, self.assignment)
            except Exception as error:  # noqa: BLE001 - the row is still kept; reports are rebuilt on a rerun
                say(f"could not write the reports of {submission.name}: {type(error).__name__}: {error}")
            book.record(report, submission.origin)
            for note in report.instructor_notes:  # the instructor's catalogue failed: never hidden
                say(f"{submission.name}: {hook_failed_text(note, self.assignment.mistakes_file)}")
        except Exception as error:  # noqa: BLE001 - one submission's failure never stops the batch
            say(
                f"could not store the result of {submission.name} ({type(error).__name__}: {error}); "
                "it is recorded as an error"
            )
            report = unrun_report(
                submission,
                self.assignment,
                SubmissionStatus.ERROR,
                GraderFailed(Failure.NOT_STORED, type(error).__name__),
                self.options,
            )
            book.record(report, submission.origin)
        self.done[report.status] += 1
        bar.update(1)

    def _held(self) -> dict[str, str]:
        """The names an existing gradebook in --out already gives out, with their origins."""
        if not (self.out / GRADEBOOK_FILE).exists():
            return {}
        with Gradebook(self.out / GRADEBOOK_FILE) as book:
            return book.origins()

    def _restore_reports(self, book: Gradebook, submission: Submission) -> None:
        """An unchanged submission whose report folder went missing gets its reports back from the row."""
        if (self.out / submission.name / "results.json").is_file():
            return
        try:
            row = book.row(submission.name, self.assignment.name, self.assignment.version)
            if row is not None:
                write_submission_reports(row.submission_report(), self.out / submission.name, self.assignment)
        except Exception as error:  # noqa: BLE001 - the row stands; only its report files are missing
            say(f"could not rewrite the reports of {submission.name}: {error}")

    def run(self) -> int:
        submissions, warnings = collect_submissions(self.paths, self.staging / "files", self._held())
        for warning in warnings:
            say(warning)
        if not submissions:  # bad input, as a missing notebook is to `grader check`: exit status 2
            raise UserError("nothing to grade: give notebooks (.ipynb), folders holding them, or zips of them")
        for submission in submissions:
            stage(submission, self.staging / "copies")
        with Gradebook(self.out / GRADEBOOK_FILE) as book:
            todo, skipped = self._not_yet_graded(book, submissions)
            self._grade(book, todo)
            self._write_listings(book)
            rows = {row.name: row for row in book.rows(self.assignment.name, self.assignment.version)}
        listed = [rows[s.name] for s in submissions if s.name in rows]
        self._print_scores(listed)
        print(self._summary_line(listed, {s.name for s in skipped}))
        return EXIT_GRADER_ERRORS if any(row.status == SubmissionStatus.ERROR for row in listed) else EXIT_GRADED

    def _not_yet_graded(self, book: Gradebook, submissions: list[Submission]) -> tuple[list, list]:
        """(to grade, skipped): a submission whose file and assignment version the gradebook already
        holds keeps its row and reports (unless --regrade)."""
        todo, skipped = [], []
        for submission in submissions:
            if self.regrade or not book.is_current(
                submission.name, submission.sha256, self.assignment.name, self.assignment.version
            ):
                todo.append(submission)
                continue
            skipped.append(submission)
            book.claim(submission.name, submission.origin)
            self._restore_reports(book, submission)
            if submission.staged:  # the copy is not needed: free the disk at once
                submission.path.unlink(missing_ok=True)
        return todo, skipped

    def _grade(self, book: Gradebook, todo: list[Submission]) -> None:
        """Grade what is to grade (refused files get their row at once), each row stored as it finishes."""
        bar = tqdm(
            total=len(todo),
            desc="grading",
            unit="notebook",
            file=sys.stderr,
            disable=self.quiet or not todo,
            dynamic_ncols=True,
        )

        def finish(submission: Submission, report: SubmissionReport) -> None:
            self.finish(book, bar, submission, report)

        try:
            for submission in (s for s in todo if s.problem):
                status = SubmissionStatus.INVALID
                finish(submission, unrun_report(submission, self.assignment, status, submission.problem, self.options))
            runnable = [s for s in todo if not s.problem]
            if runnable and self.dask:
                from grader.batch.cluster import DaskPool  # distributed is an optional extra

                DaskPool(self.assignment, self.options, self.dask, finish, notify=say).run(runnable)
            elif runnable:
                Pool(self.assignment, self.options, self.workers, self.staging, finish).run(runnable)
        finally:
            bar.close()

    def _write_listings(self, book: Gradebook) -> None:
        """gradebook.csv and summary.html, rebuilt from the gradebook; one failing leaves the other."""
        for write, name in ((write_gradebook_csv, GRADEBOOK_CSV), (write_summary_html, SUMMARY_HTML)):
            try:
                write(book, self.out / name, self.assignment)
            except Exception as error:  # noqa: BLE001 - the other file, and the gradebook, still stand
                say(
                    f"could not write {self.out / name} ({type(error).__name__}: {error}); the gradebook "
                    "holds every result: run the same command again to rebuild it"
                )

    def _print_scores(self, listed: list) -> None:
        """A small batch's scores at a glance, with where each feedback page is."""
        if len(listed) > LISTED_SUBMISSIONS:
            return
        width = max(len(row.name) for row in listed) if listed else 0
        for row in listed:
            print(
                f"  {row.name:<{width}}  {row.score:6.1f} / {row.max_score:g}  {row.status}"
                f"  {self.out / row.name / 'feedback.html'}"
            )

    def _summary_line(self, rows: list, skipped: set[str]) -> str:
        """This run's counts: graded, skipped (with what the rows kept from an earlier run hold, so that
        the counts add up to the rows listed), refused (files that are not a gradable notebook), and the
        grader's own errors (graded again on a rerun)."""
        done = self.done
        kept = Counter(row.status for row in rows if row.name in skipped)
        held = [
            f"{kept[status]} {word}"
            for status, word in (
                (SubmissionStatus.GRADED, "graded"),
                (SubmissionStatus.INVALID, "refused"),
                (SubmissionStatus.ERROR, "grader errors"),
            )
            if kept[status]
        ]
        earlier = f" (kept from an earlier run: {', '.join(held)})" if held else ""
        line = (
            f"graded {done[SubmissionStatus.GRADED]}, skipped {len(skipped)} unchanged{earlier}, refused "
            f"{done[SubmissionStatus.INVALID]} (not a gradable notebook), grader errors "
            f"{done[SubmissionStatus.ERROR]}"
            + (" (run the same command again)" if done[SubmissionStatus.ERROR] else "")
        )
        scored = [row for row in rows if row.status in (SubmissionStatus.GRADED, SubmissionStatus.INVALID)]
        if scored:
            mean = sum(row.score for row in scored) / len(scored)
            top = max(row.max_score for row in scored)
            line += f"; mean score {mean:.1f} / {top:g} over {len(scored)} submission{'s' if len(scored) > 1 else ''}"
        return line + f"; see {self.out / SUMMARY_HTML}"
