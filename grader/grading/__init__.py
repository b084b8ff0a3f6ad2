"""Grading one submission (grade_one): its kernel (runner), its cases (cases), the steps (pipeline)."""

from grader.grading.options import GradeOptions
from grader.grading.pipeline import grade_one

__all__ = ["GradeOptions", "grade_one"]
