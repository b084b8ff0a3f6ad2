"""placeholder: replaced by the real module at integration"""

from __future__ import annotations


def mistake_line(student_source: str, solution_source: str, mistake_source: str) -> int | None:
    """placeholder: replaced by the real module at integration"""
    return None
