"""A catalogued mistake's usual line in the student's cell: found by its pattern, within bounds.

A pattern is a regular expression tried line by line (comment lines skipped), or a function of the
cell's source returning a 1-based line. Patterns look at ordinary code: a line or a cell far longer
than any real one is skipped, so a crafted submission cannot make a regex or the parser spend
minutes on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
        return line if isinstance(line, int) and line > 0 else None
    for number, text in enumerate(source.splitlines(), 1):
        if text.strip().startswith("#") or len(text) > MAX_PATTERN_LINE:
            continue
        if re.search(pattern, text):
            return number
    return None


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
