"""Typed records every layer shares: the statuses (string enums whose values are the strings that
results.json and the gradebook hold) and the limits, whose defaults live here and only here."""

from __future__ import annotations

import builtins
import math
from dataclasses import asdict, dataclass, fields
from enum import StrEnum

import numpy as np


class SubmissionStatus(StrEnum):
    """What became of one submission as a whole."""

    GRADED = "graded"
    """Its code ran on the cases; the score counts."""
    INVALID = "invalid"
    """The file is not a gradable notebook (unreadable, too large, not JSON); score 0."""
    ERROR = "error"
    """The grader failed on it (not the student's fault); grade it again."""


class CaseStatus(StrEnum):
    """What became of one case of one graded function."""

    PASSED = "passed"
    """Every returned value and printed line matched within the tolerance."""
    FAILED = "failed"
    """The function ran and something differed."""
    TIMEOUT = "timeout"
    """The case ran past its time limit and was stopped."""
    CRASHED = "crashed"
    """The kernel died during the case (a crash, os._exit, the memory limit)."""
    ERROR = "error"
    """The function raised, or what it returned could not be read."""
    SKIPPED = "skipped"
    """Not run (the file could not be read, an earlier timeout, the submission's time was up)."""


class CellStatus(StrEnum):
    """What one cell executed in the kernel came to (kernel.session.CellOutcome)."""

    OK = "ok"
    """The cell finished without raising."""
    ERROR = "error"
    """The cell raised; the outcome holds the exception's name, value and traceback."""
    TIMEOUT = "timeout"
    """The cell ran past its time limit."""
    DIED = "died"
    """The kernel process ended while the cell ran."""


@dataclass
class Limits:
    """How much one submission and its kernel may use. The manifest's [limits] and the command
    line's options override these defaults, which are stated nowhere else."""

    case_seconds: float = 20.0
    """Wall-clock seconds one case may take."""
    submission_seconds: float = 180.0
    """Wall-clock seconds all of one submission's cases may take together."""
    cpu_seconds: int = 300
    """CPU seconds of the kernel process (RLIMIT_CPU)."""
    memory_mb: int = 2048
    """Address space of the kernel process, in MB (RLIMIT_AS, and the cgroup where there is one)."""
    processes: int = 64
    """Processes the kernel may have at once."""
    file_mb: int = 256
    """Largest file the kernel may write, in MB; its folder holds at most this much in all."""
    output_bytes: int = 200_000
    """Printed output kept per case; a flood far past it stops the case."""
    max_values: int = 2_000_000
    """Numbers one result may hold (every array of it together)."""
    diagnosis_seconds: float = 15.0
    """Grader-side seconds one submission's mistake diagnosis may spend re-running catalogued variants
    (family confirmations and fits); once spent, failing cases get the plain localisation."""
    diagnosis_runs: int = 200
    """Variant runs one submission's mistake diagnosis may make, whatever their speed."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict:
        return asdict(self)

    def overridden(self, overrides: dict | None) -> Limits:
        """These limits with the given ones (None meaning "not given") put in their place."""
        given = {k: v for k, v in (overrides or {}).items() if v is not None and k in self.names()}
        return Limits(**{**self.as_dict(), **given})

    def refusal(self, spell=lambda name: name) -> str:
        """Why these limits cannot grade anything ("" when they can), naming each limit as `spell`
        writes it (an option or a manifest key). Checked here once, for the command line and the
        manifest alike; the grader never raises a number it was given."""
        for name, value in self.as_dict().items():
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < math.inf:
                return f"{spell(name)} {value!r}: give a finite number greater than 0"
        if self.memory_mb < MIN_MEMORY_MB:
            return (f"{spell('memory_mb')} {self.memory_mb}: too small to start a kernel (Python, Jupyter and "
                    f"numpy need more address space); the smallest accepted value is {MIN_MEMORY_MB} (MB)")
        if self.case_seconds < MIN_CASE_SECONDS:
            return (f"{spell('case_seconds')} {self.case_seconds:g}: too short for one call into the kernel; "
                    f"the smallest accepted value is {MIN_CASE_SECONDS:g} (seconds)")
        return ""


MIN_MEMORY_MB = 512
"""Below this a kernel does not even start (measured: 400 MB fails, on 2 cores); numpy may need more,
and a kernel that cannot import it under the limit is reported as the limit's doing."""
MIN_CASE_SECONDS = 0.5
"""The shortest case limit: a call and its reply through the kernel take about this long."""


# Type names a hidden case's report may show: Python's own (builtins) and numpy's.
KNOWN_TYPES = frozenset(name for name, value in {**vars(builtins), **vars(np)}.items() if isinstance(value, type)) | {
    "NoneType", "LinAlgError", "AxisError", "function", "generator", "module"}


def shown_type(name: str | None, public: bool) -> str:
    """A type's name as a report may show it: on a hidden case, only the names of Python's and
    numpy's own types, since the code can give a class it makes any name (a hidden input, say)."""
    if public or name is None or name in KNOWN_TYPES:
        return str(name)
    return "an object of a class defined in the code"


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
    def from_dict(cls, data: dict) -> Difference:
        data = dict(data)
        data["kind"] = Kind(data["kind"])
        data["path"] = tuple(data.get("path", ()))
        if data.get("at") is not None:
            data["at"] = tuple(data["at"])
        return cls(**data)


@dataclass(frozen=True)
class Tolerance:
    """How far apart two numbers may be and still be the same: np.isclose's rtol and atol."""

    rtol: float = 1e-6
    atol: float = 1e-9
    # When true, a one-value array does not stand for a number: shape (1, 1) is not shape ().
    exact_shapes: bool = False


# The value tree: what a graded function returned (or the reference did), as typed records.

@dataclass(frozen=True)
class Seq:
    """A tuple or list: its length, and its items (fewer than `length` when the harness cut it)."""

    kind: str  #: "tuple" or "list"
    length: int  #: the real length
    items: tuple[Node, ...]  #: the items sent


@dataclass(frozen=True)
class Mapping:
    """A dict with string keys, in the order the function built it."""

    keys: tuple[str, ...]  #: the keys sent (at most MAX_KEYS)
    items: tuple[Node, ...]  #: one node per key


@dataclass(frozen=True, eq=False)
class Array:
    """A numpy array (its values as float64) and the dtype it had."""

    values: np.ndarray  #: the values, float64, shape kept
    dtype: str  #: the original dtype's name


@dataclass(frozen=True)
class Number:
    """A Python or numpy number (ints and floats alike), as a float."""

    value: float  #: the number
    type: str  #: the original type's name (int, float, float64, ...)


@dataclass(frozen=True)
class Atom:
    """A bool, None or a text: compared exactly."""

    kind: str  #: "bool", "none" or "str"
    value: bool | str | None  #: the value (a text cut to MAX_STRING)
    length: int = 0  #: a text's real length


@dataclass(frozen=True)
class Opaque:
    """Something that cannot travel as data (a set, an object, a function), or was cut."""

    type: str  #: its type's name ("cut" when the harness left it out)
    why: str  #: why it was not sent


Node = Seq | Mapping | Array | Number | Atom | Opaque


def python_value(node: Node | None) -> object:
    """A record tree as plain Python again (tuples, lists, dicts, arrays, floats, bools, None, texts)."""
    if isinstance(node, Seq):
        items = [python_value(item) for item in node.items]
        return tuple(items) if node.kind == "tuple" else items
    if isinstance(node, Mapping):
        return {key: python_value(item) for key, item in zip(node.keys, node.items, strict=True)}
    if isinstance(node, Array):
        return node.values
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Atom):
        return node.value
    return None
