"""One way a case's answer differs from the reference's, as data (worded by grader.render)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What sort of difference a record is about."""

    RAISED = "raised"  #: the function raised (or could not be called)
    TYPE = "type"  #: a value of another type than the reference's
    LENGTH = "length"  #: a tuple or list of another length
    MISSING_KEY = "missing_key"  #: a dict lacks a key the reference's has
    EXTRA_KEY = "extra_key"  #: a dict has a key the reference's has not
    SHAPE = "shape"  #: an array of another shape
    VALUES = "values"  #: numbers outside the tolerance
    NOT_FINITE = "not_finite"  #: nan or inf where the reference has numbers
    EXACT = "exact"  #: a bool, None or text that is not the reference's
    CUT = "cut"  #: too large to be sent back whole
    PRINTED_LENGTH = "printed_length"  #: another number of printed lines
    PRINTED = "printed"  #: a printed line that is not the reference's
    INPUT_CHANGED = "input_changed"  #: an argument came back modified


Step = int | str


@dataclass(frozen=True)
class Difference:
    """One way a case's answer differs from the reference's, as data (worded by grader.wording)."""

    kind: Kind  #: what differs
    path: tuple[Step, ...] = ()  #: where, in the returned value (or the argument name first, for inputs)
    expected: object = None  #: the reference's side: a type, length, shape, key, number or line (public)
    got: object = None  #: the answer's side, the same way
    what: str = ""  #: the container's kind ("tuple", "list", "dict") or the exception's type
    at: tuple[int, ...] | None = None  #: the first differing entry of an array
    count: int = 0  #: how many entries differ
    total: int = 0  #: of how many
    relative: float | None = None  #: the largest relative error (never worded: it gives `expected` back)
    line: int | None = None  #: the printed line, or the function's cell line an exception left

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Difference:
        data = dict(data)
        data["kind"] = Kind(data["kind"])
        data["path"] = tuple(data.get("path", ()))
        if data.get("at") is not None:
            data["at"] = tuple(data["at"])
        if data["kind"] == Kind.SHAPE:  # shapes are tuples; JSON keeps them as lists
            for side in ("expected", "got"):
                if isinstance(data.get(side), list):
                    data[side] = tuple(data[side])
        return cls(**data)
