"""What the student's kernel sent back for one call, validated field by field (grader.kernel.untrusted):
the records the judge compares with the expected values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.model.values import Node


@dataclass(frozen=True)
class RaisedError:
    """An exception the student's function raised, as the harness described it."""

    type: str  #: the exception class's name
    message: str  #: str(exception), cut to MAX_MESSAGE_CHARS
    traceback: str = ""  #: the formatted traceback's end
    line: int | None = None  #: line, in the student's function's cell, where it was raised


@dataclass(frozen=True)
class ResultMeta:
    """What the harness says about one call. Every field is validated."""

    error: RaisedError | None = None  #: set when the function raised
    stdout: str = ""  #: what the function printed (capped by the harness)
    stdout_dropped: int = 0  #: characters printed beyond that cap
    cut: tuple[str, ...] = ()  #: what the harness left out of the returned value (bounds it hit)


@dataclass
class KernelResult:
    """One call's validated result: its description, the returned value and the inputs after the call."""

    meta: ResultMeta
    returned: Node | None = None  #: the returned value (None when the function raised)
    inputs: Node | None = None  #: the arguments after the call, when the case asks for them


@dataclass(frozen=True)
class Expected:
    """One case's expected values, as the reference produced them. The grader's own fields and the
    author's named parts live apart: a part the manifest names `stdout` is a part, never the lines."""

    returned: Node | None  #: the reference's returned value
    arguments: Node | None  #: the arguments after the reference's call (for inputs_unchanged)
    stdout: tuple[str, ...] = ()  #: the lines the reference printed
    parts: dict[str, object] = field(default_factory=dict)  #: each `returns` name's part, as plain Python
    inputs: dict[str, object] = field(default_factory=dict)  #: the array arguments, as plain Python
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  #: catalogued mistakes' outcomes, by id
