"""An autograder for Jupyter notebook assignments: student code runs in its own kernel process,
the expected values stay in the grader's process, and only plain arrays cross between them.

The package is layered; each layer imports only the layers below it (tests/test_architecture.py):

    cli                      argument parsing, exit statuses
    verbs                    release, check, grade, expected, bench: functions with keyword arguments
    batch                    many submissions: collection, worker pool, the batch run
    grading                  one notebook: run its cases in a kernel, judge, score
    judge                    comparison, diagnosis, scoring, source rules (outside the kernel)
    kernel, assignment       what touches student code; what an assignment is
    reports                  result records and what is written from them
    records, errors          shared typed records and the one error base class

The names below are the public surface; they are imported on first use, so `import grader` stays
cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "main": "grader.cli",
    "GraderError": "grader.errors",
    "UserError": "grader.errors",
    "Limits": "grader.model",
    "SubmissionStatus": "grader.model",
    "CaseStatus": "grader.model",
    "CellStatus": "grader.model",
    "Assignment": "grader.assignment.manifest",
    "AssignmentError": "grader.assignment.manifest",
    "load_assignment": "grader.assignment.manifest",
    "find_assignment": "grader.assignment.locate",
    "GradeOptions": "grader.grading",
    "grade_one": "grader.grading",
    "ExpectedValues": "grader.judge.expected",
    "SubmissionReport": "grader.render.results",
    "CaseVerdict": "grader.render.results",
    "build_release": "grader.verbs.release",
    "run_check": "grader.verbs.check",
    "grade": "grader.verbs.grade",
    "expected": "grader.verbs.expected",
    "bench": "grader.verbs.bench",
    "check": "grader.verbs.jupyter",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    """Import a public name's module on first use (PEP 562). The version is pyproject.toml's, read
    from the installed metadata (the one place it is written)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("nbgrade-dnn")
        except PackageNotFoundError:  # a copy of grader/ without installed metadata
            found = "0+unknown"
        globals()[name] = found
        return found
    if name not in _EXPORTS:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
