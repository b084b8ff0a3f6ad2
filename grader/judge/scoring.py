"""Scoring: each graded function's points are split evenly over its cases, in shares that add up
to exactly its points (a results.json reader that sums the cases finds the function's points)."""

from __future__ import annotations

from grader.model import GradedFunction, SubmissionReport

SHARE_DECIMALS = 6  #: the decimals of a case's share, as results.json writes it


def case_shares(points: float, cases: int) -> list[float]:
    """The shares of a function's `cases` cases: even, rounded to SHARE_DECIMALS, with the rounding's
    remainder on the last case, so that written out they sum to `points` exactly (10 over 3 cases:
    3.333333, 3.333333, 3.333334). A function without cases has no shares."""
    if cases <= 0:
        return []
    head = [round(points / cases, SHARE_DECIMALS)] * (cases - 1)
    return [*head, round(points - sum(head), SHARE_DECIMALS)]


def score_report(report: SubmissionReport, functions: list[GradedFunction]) -> None:
    """Fill in every verdict's score and maximum, each function's score, and the report's totals."""
    for graded in functions:
        own = report.cases_of(graded.name)
        report.function_points[graded.name] = graded.points
        for verdict, share in zip(own, case_shares(graded.points, len(own)), strict=True):
            verdict.max_score = share
            verdict.score = share if verdict.earns else 0.0  # passed, or passed with correct callees
        report.function_scores[graded.name] = round(sum(v.score for v in own), SHARE_DECIMALS)
    report.score = round(sum(report.function_scores.values()), SHARE_DECIMALS)
    report.max_score = sum(report.function_points.values())
