"""The released notebook: the solution with every YOUR CODE region emptied and its outputs cleared.

One scanner reads the region markers; releasing refuses what it reports as unpaired, and the rest
(blanking, the rules checker) read the regions it found.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.assignment.manifest import MANIFEST, Assignment, AssignmentError

REGION_START = re.compile(r"^\s*#\s*YOUR CODE STARTS HERE\s*$", re.IGNORECASE)
REGION_END = re.compile(r"^\s*#\s*YOUR CODE ENDS HERE\s*$", re.IGNORECASE)
MARKER_FILE = ".grader-release.json"


class ReleaseError(AssignmentError):
    """The bundle cannot be built as asked; the message says why and what to do."""


@dataclass
class RegionScan:
    """What the YOUR CODE markers of one cell say."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    """(start marker, end marker) line indices of every closed region, 0-based."""
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(0-based line index, why) for each marker that does not pair up."""


def scan_regions(lines: list[str]) -> RegionScan:
    """Pair the markers of one cell; a second START before any END restarts the region."""
    scan, start = RegionScan(), None
    for index, line in enumerate(lines):
        if REGION_START.match(line):
            if start is not None:
                scan.problems.append(
                    (
                        index,
                        f"a YOUR CODE STARTS HERE marker inside the region opened at line "
                        f"{start + 1}; close that one first",
                    )
                )
            start = index
        elif REGION_END.match(line):
            if start is None:
                scan.problems.append((index, "YOUR CODE ENDS HERE without a STARTS HERE marker before it"))
                continue
            scan.spans.append((start, index))
            start = None
    if start is not None:
        scan.problems.append((start, "YOUR CODE STARTS HERE is never closed by a YOUR CODE ENDS HERE marker"))
    return scan


def region_spans(lines: list[str]) -> list[tuple[int, int]]:
    """(start marker, end marker) line indices of every closed YOUR CODE region, 0-based."""
    return scan_regions(lines).spans


def is_region_marker(line: str) -> bool:
    return bool(REGION_START.match(line) or REGION_END.match(line))


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def blank_regions(source: str) -> str:
    """The cell with the code between each pair of YOUR CODE markers removed.

    When removing the code leaves a block without a statement (a region that was a loop's whole
    body, say), a `pass` at the marker's indentation keeps the released cell valid Python.
    """
    lines = source.split("\n")
    spans = region_spans(lines)
    if not spans:
        return source
    inside = {i for start, end in spans for i in range(start + 1, end)}
    blanked = "\n".join(line for i, line in enumerate(lines) if i not in inside)
    if _parses(blanked) or not _parses(source):
        return blanked
    starts = {start: lines[start][: len(lines[start]) - len(lines[start].lstrip())] for start, _ in spans}
    kept = []
    for i, line in enumerate(lines):
        if i in inside:
            continue
        kept.append(line)
        if i in starts:
            kept.append(starts[i] + "pass")
    return "\n".join(kept)


def check_markers(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Refuse a solution whose markers do not pair up: blanking it could leak or drop code."""
    found = 0
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        scan = scan_regions(cell.source.split("\n"))
        if scan.problems:
            index, why = scan.problems[0]
            raise ReleaseError(f"{path.name}, cell {number}, line {index + 1}: {why}")
        found += len(scan.spans)
    if not found:
        raise ReleaseError(
            f"{path.name} has no '# YOUR CODE STARTS HERE' ... '# YOUR CODE ENDS HERE' region: "
            "there is nothing to blank, so releasing it would hand out the solution"
        )


def solution_path(assignment: Assignment) -> Path:
    if not assignment.solution:
        raise ReleaseError(f"{assignment.folder / MANIFEST} names no `solution` notebook to release")
    path = assignment.folder / assignment.solution
    if not path.is_file():
        raise ReleaseError(
            f"{path} is missing: releasing needs the instructor's assignment folder with its solution notebook"
        )
    return path


def released_notebook(assignment: Assignment) -> nbformat.NotebookNode:
    """The solution notebook as students receive it: regions blanked, outputs cleared."""
    path = solution_path(assignment)
    notebook = nbformat.read(path, as_version=4)
    check_markers(notebook, path)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.source = blank_regions(cell.source)
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
    return notebook


_BLANKED: dict[tuple[str, int, int], tuple[str, ...] | None] = {}


def _blanked_solution_cells(assignment: Assignment, path: Path) -> tuple[str, ...] | None:
    """Blanking cached per version of the solution file: a batch compares every submission with it."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _BLANKED:
        try:
            notebook = released_notebook(assignment)
            _BLANKED[key] = tuple(c.source for c in notebook.cells if c.cell_type == "code")
        except (ReleaseError, OSError, ValueError):
            _BLANKED[key] = None
    return _BLANKED[key]


def released_code_cells(assignment: Assignment) -> list[str] | None:
    """The released notebook's code cells, from the best source at hand (None: none available).

    In the instructor's folder they come from blanking the solution; in a bundle, from the marker
    file written at release (pristine even after the student edited the notebook), else from the
    bundle's notebook.
    """
    if not assignment.is_bundle and assignment.solution and (assignment.folder / assignment.solution).is_file():
        cells = _blanked_solution_cells(assignment, assignment.folder / assignment.solution)
        return list(cells) if cells is not None else None
    marker = assignment.folder / MARKER_FILE
    if marker.is_file():
        try:
            cells = json.loads(marker.read_text()).get("released_code_cells")
        except (OSError, ValueError):
            cells = None
        if isinstance(cells, list) and all(isinstance(c, str) for c in cells):
            return cells
    path = assignment.folder / assignment.student_notebook
    if path.is_file():
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable copy just means nothing to compare with
            return None
        return [c.source for c in notebook.cells if c.cell_type == "code"]
    return None
