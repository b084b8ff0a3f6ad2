"""Running a mutant of the solution on one case's inputs, in a child process it cannot hang.

A mutant is trusted code (the instructor's solution with one slip), but a slip can make a loop run
for ever or an array fill the memory: each run is a forked child with a wall-clock timeout and an
address-space limit, so `grader expected` always finishes. The outcome has the form the catalogue's
variants give (`variant_outputs`): {"returned", "stdout", "inputs_changed"} or {"error": {type,
message}}, built from the inputs the kernel's harness builds from the case's recipe.

The mutants run here, in forks of `grader expected`'s own process, not in the sandbox kernel: they
are the instructor's trusted code, and a kernel per run would cost a second each where a fork
costs milliseconds.
"""

from __future__ import annotations

import contextlib
import copy
import io
import multiprocessing
import os
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEMORY_BYTES = 2 * 1024**3  #: address space a run may add to what the grader already holds
OUTPUT_CHARACTERS = 100_000  #: printed text kept per run


@dataclass(frozen=True)
class Job:
    """Everything a child needs to run one function on one case."""

    function: str  #: the name to call
    source: str  #: the function's source (a mutant's, the solution's), defined over the namespace's
    namespace: dict  #: the solution's module globals: the setup, the helpers and the other functions
    build: Callable[[], dict]  #: the case's arguments, built as the kernel's harness builds them
    signature: tuple[str, ...]  #: the argument names, in order
    folder: str  #: the run folder holding the support files (the working directory)
    memory: int = MEMORY_BYTES  #: bytes of address space allowed above the parent's own


def run_function(job: Job, timeout: float) -> dict:
    """The function's raw outcome on one case's inputs: what it returned and printed, and whether it
    changed an argument; or the error it raised; or a Timeout/Crashed error."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, job), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            return _error("Timeout", f"the run took longer than {timeout:g} s and was stopped")
        try:
            return receiver.recv()
        except (EOFError, OSError):
            child.join(1)
            return _error("Crashed", f"the run ended without an outcome (exit code {child.exitcode})")
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()


def _error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


def _child(sender, job: Job) -> None:
    """In the forked child: bound the memory, run, send the outcome (or why there is none)."""
    try:
        _limit_memory(job.memory)
        outcome = _run(job)
    except BaseException as error:  # noqa: BLE001 - a slip's exception is its outcome
        outcome = _error(type(error).__name__, _message(error))
    try:
        sender.send(outcome)
    except Exception as error:  # noqa: BLE001 - a returned value that cannot cross (a generator, a lock)
        sender.send(_error("Unsendable", f"the returned value could not be sent back ({type(error).__name__})"))
    finally:
        sender.close()


def _message(error: BaseException) -> str:
    try:
        return str(error)[:2000]
    except Exception:  # noqa: BLE001 - an exception whose own text cannot be made
        return "(the exception's message could not be read)"


def _limit_memory(extra: int) -> None:
    """The address space the parent already maps, plus `extra`: a runaway array raises MemoryError."""
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, mapped + extra))


def _run(job: Job) -> dict:
    """Define the function, build the inputs, call, and say what came back (in the child)."""
    os.chdir(job.folder)
    namespace = job.namespace
    exec(compile(job.source, "<mutant>", "exec"), namespace)  # noqa: S102 - the instructor's code, one slip
    function = namespace.get(job.function)
    if not callable(function):
        return _error("NameError", f"no function named {job.function}")
    arguments = job.build()
    before = copy.deepcopy(arguments)
    printed = _Bounded()
    try:
        with np.errstate(all="ignore"), contextlib.redirect_stdout(printed), contextlib.redirect_stderr(_Bounded()):
            returned = function(*[arguments.get(name, False) for name in job.signature])
    except Exception as error:  # noqa: BLE001 - the slip's exception is its outcome
        return _error(type(error).__name__, _message(error))
    return {
        "returned": returned,
        "stdout": printed.getvalue().splitlines(),
        "inputs_changed": not same_value(before, arguments),
    }


def solution_namespace(setup: str, folder: Path) -> dict:
    """The module globals the mutants run in: `setup` (the reference module's source, or the solution
    notebook's setup and graded cells) run once, in the run folder; a copy goes to each child."""
    previous = os.getcwd()
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    try:
        for path in Path(folder).glob("*.py"):  # the folder's support modules, not a copy loaded before
            sys.modules.pop(path.stem, None)
        namespace: dict = {"__name__": "__grader_mutants__"}
        exec(compile(setup, "<solution>", "exec"), namespace)  # noqa: S102 - trusted instructor code
        return namespace
    finally:
        os.chdir(previous)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


class _Bounded(io.StringIO):
    """Printed text, cut at OUTPUT_CHARACTERS: a slip that prints in a loop cannot fill the memory."""

    def write(self, text: str) -> int:
        room = OUTPUT_CHARACTERS - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


def same_value(a: object, b: object) -> bool:
    """Equal containers and arrays, exactly: did the call change an argument in place?"""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, type(a)) and len(a) == len(b) and all(map(same_value, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    return bool(a == b)
