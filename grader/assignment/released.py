"""The released notebook: the solution with every learner region emptied, its instructor-only
mistake cells removed and its outputs cleared.

One scanner reads the region markers (the manifest's [release] table, by default `# YOUR CODE
STARTS HERE` ... `# YOUR CODE ENDS HERE`); releasing refuses what it reports as unpaired, and the
rest (blanking, the rules checker) read the regions it found.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat

from grader.assignment.manifest import MANIFEST, Assignment, AssignmentError
from grader.assignment.notebook import graded_name, mistake_id
from grader.model import ReleaseMarkers

DEFAULT_MARKERS = ReleaseMarkers()
MARKER_FILE = ".grader-release.json"


@lru_cache(maxsize=32)
def _marker_line(text: str) -> re.Pattern[str]:
    """A comment line holding only `text` (any case, any spacing around it)."""
    return re.compile(r"^\s*#\s*" + re.escape(text) + r"\s*$", re.IGNORECASE)


REGION_START = _marker_line(DEFAULT_MARKERS.region_start)
REGION_END = _marker_line(DEFAULT_MARKERS.region_end)


class ReleaseError(AssignmentError):
    """The bundle cannot be built as asked; the message says why and what to do."""


@dataclass
class RegionScan:
    """What the region markers of one cell say."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    """(start marker, end marker) line indices of every closed region, 0-based."""
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(0-based line index, why) for each marker that does not pair up."""


def scan_regions(lines: list[str], markers: ReleaseMarkers = DEFAULT_MARKERS) -> RegionScan:
    """Pair the markers of one cell; a second start before any end restarts the region."""
    scan, start = RegionScan(), None
    opening, closing = _marker_line(markers.region_start), _marker_line(markers.region_end)
    for index, line in enumerate(lines):
        if opening.match(line):
            if start is not None:
                scan.problems.append(
                    (
                        index,
                        f"a {markers.region_start} marker inside the region opened at line "
                        f"{start + 1}; close that one first",
                    )
                )
            start = index
        elif closing.match(line):
            if start is None:
                scan.problems.append((index, f"{markers.region_end} without a {markers.region_start} marker before it"))
                continue
            scan.spans.append((start, index))
            start = None
    if start is not None:
        scan.problems.append((start, f"{markers.region_start} is never closed by a {markers.region_end} marker"))
    return scan


def region_spans(lines: list[str], markers: ReleaseMarkers = DEFAULT_MARKERS) -> list[tuple[int, int]]:
    """(start marker, end marker) line indices of every closed learner region, 0-based."""
    return scan_regions(lines, markers).spans


def empty_regions(source: str, markers: ReleaseMarkers = DEFAULT_MARKERS) -> list[int]:
    """The 1-based lines of the start markers of the learner regions that hold no code yet (only
    blank lines, comments or `pass`, as released)."""
    lines = source.split("\n")
    empty = []
    for start, end in region_spans(lines, markers):
        inside = (line.split("#", 1)[0].strip() for line in lines[start + 1 : end])
        if all(code in ("", "pass") for code in inside):
            empty.append(start + 1)
    return empty


def is_region_marker(line: str, markers: ReleaseMarkers = DEFAULT_MARKERS) -> bool:
    return bool(_marker_line(markers.region_start).match(line) or _marker_line(markers.region_end).match(line))


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def blank_regions(source: str, markers: ReleaseMarkers = DEFAULT_MARKERS) -> str:
    """The cell with the code between each pair of region markers removed.

    When removing the code leaves a block without a statement (a region that was a loop's whole
    body, say), a `pass` at the marker's indentation keeps the released cell valid Python.
    """
    lines = source.split("\n")
    spans = region_spans(lines, markers)
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


def check_markers(notebook: nbformat.NotebookNode, path: Path, markers: ReleaseMarkers = DEFAULT_MARKERS) -> None:
    """Refuse a solution whose markers do not pair up: blanking it could leak or drop code."""
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        scan = scan_regions(cell.source.split("\n"), markers)
        if scan.problems:
            index, why = scan.problems[0]
            raise ReleaseError(f"{path.name}, cell {number}, line {index + 1}: {why}")


def check_graded_cells(notebook: nbformat.NotebookNode, path: Path, assignment: Assignment) -> None:
    """Refuse a graded cell that would go out whole: each has a learner region, or its function is
    marked `given` (released as written) in the manifest; and each graded function has its cell."""
    markers, found = assignment.markers, set()
    given = {f.name for f in assignment.functions if f.given}
    for number, cell in enumerate(notebook.cells, start=1):
        name = graded_name(cell.source) if cell.cell_type == "code" else None
        if name is None:
            continue
        found.add(name)
        if name not in given and not region_spans(cell.source.split("\n"), markers):
            raise ReleaseError(
                f"{path.name}, cell {number} (GRADED FUNCTION: {name}) has no '# {markers.region_start}' ... "
                f"'# {markers.region_end}' region, so releasing it would hand out its solution: put the "
                f"learner's part between those markers, or, if the cell is meant to be released as written, "
                f"set `given = true` in the [[function]] table of '{name}' in {MANIFEST}"
            )
    missing = [f.name for f in assignment.functions if f.name not in found]
    if missing:
        raise ReleaseError(
            f"{path.name} has no '# GRADED FUNCTION: {missing[0]}' cell, but {MANIFEST} grades '{missing[0]}': "
            "add the function's graded cell to the solution notebook, or remove its [[function]] table"
        )


def is_mistake_cell(cell: nbformat.NotebookNode, markers: ReleaseMarkers = DEFAULT_MARKERS) -> bool:
    """An instructor-only `# MISTAKE: id` cell (a wrong copy of a graded function)."""
    return cell.cell_type == "code" and mistake_id(cell.source, markers.mistake_marker) is not None


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
    """The solution notebook as students receive it: regions blanked, instructor-only mistake cells
    removed, outputs cleared."""
    path = solution_path(assignment)
    notebook = nbformat.read(path, as_version=4)
    markers = assignment.markers
    check_markers(notebook, path, markers)
    check_graded_cells(notebook, path, assignment)
    notebook.cells = [cell for cell in notebook.cells if not is_mistake_cell(cell, markers)]
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.source = blank_regions(cell.source, markers)
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
    return notebook


def solution_only_lines(assignment: Assignment) -> set[str]:
    """Code lines (stripped) that appear in the solution's learner regions and nowhere outside them:
    the answers, which nothing a student receives may hold. The instructor-only mistake cells do not
    count as outside (they are wrong copies of the solution, and never released)."""
    path = solution_path(assignment)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, assignment.markers)
    if key not in _SOLUTION_ONLY:
        notebook = nbformat.read(path, as_version=4)
        inside: set[str] = set()
        outside: set[str] = set()
        for cell in notebook.cells:
            if cell.cell_type != "code" or is_mistake_cell(cell, assignment.markers):
                continue
            lines = cell.source.split("\n")
            region = {i for start, end in region_spans(lines, assignment.markers) for i in range(start + 1, end)}
            for i, line in enumerate(lines):
                text = line.strip()
                if text and not text.startswith("#"):
                    (inside if i in region else outside).add(text)
        _SOLUTION_ONLY[key] = frozenset(inside - outside)
    return set(_SOLUTION_ONLY[key])


_SOLUTION_ONLY: dict[tuple[str, int, int, ReleaseMarkers], frozenset[str]] = {}
_BLANKED: dict[tuple[str, int, int, ReleaseMarkers, tuple], tuple[str, ...] | None] = {}


def _blanked_solution_cells(assignment: Assignment, path: Path) -> tuple[str, ...] | None:
    """Blanking cached per version of the solution file: a batch compares every submission with it."""
    stat = path.stat()
    given = tuple((f.name, f.given) for f in assignment.functions)
    key = (str(path), stat.st_mtime_ns, stat.st_size, assignment.markers, given)
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
