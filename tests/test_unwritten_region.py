"""A function whose learner region is still empty, as released: its NameError is said to come from the
unwritten region (as the notebook's own self-check asks "is every YOUR CODE region complete?"), and
the rules do not tell the student to stop reading a notebook variable the region is meant to set."""

from __future__ import annotations

import nbformat

from grader.assignment.manifest import load_assignment
from grader.assignment.notebook import parse_notebook
from grader.assignment.released import empty_regions, released_notebook
from grader.judge import rules
from grader.judge.advice import unwritten_region
from grader.judge.compare import Comparison
from grader.judge.diagnose import diagnose
from grader.judge.expected import ExpectedValues
from grader.model import Difference, Kind
from grader.model.notebook import CodeCell
from grader.model.report import FindingRule
from grader.model.result import KernelResult, RaisedError, ResultMeta
from grader.render.diagnosis import diagnosis_words
from tests.fixtures import ASSIGNMENT_DIR, SOLUTION

DEEP = "L_layer_model"


def _cell(notebook, name: str) -> CodeCell:
    """The cell defining `name` in a notebook (or the notebook file at that path)."""
    if not hasattr(notebook, "cells"):
        notebook = nbformat.read(notebook, as_version=4)
    index, source = next((i, c.source) for i, c in enumerate(notebook.cells) if f"def {name}(" in c.source)
    return CodeCell(index, source)


def test_an_empty_region_is_no_global_read_finding():
    assignment = load_assignment(ASSIGNMENT_DIR)
    released = released_notebook(assignment)
    findings = rules.check(parse_notebook(released, assignment.setup_marker), assignment)
    assert not [f for f in findings if f.rule == FindingRule.GLOBAL_READ]
    cell = _cell(released, DEEP)
    assert empty_regions(cell.source, assignment.markers)
    assert not empty_regions(_cell(SOLUTION, DEEP).source, assignment.markers)


def test_a_name_error_in_an_unwritten_function_says_the_region_is_not_written():
    assignment = load_assignment(ASSIGNMENT_DIR)
    case = next(c for c in assignment.cases() if c.function == DEEP and c.public)
    raised = Comparison([Difference(Kind.RAISED, what="NameError", got="name 'cost' is not defined")])
    result = KernelResult(ResultMeta(error=RaisedError("NameError", "name 'cost' is not defined")))
    cell = _cell(released_notebook(assignment), DEEP)
    found = diagnose(assignment, case, ExpectedValues(assignment).for_case(case.id), result, raised, cell)
    words = diagnosis_words(found)
    assert "not written yet" in words.title and "is every YOUR CODE region complete?" in words.explanation
    assert words.code == "# YOUR CODE STARTS HERE" and words.place.startswith(f"cell {cell.index + 1}, line ")
    # A written function's NameError is its own mistake; another exception is not an unwritten region.
    assert unwritten_region(assignment, raised, _cell(SOLUTION, DEEP)) is None
    typed = Comparison([Difference(Kind.RAISED, what="TypeError", got="")])
    assert unwritten_region(assignment, typed, cell) is None
