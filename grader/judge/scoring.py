"""Scoring: each graded function's points are split evenly over its cases."""

from __future__ import annotations

from grader.model import GradedFunction, SubmissionReport


def case_share(points: float, cases: int) -> float:
    """What one of a function's `cases` cases is worth; a function without cases has no share."""
    return points / cases if cases else 0.0


def score_report(report: SubmissionReport, functions: list[GradedFunction]) -> None:
    """Fill in every verdict's score and maximum, each function's score, and the report's totals."""
    for graded in functions:
        own = report.cases_of(graded.name)
        report.function_points[graded.name] = graded.points
        share = case_share(graded.points, len(own))
        for verdict in own:
            verdict.max_score = share
            verdict.score = share if verdict.passed else 0.0
        report.function_scores[graded.name] = round(sum(v.score for v in own), 6)
    report.score = round(sum(report.function_scores.values()), 6)
    report.max_score = sum(report.function_points.values())
