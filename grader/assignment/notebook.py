"""Reading a submitted notebook: is it a notebook at all, and which cells does grading need?

Graded cells are found by their first line, `# GRADED FUNCTION: name`; setup cells by a marker
the manifest names (the import of the support module). A solution notebook's instructor-only
`# MISTAKE: id` cells (wrong copies of a graded function) are set aside: never graded, never run.
Every way a file can fail to be a usable notebook becomes a `SubmissionError` with a sentence a student can act on.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from functools import lru_cache
from pathlib import Path

import nbformat
import nbformat.reader

from grader.errors import GraderError
from grader.model import ReleaseMarkers
from grader.model.notebook import CodeCell, ParsedNotebook
from grader.model.notes import DuplicateCells
from grader.model.refusal import Refusal, RefusalKind

GRADED_LINE = re.compile(r"^\s*#\s*GRADED FUNCTION:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
FIRST_LINE = re.compile(r"\n*([^\n]*)")
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
DEFAULT_MISTAKE_MARKER = ReleaseMarkers().mistake_marker


class SubmissionError(GraderError):
    """The file cannot be graded at all; its refusal (a record) says why, grader.render words it."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.kind.value, refusal.label)
        self.refusal = refusal


def graded_name(source: str) -> str | None:
    """The function named by a cell's `# GRADED FUNCTION:` first line, if it has one."""
    first = FIRST_LINE.match(source).group(1)  # type: ignore[union-attr] # it matches any text; no copy of the rest: this runs on every cell, often
    match = GRADED_LINE.match(first)
    return match.group(1) if match else None


@lru_cache(maxsize=32)
def _mistake_line(marker: str) -> re.Pattern[str]:
    return re.compile(r"^\s*#\s*" + re.escape(marker.strip()) + r"(.*)$", re.IGNORECASE)


def mistake_id(source: str, marker: str = DEFAULT_MISTAKE_MARKER) -> str | None:
    """The id named by a cell's `# MISTAKE: id` first line (the manifest's [release] mistake_marker),
    "" when the line names none; None for any other cell."""
    first = FIRST_LINE.match(source).group(1)  # type: ignore[union-attr] # it matches any text
    match = _mistake_line(marker).match(first) if marker.strip() else None
    return match.group(1).strip() if match else None


def read_notebook_text(text: str, label: str = "the file") -> nbformat.NotebookNode:
    """Parse and validate notebook JSON; old formats are upgraded to version 4."""
    if not text.strip():
        raise SubmissionError(Refusal(RefusalKind.EMPTY, label))
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(Refusal(RefusalKind.NOT_JSON, label, error.msg, line=error.lineno)) from None
    except (RecursionError, MemoryError, ValueError) as error:  # nested too deep, or numbers too long
        raise SubmissionError(Refusal(RefusalKind.UNREADABLE_JSON, label, _why_unreadable(error))) from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise SubmissionError(Refusal(RefusalKind.NOT_A_NOTEBOOK, label))
    try:  # from the JSON already parsed: nbformat.reads would parse (and validate) it all again
        major, minor = nbformat.reader.get_version(raw)
        if major not in nbformat.versions:
            raise nbformat.NBFormatError(f"unsupported nbformat version {major}")
        notebook = nbformat.versions[major].to_notebook_json(raw, minor=minor)
        del raw
        notebook = nbformat.convert(notebook, 4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise SubmissionError(Refusal(RefusalKind.INVALID, label, reason)) from None
    return notebook


def _why_unreadable(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, MemoryError):
        return "too large to hold in memory"
    return f"not readable ({str(error)[:200] or type(error).__name__})"


def parse_notebook(
    notebook: nbformat.NotebookNode, setup_marker: str, mistake_marker: str = DEFAULT_MISTAKE_MARKER
) -> ParsedNotebook:
    """Index the code cells, the graded cells (the last one wins when a name repeats) and setup.

    Instructor-only mistake cells go to `instructor_only` and nowhere else: a mistake's copy of a
    function must never replace the solution's when the solution notebook is graded or run whole."""
    parsed = ParsedNotebook(cells=[], notebook=notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        code = CodeCell(index, cell.source if isinstance(cell.source, str) else "".join(cell.source))
        if mistake_id(code.source, mistake_marker) is not None:
            parsed.instructor_only.append(code)
            continue
        parsed.cells.append(code)
        name = graded_name(code.source)
        if name:
            if name in parsed.graded:
                parsed.duplicates.setdefault(name, [parsed.graded[name].index]).append(index)
            parsed.graded[name] = code
        elif setup_marker and setup_marker in code.source:
            parsed.setup.append(code)
    for name, indices in parsed.duplicates.items():
        parsed.notes.append(DuplicateCells(name, tuple(i + 1 for i in indices)))
    return parsed


def file_kind(mode: int) -> str:
    """What a non-regular file is: link, folder, fifo, socket, device or other (grader.render words it)."""
    for test, kind in (
        (stat.S_ISLNK, "link"),
        (stat.S_ISDIR, "folder"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "device"),
        (stat.S_ISBLK, "device"),
    ):
        if test(mode):
            return kind
    return "other"


def open_regular(path: Path) -> int:
    """A read-only descriptor of a regular file, or SubmissionError; never follows a link, never blocks.

    The file is checked with lstat before opening (so a FIFO or a device is never opened) and with
    fstat after (so what was opened is what was checked).
    """
    try:
        mode = os.lstat(path).st_mode
    except OSError as error:
        raise SubmissionError(Refusal(RefusalKind.CANNOT_READ, path.name, str(error.strerror))) from None
    if not stat.S_ISREG(mode):
        raise SubmissionError(not_regular(path.name, mode))
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SubmissionError(not_regular(path.name, stat.S_IFLNK)) from None
        raise SubmissionError(Refusal(RefusalKind.CANNOT_READ, path.name, str(error.strerror))) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise SubmissionError(not_regular(path.name, mode))
    return descriptor


def not_regular(label: str, mode: int) -> Refusal:
    """The refusal of a file that is not a regular file: a link is never followed."""
    if stat.S_ISLNK(mode):
        return Refusal(RefusalKind.LINK, label)
    return Refusal(RefusalKind.NOT_REGULAR, label, file_kind(mode))


def read_regular(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """At most `limit` + 1 bytes of a regular file (one more than allowed tells a too-large file)."""
    descriptor = open_regular(path)
    chunks, left = [], limit + 1
    try:
        while left > 0:
            try:
                block = os.read(descriptor, min(left, 1 << 20))
            except BlockingIOError:
                raise SubmissionError(Refusal(RefusalKind.WOULD_BLOCK, path.name)) from None
            except OSError as error:
                raise SubmissionError(Refusal(RefusalKind.CANNOT_READ, path.name, str(error.strerror))) from None
            if not block:
                break
            chunks.append(block)
            left -= len(block)
    finally:
        os.close(descriptor)
    return b"".join(chunks)


def _too_large(label: str, size: int) -> SubmissionError:
    return SubmissionError(
        Refusal(
            RefusalKind.TOO_LARGE, label, size_mb=size // (1024 * 1024), limit_mb=MAX_NOTEBOOK_BYTES // (1024 * 1024)
        )
    )


def read_submission(path: Path, setup_marker: str, mistake_marker: str = DEFAULT_MISTAKE_MARKER) -> ParsedNotebook:
    """Read a submission file from disk; raises SubmissionError for anything ungradable.

    Only a regular file is read (never through a link), and never more than the size limit.
    """
    return parse_submission(read_regular(path), path.name, setup_marker, mistake_marker)


def parse_submission(
    data: bytes, label: str, setup_marker: str, mistake_marker: str = DEFAULT_MISTAKE_MARKER
) -> ParsedNotebook:
    """A submission's bytes as a parsed notebook; raises SubmissionError for anything ungradable."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise _too_large(label, len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(Refusal(RefusalKind.NOT_TEXT, label)) from None
    parsed = parse_notebook(read_notebook_text(text, label), setup_marker, mistake_marker)
    if not parsed.graded:
        raise SubmissionError(Refusal(RefusalKind.NO_GRADED_CELL, label))
    return parsed
