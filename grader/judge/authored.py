"""Mistakes written as wrong copies: the `# MISTAKE: <id>` cells of the solution notebook.

The manifest's [[mistake]] tables give each authored mistake its function and its words; the
solution notebook holds its code: a code cell whose first line is `# <marker> <id>` (the marker is
the manifest's [release] mistake_marker, "MISTAKE:" by default) followed by the whole `def` of the
graded function with the mistake in it. Such cells are instructor-only: they never run when the
solution is run as the reference, and `grader expected` runs each one in place of its function's
graded cell (grader.judge.expected) to store its outcomes like any catalogued variant's.

Both sides are checked together when they load, so that a typo cannot drop a mistake silently:
every table has its cell, every cell has its table, and a cell defines exactly its function.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment.manifest import Assignment, AssignmentError
from grader.assignment.notebook import SubmissionError, parse_notebook, read_notebook_text
from grader.assignment.notebook import mistake_id as mistake_id_in
from grader.model import AuthoredMistake
from grader.model.notebook import CodeCell, ParsedNotebook


@dataclass
class SolutionCells:
    """The solution notebook as `grader expected` runs it: without its mistake cells, and those apart."""

    parsed: ParsedNotebook  #: the notebook to run (setup and graded cells; no mistake cell among them)
    mistakes: dict[str, CodeCell] = field(default_factory=dict)  #: mistake id -> its wrong copy's cell

    def graded_source(self, function: str) -> str | None:
        cell = self.parsed.graded.get(function)
        return cell.source if cell is not None else None


_CACHE: dict[tuple[str, int, str, str], SolutionCells] = {}


def solution_cells(assignment: Assignment) -> SolutionCells | None:
    """The solution notebook's cells, checked against the [[mistake]] tables (None without a notebook);
    read once per version of the file."""
    path = assignment.folder / assignment.solution if assignment.solution else None
    if path is None or not path.is_file():
        return None
    key = (str(path), path.stat().st_mtime_ns, assignment.markers.mistake_marker, assignment.setup_marker)
    if key not in _CACHE:
        _CACHE[key] = _read(path, assignment)
    cells = _CACHE[key]
    check_mistakes(assignment, cells, path.name)
    return cells


def _read(path: Path, assignment: Assignment) -> SolutionCells:
    try:
        notebook = read_notebook_text(path.read_text(), path.name)
    except SubmissionError as error:
        raise AssignmentError(f"{path}: the solution notebook cannot be read ({error.refusal.kind.value})") from None
    parsed = parse_notebook(notebook, assignment.setup_marker, assignment.markers.mistake_marker)
    mistakes: dict[str, CodeCell] = {}
    for cell in parsed.instructor_only:
        mistake = mistake_id_in(cell.source, assignment.markers.mistake_marker)
        if mistake is None:
            continue
        if mistake in mistakes:
            raise AssignmentError(
                f"{path.name}: cells {mistakes[mistake].index + 1} and {cell.index + 1} are both "
                f"'{assignment.markers.mistake_marker} {mistake}': give each wrong copy its own id"
            )
        mistakes[mistake] = cell
    kept = [cell for cell in parsed.cells if cell.index not in {c.index for c in mistakes.values()}]
    parsed.cells = kept
    parsed.setup = [cell for cell in parsed.setup if cell in kept]
    return SolutionCells(parsed, mistakes)


def check_mistakes(assignment: Assignment, cells: SolutionCells, label: str) -> None:
    """Every [[mistake]] table has its cell, every mistake cell its table, and each cell defines
    exactly its function (a graded one); AssignmentError names the first that does not."""
    marker = assignment.markers.mistake_marker
    graded = {f.name for f in assignment.functions}
    tables = {m.id: m for m in assignment.authored_mistakes}
    for mistake in assignment.authored_mistakes:
        if mistake.function not in graded:
            raise AssignmentError(
                f"assignment.toml [[mistake]] '{mistake.id}': function '{mistake.function}' is not a "
                f"[[function]] of the manifest (graded: {', '.join(sorted(graded))})"
            )
        if mistake.id not in cells.mistakes:
            raise AssignmentError(
                f"assignment.toml [[mistake]] '{mistake.id}' has no cell in {label}: add a code cell whose "
                f"first line is '# {marker} {mistake.id}', followed by the whole wrong copy of {mistake.function}"
            )
    for mistake_id, cell in cells.mistakes.items():
        if mistake_id not in tables:
            raise AssignmentError(
                f"{label} cell {cell.index + 1} is '# {marker} {mistake_id}', but assignment.toml has no "
                f'[[mistake]] with id = "{mistake_id}": add one (id, function, title, explanation, fix)'
            )
        _check_defines(tables[mistake_id], cell, label)


def _check_defines(mistake: AuthoredMistake, cell: CodeCell, label: str) -> None:
    """A mistake cell holds one `def` of its function and nothing else (comments aside)."""
    where = f"{label} cell {cell.index + 1} ('{mistake.id}')"
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as error:
        raise AssignmentError(f"{where} is not valid Python: {error.msg} (line {error.lineno})") from None
    defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    others = [node for node in tree.body if not isinstance(node, ast.FunctionDef)]
    if defined != [mistake.function] or others:
        raise AssignmentError(
            f"{where} must define exactly the function '{mistake.function}' (one `def`, nothing else); "
            f"it defines {defined or 'no function'}" + (" and holds other statements" if others else "")
        )


def callers_of(assignment: Assignment, function: str) -> tuple[str, ...]:
    """The graded functions that call `function`, directly or through others (the manifest's `calls`)."""
    found: list[str] = []
    frontier = [function]
    while frontier:
        callee = frontier.pop()
        for graded in assignment.functions:
            if callee in graded.calls and graded.name not in found and graded.name != function:
                found.append(graded.name)
                frontier.append(graded.name)
    return tuple(found)


def catalogue_entries(assignment: Assignment) -> dict[str, dict]:
    """The authored mistakes as catalogue entries, beside a mistakes module's: the function and its
    callers as `functions`, no regex pattern (the line is found by comparing the cells)."""
    return {
        m.id: {
            "id": m.id,
            "title": m.title,
            "explanation": m.explanation,
            "fix": m.fix,
            "functions": (m.function, *callers_of(assignment, m.function)),
            "pattern": None,
            "authored": True,
        }
        for m in assignment.authored_mistakes
    }


def authored_line(assignment: Assignment, mistake_id: str, function: str, student_source: str) -> int | None:
    """The student's line that most likely holds an authored mistake (None without the solution
    notebook, as in a student's bundle, or when nothing matches)."""
    from grader.judge.astdiff import mistake_line

    owner = next((m.function for m in assignment.authored_mistakes if m.id == mistake_id), None)
    cells = solution_cells(assignment) if owner == function else None
    if cells is None or mistake_id not in cells.mistakes:
        return None
    solution = cells.graded_source(function)
    if solution is None:
        return None
    return mistake_line(student_source, solution, cells.mistakes[mistake_id].source)
