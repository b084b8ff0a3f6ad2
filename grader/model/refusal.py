"""Why a file cannot be graded at all, as a record (worded by grader.render.refusals)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RefusalKind(StrEnum):
    """What is wrong with the file."""

    EMPTY = "empty"  #: nothing in it
    NOT_JSON = "not_json"  #: not valid JSON: detail (the parser's words), line
    UNREADABLE_JSON = "unreadable_json"  #: JSON nested too deeply, too large, or otherwise unreadable: detail
    NOT_A_NOTEBOOK = "not_a_notebook"  #: JSON without an nbformat field
    INVALID = "invalid"  #: a notebook nbformat rejects: detail (its words)
    CANNOT_READ = "cannot_read"  #: the system refused to read it: detail (strerror)
    LINK = "link"  #: a symbolic link, never followed
    NOT_REGULAR = "not_regular"  #: a folder, FIFO, socket or device: detail (which)
    WOULD_BLOCK = "would_block"  #: reading it would wait
    TOO_LARGE = "too_large"  #: size_mb or more, past limit_mb
    NOT_TEXT = "not_text"  #: not UTF-8 text
    NO_GRADED_CELL = "no_graded_cell"  #: no cell starts with a graded marker
    OTHER_ASSIGNMENT = "other_assignment"  #: its graded functions (names) are none of this assignment's (expected)
    BAD_ZIP = "bad_zip"  #: a zip that cannot be read: detail
    ZIP_TOO_LARGE = "zip_too_large"  #: a zip member holds more than limit_mb of notebooks: detail (its title)
    NOT_EXTRACTED = "not_extracted"  #: a zip member that could not be extracted: detail (the zip's title), why
    UNREADABLE = "unreadable"  #: the file could not be read while it was copied: detail (strerror)


@dataclass(frozen=True)
class Refusal:
    """Why one file cannot be graded."""

    kind: RefusalKind
    label: str  #: the file as it is named to the student
    detail: str = ""  #: the reader's own words, a file kind or a title (see RefusalKind)
    line: int = 0  #: NOT_JSON: the line of the error
    size_mb: int = 0  #: TOO_LARGE: the size read, in MB
    limit_mb: int = 0  #: TOO_LARGE, ZIP_TOO_LARGE: the limit, in MB
    names: tuple[str, ...] = ()  #: OTHER_ASSIGNMENT: the notebook's graded functions
    expected: tuple[str, ...] = ()  #: OTHER_ASSIGNMENT: this assignment's
    title: str = ""  #: OTHER_ASSIGNMENT: this assignment's title
    why: str = ""  #: NOT_EXTRACTED: the zip reader's words

    def to_json(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Refusal:
        values = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        values["kind"] = RefusalKind(values["kind"])
        for name in ("names", "expected"):
            values[name] = tuple(values.get(name, ()))
        return cls(**values)


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else str(value) if isinstance(value, StrEnum) else value
