"""Reading a submitted notebook: is it a notebook at all, and which cells does grading need?

Graded cells are found by their first line, `# GRADED FUNCTION: name`; setup cells by a marker
the manifest names (the import of the support module). Every way a file can fail to be a usable
notebook becomes a `SubmissionError` with a sentence a student can act on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

GRADED_LINE = re.compile(r"^\s*#\s*GRADED FUNCTION:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


class SubmissionError(Exception):
    """The file cannot be graded at all; the message says why and what to do."""


@dataclass
class CodeCell:
    index: int  # position among all cells, 0-based
    source: str


@dataclass
class ParsedNotebook:
    cells: list[CodeCell]
    graded: dict[str, CodeCell] = field(default_factory=dict)
    duplicates: dict[str, list[int]] = field(default_factory=dict)
    setup: list[CodeCell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None


def graded_name(source: str) -> str | None:
    """The function named by a cell's `# GRADED FUNCTION:` first line, if it has one."""
    first = source.lstrip("\n").split("\n", 1)[0]
    match = GRADED_LINE.match(first)
    return match.group(1) if match else None


def read_notebook_text(text: str, label: str = "the file") -> nbformat.NotebookNode:
    """Parse and validate notebook JSON; old formats are upgraded to version 4."""
    if not text.strip():
        raise SubmissionError(f"{label} is empty: submit the .ipynb file saved from Jupyter.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"{label} is not a notebook: it is not valid JSON ({error.msg} at line {error.lineno}). "
            "Submit the .ipynb file itself, saved from Jupyter, not an export or a copy of its text."
        ) from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise SubmissionError(f"{label} is JSON but not a Jupyter notebook (it has no 'nbformat' field).")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise SubmissionError(
            f"{label} is not a valid notebook ({reason}). Open it in Jupyter, save it, and submit again."
        ) from None
    return notebook


def parse_notebook(notebook: nbformat.NotebookNode, setup_marker: str) -> ParsedNotebook:
    """Index the code cells, the graded cells (the last one wins when a name repeats) and setup."""
    parsed = ParsedNotebook(cells=[], notebook=notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        code = CodeCell(index, cell.source if isinstance(cell.source, str) else "".join(cell.source))
        parsed.cells.append(code)
        name = graded_name(code.source)
        if name:
            if name in parsed.graded:
                parsed.duplicates.setdefault(name, [parsed.graded[name].index]).append(index)
            parsed.graded[name] = code
        elif setup_marker and setup_marker in code.source:
            parsed.setup.append(code)
    for name, indices in parsed.duplicates.items():
        cells = ", ".join(str(i + 1) for i in indices)
        parsed.notes.append(f"{name} has {len(indices)} graded cells (cells {cells}); the last one was graded.")
    return parsed


def read_submission(path: Path, setup_marker: str) -> ParsedNotebook:
    """Read a submission file from disk; raises SubmissionError for anything ungradable."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise SubmissionError(f"{path.name} cannot be read: {error.strerror}.") from None
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path.name} is {size // (1024 * 1024)} MB, larger than the "
                              f"{MAX_NOTEBOOK_BYTES // (1024 * 1024)} MB accepted: clear the outputs and save again.")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not a text file, so not a notebook: submit the .ipynb file.") from None
    parsed = parse_notebook(read_notebook_text(text, path.name), setup_marker)
    if not parsed.graded:
        raise SubmissionError(
            f"{path.name} has no graded cell: none starts with '# GRADED FUNCTION: name'. Keep that first "
            "line of each exercise cell as it was released."
        )
    return parsed
