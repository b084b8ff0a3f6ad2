"""A submitted notebook as grading needs it: its code cells, which of them are graded and which set up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import nbformat


@dataclass
class CodeCell:
    """One code cell of the submission."""

    index: int  # position among all cells, 0-based
    source: str


@dataclass
class ParsedNotebook:
    """The cells grading runs, found once when the file is read."""

    cells: list[CodeCell]
    graded: dict[str, CodeCell] = field(default_factory=dict)
    duplicates: dict[str, list[int]] = field(default_factory=dict)
    setup: list[CodeCell] = field(default_factory=list)
    notes: list[Any] = field(default_factory=list)  #: problems found while parsing (grader.model.notes)
    instructor_only: list[CodeCell] = field(default_factory=list)  #: a solution's `# MISTAKE: id` cells, never run
    notebook: nbformat.NotebookNode | None = None
