"""A catalogued mistake's usual line in the student's cell: found by its pattern, within bounds.

A pattern is a regular expression tried line by line, or a function of the cell's source returning
a 1-based line. Either way the line must be code: a comment, a docstring and a `def` line are never
answered (read with `ast`; a cell that does not parse keeps the comment rule only). Patterns look
at ordinary code: a line or a cell far longer than any real one is skipped, so a crafted
submission cannot make a regex or the parser spend minutes on it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from grader.judge.astdiff import parse_cell
from grader.model.diagnosis import Place
from grader.model.notebook import CodeCell

MAX_CODE_CHARS = 100
MAX_PATTERN_LINE = 1000
MAX_PATTERN_SOURCE = 200_000

Pattern = str | Callable[[str], object] | None


def locate(pattern: Pattern, source: str, on_error: Callable[[BaseException], None] | None = None) -> int | None:
    """1-based line of the student's cell where a mistake's pattern is found (comments skipped).
    A pattern function that raises finds nothing; `on_error` hears of it (the instructor's note)."""
    if pattern is None or len(source) > MAX_PATTERN_SOURCE:
        return None
    if callable(pattern):
        try:
            line = pattern(source)
        except Exception as error:  # noqa: BLE001 - a pattern that trips finds nothing; the instructor hears of it
            if on_error is not None:
                on_error(error)
            return None
        return line if isinstance(line, int) and line > 0 and line not in _not_code(source) else None
    skipped = _not_code(source)
    for number, text in enumerate(source.splitlines(), 1):
        if text.strip().startswith("#") or len(text) > MAX_PATTERN_LINE or number in skipped:
            continue
        if re.search(pattern, text):
            return number
    return None


def _not_code(source: str) -> set[int]:
    """The lines of docstrings and of `def` headers (decorators to the colon): never a mistake's line."""
    tree = parse_cell(source)
    if tree is None:
        return set()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        body = node.body
        first = body[0] if body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
        if not isinstance(node, ast.Module) and body:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines.update(range(start, body[0].lineno if body[0].lineno > node.lineno else node.lineno + 1))
    return lines


def place_at(cell: CodeCell, number: int | None) -> Place | None:
    """Where a pattern was found: the cell and line, and the code there (cut); None without a line."""
    if not number:
        return None
    lines = cell.source.splitlines()
    code = lines[number - 1].strip() if number <= len(lines) else ""
    code = re.sub(r"\s{2,}#.*$", "", code)  # an inline comment is not the code pointed at
    if len(code) > MAX_CODE_CHARS:
        code = code[: MAX_CODE_CHARS - 3] + "..."
    return Place(cell.index + 1, number, code)
