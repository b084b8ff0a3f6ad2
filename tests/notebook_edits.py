"""Building edited copies of the solution notebook for tests: one mistake or rule break at a time.

Every edit names the text it replaces and fails loudly when that text is not in the notebook, so a
change to the solution notebook cannot silently turn a test into one that checks nothing.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from grader.assignment.notebook import graded_name
from tests.fixtures import ASSIGNMENT_DIR

SOLUTION = ASSIGNMENT_DIR / "dnn_app_solution.ipynb"


def solution() -> nbformat.NotebookNode:
    """A fresh copy of the instructor's solution notebook."""
    return nbformat.read(SOLUTION, as_version=4)


def cell_position(notebook: nbformat.NotebookNode, function: str) -> int:
    """0-based position of the graded cell of `function`."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and graded_name(cell.source) == function:
            return index
    raise AssertionError(f"no graded cell for {function}")


def position_of(notebook: nbformat.NotebookNode, text: str) -> int:
    """0-based position of the only code cell containing `text`."""
    found = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and text in c.source]
    assert len(found) == 1, f"{text!r} is in {len(found)} code cells"
    return found[0]


def replace(notebook: nbformat.NotebookNode, function: str, old: str, new: str) -> nbformat.NotebookNode:
    """A copy with the first `old` in the graded cell of `function` replaced by `new`."""
    edited = copy.deepcopy(notebook)
    cell = edited.cells[cell_position(edited, function)]
    assert old in cell.source, f"{old!r} is not in the {function} cell"
    cell.source = cell.source.replace(old, new, 1)
    return edited


def replace_in_cell(notebook: nbformat.NotebookNode, index: int, old: str, new: str) -> nbformat.NotebookNode:
    edited = copy.deepcopy(notebook)
    assert old in edited.cells[index].source, f"{old!r} is not in cell {index + 1}"
    edited.cells[index].source = edited.cells[index].source.replace(old, new, 1)
    return edited


def insert_code_cell(notebook: nbformat.NotebookNode, position: int, source: str) -> nbformat.NotebookNode:
    """A copy with a new code cell at `position` (0-based)."""
    edited = copy.deepcopy(notebook)
    edited.cells.insert(position, nbformat.v4.new_code_cell(source))
    return edited


def line_of(notebook: nbformat.NotebookNode, index: int, text: str) -> int:
    """1-based line of the first line of cell `index` that contains `text`."""
    for number, line in enumerate(notebook.cells[index].source.split("\n"), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} is not in cell {index + 1}")


def write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(notebook, path)
    return path
