"""What the instructor reads after a batch: gradebook.csv and summary.html, rebuilt from the database.

Both are written from the gradebook alone, never from the batch's memory, so they are complete
after a resumed batch and identical whoever rebuilds them.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from grader.model import CaseVerdict, SubmissionReport
from grader.render.diagnosis import diagnosis_words
from grader.render.feedback import environment, write_text_atomically
from grader.render.notes import note_text
from grader.render.views import (
    CaseGroupView,
    CaseRateView,
    HistogramBinView,
    MistakeCountView,
    SubmissionRowView,
    SummaryView,
)
from grader.store.gradebook import Gradebook, GradebookRow

if TYPE_CHECKING:
    from grader.assignment.manifest import Assignment

HISTOGRAM_BINS = 10
LOW_PASS_RATE = 0.5


def _rows(db: Gradebook | Path | str, assignment=None) -> list[GradebookRow]:
    """The rows of one assignment version (of every assignment when none is given)."""

    def select(book: Gradebook) -> list[GradebookRow]:
        if assignment is None:
            return book.rows()
        return book.rows(assignment.name, assignment.version)

    if isinstance(db, Gradebook):
        return select(db)
    with Gradebook(Path(db)) as book:
        return select(book)


def _function_names(rows: list[GradebookRow], assignment) -> list[str]:
    names = [f.name for f in assignment.functions] if assignment is not None else []
    for row in rows:
        names += [name for name in row.function_scores if name not in names]
    return names


def _cell(text: object) -> str:
    """A text cell a spreadsheet will not read as a formula."""
    value = str(text)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(value: float) -> str:
    return f"{round(float(value), 4):g}"


def write_gradebook_csv(db: Gradebook | Path | str, path: Path, assignment=None) -> int:
    """One row per submission: name, file hash, score per function, total, status. Returns the row count."""
    rows = _rows(db, assignment)
    functions = _function_names(rows, assignment)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["name", "sha256", *functions, "total", "max_score", "status", "graded_at", "path"]
    if assignment is None:
        header[2:2] = ["assignment", "assignment_version"]
    writer.writerow(header)
    for row in rows:
        line = [_cell(row.name), row.sha256]
        if assignment is None:
            line += [_cell(row.assignment), _cell(row.assignment_version)]
        line += [_number(row.function_scores.get(name, 0.0)) for name in functions]
        line += [_number(row.score), _number(row.max_score), row.status, row.graded_at, _cell(row.path)]
        writer.writerow(line)
    write_text_atomically(Path(path), buffer.getvalue())
    return len(rows)


def _histogram(percents: list[float]) -> tuple[HistogramBinView, ...]:
    counts = [0] * HISTOGRAM_BINS
    width = 100 / HISTOGRAM_BINS
    for percent in percents:
        counts[min(HISTOGRAM_BINS - 1, max(0, int(percent // width)))] += 1
    tallest = max(counts) or 1
    bins = []
    for index, count in enumerate(counts):
        low = int(index * width)
        high = 100 if index == HISTOGRAM_BINS - 1 else int((index + 1) * width) - 1
        bins.append(HistogramBinView(label=f"{low}-{high}", count=count, height=round(100 * count / tallest, 1)))
    return tuple(bins)


def _case_rates(reports: list[SubmissionReport]) -> tuple[CaseRateView, ...]:
    """Per case, over the submissions that were graded: how many passed it."""
    first: dict[str, CaseVerdict] = {}
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for report in reports:
        for verdict in report.cases:
            first.setdefault(verdict.case_id, verdict)
            total[verdict.case_id] += 1
            passed[verdict.case_id] += verdict.passed
    return tuple(_case_rate(verdict, passed[case_id], total[case_id]) for case_id, verdict in first.items())


def _case_rate(verdict: CaseVerdict, passed: int, total: int) -> CaseRateView:
    rate = passed / total if total else 0.0
    return CaseRateView(
        id=verdict.case_id,
        function=verdict.function,
        description=verdict.description,
        hidden=verdict.visibility != "visible",
        passed=passed,
        total=total,
        rate=rate,
        percent=round(100 * rate, 1),
        low=rate < LOW_PASS_RATE,
    )


def _mistakes(reports: list[SubmissionReport]) -> tuple[MistakeCountView, ...]:
    """Catalogued mistakes (a named diagnosis's `mistake`) and how many graded submissions made each."""
    titles: dict[str, str] = {}
    functions: dict[str, set] = {}
    counts: Counter = Counter()
    for report in reports:
        seen = set()
        for verdict in report.cases:
            found = verdict.diagnosis
            if found is None or not found.named:
                continue
            mistake = str(found.mistake)
            titles.setdefault(mistake, diagnosis_words(found, public=True).title or mistake)
            functions.setdefault(mistake, set()).add(verdict.function)
            seen.add(mistake)
        counts.update(seen)
    return tuple(
        MistakeCountView(id=mistake, title=titles[mistake], count=count, functions=tuple(sorted(functions[mistake])))
        for mistake, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )


def _submission_row(row: GradebookRow, report: SubmissionReport, functions: list[str]) -> SubmissionRowView:
    return SubmissionRowView(
        name=row.name,
        score=row.score,
        max_score=row.max_score,
        status=row.status,
        functions=tuple(row.function_scores.get(name, 0.0) for name in functions),
        note=note_text(report.problems[0]) if report.problems else "",
    )


def summary_view(rows: list[GradebookRow], assignment: Assignment | None) -> SummaryView:
    """The numbers summary.html shows."""
    reports = [row.submission_report() for row in rows]
    graded = [r for r in reports if r.status == "graded"]
    scored = [row for row in rows if row.status in ("graded", "invalid")]
    percents = [100 * row.score / row.max_score if row.max_score else 0.0 for row in scored]
    functions = _function_names(rows, assignment)
    cases = _case_rates(graded)
    functions += [c.function for c in cases if c.function not in functions]
    max_score = max((row.max_score for row in rows), default=0.0)
    if not max_score and assignment is not None:
        max_score = sum(f.points for f in assignment.functions)
    return SummaryView(
        title=getattr(assignment, "title", None) or (rows[0].assignment if rows else "Gradebook"),
        assignment=assignment,
        count=len(rows),
        graded=len(graded),
        invalid=sum(1 for row in rows if row.status == "invalid"),
        errors=sum(1 for row in rows if row.status == "error"),
        full_marks=sum(1 for row in scored if row.max_score and row.score >= row.max_score - 1e-9),
        not_isolated=sum(1 for r in graded if not r.isolated),
        max_score=max_score,
        mean=statistics.fmean([row.score for row in scored]) if scored else None,
        median=statistics.median([row.score for row in scored]) if scored else None,
        histogram=_histogram(percents),
        cases=cases,
        case_groups=tuple(
            CaseGroupView(function=name, cases=tuple(c for c in cases if c.function == name))
            for name in functions
            if any(c.function == name for c in cases)
        ),
        low_percent=round(100 * LOW_PASS_RATE),
        mistakes=_mistakes(graded),
        functions=tuple(functions),
        submissions=tuple(_submission_row(row, report, functions) for row, report in zip(rows, reports, strict=True)),
    )


def write_summary_html(db: Gradebook | Path | str, path: Path, assignment: Assignment | None) -> None:
    """The class overview: score distribution, pass rate of every case, catalogued mistakes."""
    view = summary_view(_rows(db, assignment), assignment)
    write_text_atomically(Path(path), environment().get_template("summary.html").render(view=view))
