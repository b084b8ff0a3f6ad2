"""Words for the notes, problems, kernel deaths and refusals of grader.model: the only place they
become sentences."""

from __future__ import annotations

from typing import Any

from grader.model import shown_type
from grader.model.notes import (
    CallFailed,
    CellRaised,
    Death,
    DeathKind,
    DuplicateCells,
    Failure,
    GraderFailed,
    HarnessFailed,
    HookFailed,
    KernelError,
    KernelNotStarted,
    KernelStart,
    KernelStopped,
    LimitHit,
    LimitKind,
    LoadOutOfTime,
    LoadStopped,
    Malformed,
    NoGradedCell,
    NoSetupCell,
    NotLoadable,
    NotLoaded,
    NotRun,
    NumpyFailed,
    OutOfTime,
    Refused,
    ResultCut,
    ResultsFolderFull,
    SetupCellRaised,
    SetupLinesSkipped,
    StoppedAfter,
    Text,
    TimedOut,
    TooManySetupCells,
    Ungradable,
    WholeNotebookFailed,
)
from grader.render.refusals import refusal_text

AFTER_HIDDEN = "its message is not shown, since it came after a hidden case ran"
RAISE_THE_LIMIT = "raise the limit (--memory-mb, or memory_mb in the manifest's [limits])"


def death_text(death: Death) -> str:
    """Why a kernel process ended, naming the limit when one was hit."""
    if death.kind == DeathKind.EXITED:
        return (
            f"the code ended the kernel process (exit status {death.status}; os._exit(), exit() or quit() "
            "stop the whole kernel, so remove them)"
        )
    if death.kind == DeathKind.CPU:
        return f"the kernel used up its CPU-time limit of {death.limit} s"
    if death.kind == DeathKind.FILE:
        return f"a file written by the code reached the size limit of {death.limit} MB"
    if death.kind == DeathKind.KILLED:
        return f"the kernel was killed ({death.signal}), most likely for using more than {death.limit} MB"
    if death.kind == DeathKind.MEMORY:
        return (
            f"the kernel was killed for using more than its memory limit of {death.limit} MB "
            "(everything it holds counts: its processes, shared memory and the files it wrote)"
        )
    if death.kind == DeathKind.FLOOD:
        return (
            f"it printed more than {death.limit} characters of output, which the grader does "
            f"not accept (it keeps {death.kept} characters)"
        )
    if death.kind == DeathKind.CHANNEL:
        return f"its channel broke ({death.error})"
    return (
        f"the kernel crashed ({death.signal}); this often means the memory limit of {death.limit} MB "
        "ran out inside a library"
    )


def kernel_error_text(error: KernelError, public: bool = True) -> str:
    """An exception the kernel reported: its type and message, or only a type once it may not be shown."""
    if error.shown and public:
        return f"{error.name}: {error.value}".strip(": ")
    if not error.shown:
        return f"{shown_type(error.name, public=False)} ({AFTER_HIDDEN})"
    return shown_type(error.name, public=False)


def start_text(start: KernelStart) -> str:
    if start.refused:
        return (
            "refusing to run student code as root without the sandbox or an unprivileged account "
            "(grader.kernel.isolation chooses one)"
        )
    where = " in the sandbox" if start.sandboxed else ""
    return f"the kernel did not start{where}: {start.error}" + (f" (it said: {start.said})" if start.said else "")


def _why_stopped(death: Death | None, memory_mb: int) -> str:
    return death_text(death) if death is not None else f"a crash, os._exit, or the memory limit of {memory_mb} MB"


def _load_stopped(note: LoadStopped) -> str:
    where = f"cell {note.cell}" + (f" ({note.function})" if note.function else "")
    what = (
        "did not finish within its time limit"
        if note.timed_out
        else "stopped the kernel: " + _why_stopped(note.death, note.memory_mb)
    )
    return f"running {where} {what}"


LIMIT_WORDS = {
    LimitKind.MEMORY: "MemoryError: the kernel may use at most {} MB of memory, and the code asked for more",
    LimitKind.PROCESSES: "the kernel may run at most {} processes and threads at once, and the code tried to start "
    "more",
    LimitKind.FILE: "files written by the code may be at most {} MB",
    LimitKind.SPACE: "the kernel's folder holds at most {} MB of files in all, and its /tmp 64 MB",
}


def note_text(note: object, public: bool = True) -> str:
    """A case's note, or a submission's problem, in words (`public`: the case's inputs are shown)."""
    words: Any = _CASE_WORDS.get(type(note)) or _PROBLEM_WORDS.get(type(note))
    if words is None:
        return str(note)
    return words(note, public)


def _not_loaded(note: NotLoaded, public: bool) -> str:
    said = f" ({note_text(note.problem)})" if note.problem is not None else ""
    return "not run: the notebook's code could not be loaded in a kernel" + said


def _result_cut(note: ResultCut, public: bool) -> str:
    cut = "; ".join(note.notes) if public and note.notes else "it exceeded the harness's bounds"
    return f"what {note.function} returned was not sent back whole ({cut})"


def _stopped_after(note: StoppedAfter, public: bool) -> str:
    how = (
        f"stopped the kernel twice, last on '{note.description}'"
        if note.twice
        else f"timed out on '{note.description}'"
    )
    return f"not run: {note.function} {how}"


_CASE_WORDS = {
    NoGradedCell: lambda n, p: f"no cell starts with '# GRADED FUNCTION: {n.function}'",
    NotLoadable: lambda n, p: f"not run: {_load_stopped(n.stopped)}",
    OutOfTime: lambda n, p: f"not run: the submission used up its {n.seconds:g} s time limit",
    NotLoaded: _not_loaded,
    TimedOut: lambda n, p: f"{n.function} did not finish within {n.seconds:g} s on this case",
    KernelStopped: lambda n, p: (
        f"the kernel stopped while {n.function} ran: {_why_stopped(n.death, n.memory_mb)}; "
        "grading went on in a new kernel"
    ),
    CallFailed: lambda n, p: f"the call could not be made: {kernel_error_text(n.error, p)}",
    Malformed: lambda n, p: n.reason,
    LimitHit: lambda n, p: LIMIT_WORDS[n.limit].format(n.value),
    ResultCut: _result_cut,
    CellRaised: lambda n, p: f"{n.function}: its cell raised {kernel_error_text(n.error)} when run",
    StoppedAfter: _stopped_after,
    Ungradable: lambda n, p: "not run: the file cannot be graded (the problem is named above)",
    NotRun: lambda n, p: "not run: the grader failed on this submission (the problem is named above)",
    Text: lambda n, p: n.text,
}


def _kernel_not_started(problem: KernelNotStarted, public: bool) -> str:
    said = f": {start_text(problem.start)}" if problem.start is not None else f" ({AFTER_HIDDEN})"
    hint = (
        f"; the memory limit of {problem.memory_mb} MB is the likely cause: raise it (--memory-mb, or memory_mb "
        "in the manifest's [limits])"
        if problem.small_memory
        else ""
    )
    return f"the kernel could not start{said}{hint}"


def _setup_cell_raised(problem: SetupCellRaised, public: bool) -> str:
    where = f"cell {problem.cell}" + (f" ({problem.function})" if problem.function else "")
    raised = kernel_error_text(problem.error) if problem.error else "an exception"
    return f"{where} raised {raised} when run"


def _too_many_setup_cells(problem: TooManySetupCells, public: bool) -> str:
    cells = ", ".join(str(cell) for cell in problem.skipped)
    return (
        f"{problem.count} cells contain `{problem.marker}`; only the first {problem.kept} were run "
        f"(cells {cells} were skipped): keep the imports in one cell"
    )


_FAILURES = {
    Failure.EXCEPTION: "The grader failed on this submission ({detail}). Tell the instructor; grading it again may "
    "help.",
    Failure.POOL_BROKEN: "The grading worker processes could not run; grade this submission again.",
    Failure.NO_WORKER: "The grader could not start a worker for this submission ({detail}).",
    Failure.DIED_TWICE: "The process grading this submission died twice (for instance the grader's own memory ran "
    "out). It was not scored; tell the instructor.",
    Failure.NOT_STORED: "The grader could not store this submission's result ({detail}). Grade it again; tell the "
    "instructor if this stays.",
    Failure.WORKER_DIED: "The worker grading this submission died {count} times (for instance its memory ran out). "
    "It was not scored; tell the instructor.",
    Failure.WORKER_REFUSED: "The grader did not run this submission: the worker {worker} refuses to grade: {detail}. "
    "Run the same command again once every worker can isolate student code.",
}


def _grader_failed(problem: GraderFailed, public: bool) -> str:
    detail = problem.detail.rstrip().rstrip(".")  # the template ends the sentence
    return _FAILURES[problem.why].format(detail=detail, count=problem.count, worker=problem.worker)


_PROBLEM_WORDS = {
    NumpyFailed: lambda n, p: (
        f"the kernel cannot import numpy under the memory limit of {n.memory_mb} MB "
        f"({n.status} {shown_type(n.error, public=n.shown)}): {RAISE_THE_LIMIT}"
    ),
    KernelNotStarted: _kernel_not_started,
    LoadOutOfTime: lambda n, p: f"the submission used up its {n.seconds:g} s time limit while its cells were loading",
    WholeNotebookFailed: lambda n, p: (
        "the whole notebook could not be run, so the graded functions were graded "
        "after running only the imports and the graded cells"
    ),
    HarnessFailed: lambda n, p: (
        f"the grader's harness could not be loaded in the kernel ({n.status} {kernel_error_text(n.error)})"
    ),
    ResultsFolderFull: lambda n, p: (
        f"the grader could not write a case's results: the file system of {n.folder} was full "
        f"({n.free_mb} MB free). The submission is graded again on the next run; free space there, or set "
        "TMPDIR to a larger folder"
    ),
    TooManySetupCells: _too_many_setup_cells,
    LoadStopped: lambda n, p: _load_stopped(n),
    SetupCellRaised: _setup_cell_raised,
    SetupLinesSkipped: lambda n, p: f"{_skipped_lines(n)}, as released, were not run by this check",
    NoSetupCell: lambda n, p: (
        f"no cell contains `{n.marker}` (the imports cell): the released notebook's imports "
        "were run instead; restore that cell"
    ),
    DuplicateCells: lambda n, p: (
        f"{n.function} has {len(n.cells)} graded cells (cells "
        f"{', '.join(str(c) for c in n.cells)}); the last one was graded."
    ),
    Refused: lambda n, p: refusal_text(n.refusal),
    GraderFailed: _grader_failed,
}


def skipped_setup_text(notes: list[SetupLinesSkipped]) -> str:
    """The setup lines a self-check left out, in one sentence ("" when none)."""
    if not notes:
        return ""
    where = "; ".join(_skipped_lines(note) for note in notes)
    them = "it" if sum(len(note.lines) for note in notes) == 1 else "them"
    return f"Not run by this check: {where}, as released, which no public case needs; grading runs {them}."


def _skipped_lines(note: SetupLinesSkipped) -> str:
    """`lines 1, 4 and 9–12 of cell 2`: consecutive lines as one range."""
    runs: list[list[int]] = []
    for line in note.lines:
        if runs and line == runs[-1][-1] + 1:
            runs[-1].append(line)
        else:
            runs.append([line])
    parts = [str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    noun = "line" if len(note.lines) == 1 else "lines"
    return f"{noun} {listed} of the setup cell (cell {note.cell})"


def hook_failed_text(note: HookFailed, catalogue: str = "the catalogue module") -> str:
    """For the instructor: a hook of their catalogue module raised while a submission was diagnosed."""
    entry = f" of '{note.entry}'" if note.entry else ""
    detail = f": {note.detail}" if note.detail else ""
    return (
        f"{catalogue}: the {note.hook} hook{entry} raised {note.error}{detail} (case {note.case}); that "
        "diagnosis was skipped and the score is unaffected: fix the hook, then grade again with --regrade"
    )
