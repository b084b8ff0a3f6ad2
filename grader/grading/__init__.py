"""Grading one submission (grade_one): its kernel (runner), its cases (cases), the steps (pipeline)."""

from grader.grading.pipeline import grade_one
from grader.model.options import GradeOptions

__all__ = ["GradeOptions", "grade_one"]
