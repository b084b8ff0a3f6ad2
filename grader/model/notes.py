"""What grading has to say besides the differences, as records: why a case was not run or how it
ended (case notes), and what went wrong with the submission as a whole (problems). grader.render
words each kind; the gradebook stores them as JSON (`to_json`, `from_json`), never as sentences.

A kernel's own text (an exception's message, what it wrote to stderr) is data too: it travels in a
KernelError or a KernelStart, with whether a report may show it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeVar, dataclass_transform


class DeathKind(StrEnum):
    """How a kernel process ended, when it did not end by itself."""

    EXITED = "exited"  #: the code ended the process (os._exit, exit, quit): status
    CPU = "cpu"  #: it used up its CPU-time limit
    FILE = "file"  #: a file it wrote reached the size limit
    KILLED = "killed"  #: killed by a signal (most likely the memory limit): signal
    CRASHED = "crashed"  #: another signal (a crash inside a library): signal
    MEMORY = "memory"  #: its control group killed it for memory
    FLOOD = "flood"  #: it printed more than the flood limit: limit, kept
    CHANNEL = "channel"  #: its channel to the grader broke: error


@dataclass(frozen=True)
class Death:
    """Why a kernel process ended."""

    kind: DeathKind
    status: int = 0  #: EXITED: the exit status
    signal: str = ""  #: KILLED, CRASHED: the signal's name
    limit: int = 0  #: CPU (s), FILE and MEMORY (MB), KILLED and CRASHED (the memory limit, MB), FLOOD (characters)
    kept: int = 0  #: FLOOD: characters of output kept
    error: str = ""  #: CHANNEL: the error's type


@dataclass(frozen=True)
class KernelError:
    """An exception the kernel reported, with whether a report may show its message: not once the
    kernel may hold a hidden case's inputs (then only a Python or numpy type's name is shown)."""

    name: str  #: the exception's type
    value: str = ""  #: its message (the kernel's text)
    shown: bool = True  #: whether the message may be shown


@dataclass(frozen=True)
class KernelStart:
    """Why a kernel did not start."""

    error: str  #: what starting it raised (jupyter_client's words)
    said: str = ""  #: the last lines the kernel process wrote to its stderr (the kernel's text)
    sandboxed: bool = False  #: it was started in the sandbox
    refused: bool = False  #: the grader refused to start it as root without isolation


class LimitKind(StrEnum):
    """A kernel limit an exception points at."""

    MEMORY = "memory"  #: MemoryError: the address space
    PROCESSES = "processes"  #: fork failed: the process cap
    FILE = "file"  #: "File too large": the file-size limit
    SPACE = "space"  #: "No space left": the kernel's folders


class _Record:
    """A note or a problem: a frozen dataclass with a `kind` tag, stored as JSON."""

    kind: ClassVar[str]


_KINDS: dict[str, type[_Record]] = {}
_R = TypeVar("_R", bound=_Record)


@dataclass_transform(frozen_default=True)
def _record(kind: str) -> Callable[[type[_R]], type[_R]]:
    """Register a record under `kind` (the JSON tag) and make it a frozen dataclass."""

    def register(cls: type[_R]) -> type[_R]:
        cls.kind = kind
        _KINDS[kind] = cls
        return dataclass(frozen=True)(cls)

    return register


# --- case notes --------------------------------------------------------------------------------


@_record("no_graded_cell")
class NoGradedCell(_Record):
    function: str  #: no cell starts with the function's marker


@_record("load_stopped")
class LoadStopped(_Record):
    """Running a cell while loading the notebook stopped the kernel or ran out of time."""

    cell: int  #: the cell's position, from 1
    function: str = ""  #: the graded function it defines ("" for a setup or other cell)
    timed_out: bool = False  #: it did not finish within its time limit (else it stopped the kernel)
    death: Death | None = None  #: how the kernel ended, when known
    memory_mb: int = 0  #: the memory limit, named when the death is unknown


@_record("not_loadable")
class NotLoadable(_Record):
    stopped: LoadStopped  #: the function's cell stops any kernel: not run again


@_record("out_of_time")
class OutOfTime(_Record):
    seconds: float  #: the submission used up its time limit


@_record("not_loaded")
class NotLoaded(_Record):
    problem: Any = None  #: the last problem noted while loading (a problem record), if any


@_record("timed_out")
class TimedOut(_Record):
    function: str
    seconds: float  #: the case's time limit


@_record("kernel_stopped")
class KernelStopped(_Record):
    function: str
    death: Death | None = None  #: how the kernel ended, when known
    memory_mb: int = 0  #: the memory limit, named when the death is unknown


@_record("call_failed")
class CallFailed(_Record):
    error: KernelError  #: the harness itself failed to make the call


@_record("malformed")
class Malformed(_Record):
    reason: str  #: why the results cannot be used (grader.kernel.untrusted's words, quoting nothing of the kernel's)


@_record("limit_hit")
class LimitHit(_Record):
    limit: LimitKind
    value: int  #: the limit's value (MB or processes)


@_record("result_cut")
class ResultCut(_Record):
    function: str
    notes: tuple[str, ...] = ()  #: the harness's notes of what it left out (public cases only)


@_record("cell_raised")
class CellRaised(_Record):
    function: str
    error: KernelError  #: what its cell raised when it was run


@_record("stopped_after")
class StoppedAfter(_Record):
    function: str
    description: str  #: the case it stopped on
    twice: bool = False  #: it stopped the kernel twice (else it timed out)


@_record("ungradable")
class Ungradable(_Record):
    """Not run: the file cannot be graded (the problem says why)."""


@_record("not_run")
class NotRun(_Record):
    """Not run: the grader itself failed on the submission (the problem says how)."""


# --- problems (the submission as a whole) -----------------------------------------------------------


@_record("numpy_failed")
class NumpyFailed(_Record):
    memory_mb: int
    status: str  #: how the import cell ended
    error: str = ""  #: the exception's type
    shown: bool = True  #: the type's name may be shown whatever it is (no hidden case ran yet)


@_record("kernel_not_started")
class KernelNotStarted(_Record):
    start: KernelStart | None  #: why (None: not shown, since it came after a hidden case ran)
    memory_mb: int = 0
    small_memory: bool = False  #: the memory limit is the likely cause


@_record("load_out_of_time")
class LoadOutOfTime(_Record):
    seconds: float


@_record("whole_notebook_failed")
class WholeNotebookFailed(_Record):
    """The whole notebook could not be run; the functions were graded from the imports and graded cells."""


@_record("harness_failed")
class HarnessFailed(_Record):
    status: str
    error: KernelError


@_record("results_folder_full")
class ResultsFolderFull(_Record):
    """A case's results could not be written: the file system of the grader's temporary folder was
    full (another kernel may have filled it). The grader's failure: graded again on the next run."""

    folder: str
    free_mb: int


@_record("too_many_setup_cells")
class TooManySetupCells(_Record):
    count: int
    marker: str
    kept: int
    skipped: tuple[int, ...]  #: the cells not run, from 1


@_record("setup_lines_skipped")
class SetupLinesSkipped(_Record):
    """A self-check left out lines of a setup cell, unchanged from the released notebook's, that its
    public cases do not need (grader.grading.needed); grading runs them."""

    cell: int  #: the setup cell, from 1
    lines: tuple[int, ...]  #: the lines left out (those with code on them), from 1


@_record("setup_cell_raised")
class SetupCellRaised(_Record):
    cell: int
    function: str = ""
    error: KernelError | None = None


@_record("no_setup_cell")
class NoSetupCell(_Record):
    marker: str


@_record("duplicate_cells")
class DuplicateCells(_Record):
    function: str
    cells: tuple[int, ...]  #: the cells starting with its marker, from 1; the last one was graded


@_record("refused")
class Refused(_Record):
    """The file cannot be graded: grader.model.refusal says why."""

    refusal: Any


class Failure(StrEnum):
    """How the grader itself failed on a submission."""

    EXCEPTION = "exception"  #: grading raised: detail (the type and text)
    POOL_BROKEN = "pool_broken"  #: the worker processes could not run
    NO_WORKER = "no_worker"  #: no worker could be started: detail
    DIED_TWICE = "died_twice"  #: the process grading it died twice
    NOT_STORED = "not_stored"  #: its result could not be stored: detail (the type)
    WORKER_DIED = "worker_died"  #: the Dask worker grading it died `count` times
    WORKER_REFUSED = "worker_refused"  #: a Dask worker refused to grade it: worker, detail (why)


@_record("grader_failed")
class GraderFailed(_Record):
    """The grader itself failed on the submission (not the student's doing)."""

    why: Failure
    detail: str = ""  #: see Failure
    count: int = 0  #: WORKER_DIED: how many times
    worker: str = ""  #: WORKER_REFUSED: the worker's address


@_record("hook_failed")
class HookFailed(_Record):
    """A hook of the instructor's catalogue module (mistakes.py) raised while a submission was
    diagnosed. Diagnosis went on without it and the score is untouched; only the instructor sees it
    (the batch's stderr, the gradebook's row), never the student."""

    hook: str  #: the hook: "evidence", "fit", "family_outputs", "pattern", "where", "variant lookup", ...
    entry: str  #: the catalogue entry's id ("" for a module-level hook)
    case: str  #: the case being diagnosed
    error: str  #: the exception's type
    detail: str = ""  #: its message, cut (the instructor's code's words)


@_record("text")
class Text(_Record):
    """A sentence written by an earlier version of the grader, kept as it was stored."""

    text: str


NESTED = {"death": Death, "error": KernelError, "start": KernelStart, "stopped": None, "problem": None, "refusal": None}


def to_json(record: object) -> object:
    """A note, a problem or a nested record as JSON-ready data."""
    if hasattr(record, "to_json") and not isinstance(record, type):
        return record.to_json()
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        data = {field.name: to_json(getattr(record, field.name)) for field in dataclasses.fields(record)}
        kind = getattr(type(record), "kind", None)
        registered = isinstance(record, _Record) and _KINDS.get(record.kind) is type(record)
        return {"kind": kind, **data} if registered else data
    if isinstance(record, tuple):
        return [to_json(item) for item in record]
    return record


def from_json(data: object) -> _Record:
    """The record `to_json` wrote (a bare string, as older versions stored, becomes a Text)."""
    if isinstance(data, str):
        return Text(data)
    if not isinstance(data, dict) or data.get("kind") not in _KINDS:
        return Text(str(data))
    cls: Any = _KINDS[data["kind"]]
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in data:
            values[field.name] = _field_value(field.name, data[field.name])
    record: _Record = cls(**values)
    return record


def _field_value(name: str, value: object) -> object:
    if value is None:
        return None
    if name in ("stopped", "problem") and isinstance(value, dict):
        return from_json(value)
    if name == "refusal" and isinstance(value, dict):
        from grader.model.refusal import Refusal

        return Refusal.from_json(value)
    nested: Any = NESTED.get(name)
    if nested is not None and isinstance(value, dict):
        return nested(**{k: (DeathKind(v) if k == "kind" and nested is Death else v) for k, v in value.items()})
    if name == "limit" and isinstance(value, str):
        return LimitKind(value)
    if name == "why" and isinstance(value, str) and value in Failure.__members__.values():
        return Failure(value)
    return tuple(value) if isinstance(value, list) else value
