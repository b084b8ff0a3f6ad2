"""One case of one submission: called in the kernel, read back as plain data, judged outside it.

Every verdict holds records only: the differences the comparison found, the notes on how the case
ended (grader.model.notes) and the likely cause (grader.model.diagnosis). Cases run public first:
once a kernel is given a hidden case's inputs, its code can keep them, and a public case's report
shows the kernel's text.
"""

from __future__ import annotations

import json
import time

from grader.assignment.manifest import Assignment
from grader.grading.runner import KernelRunner
from grader.judge.compare import compare, part_of
from grader.judge.diagnose import diagnose, note_outcome
from grader.judge.expected import ExpectedValues
from grader.kernel.session import limit_hit
from grader.kernel.untrusted import READ_SECONDS, UntrustedDataError, read_result
from grader.model import Case, CaseStatus, CaseVerdict, CellStatus, Expected, KernelResult, Kind, Number, Seq
from grader.model.cell import CellOutcome
from grader.model.diagnosis import Diagnosis, DiagnosisBudget, DiagnosisKind
from grader.model.notes import (
    CallFailed,
    CellRaised,
    KernelError,
    KernelStopped,
    Malformed,
    NoGradedCell,
    NotLoadable,
    NotLoaded,
    OutOfTime,
    ResultCut,
    ResultsFolderFull,
    StoppedAfter,
    TimedOut,
)

FULL_BELOW_MB = 1  # a results folder with less free space than this is full


def verdict(case: Case, status: CaseStatus, notes: list | None = None, seconds: float = 0.0) -> CaseVerdict:
    return CaseVerdict(
        case_id=case.id,
        function=case.function,
        description=case.description,
        visibility=case.visibility,
        status=status,
        notes=list(notes or []),
        seconds=seconds,
    )


class CaseJudge:
    """Runs a submission's cases in its kernel and judges each outside it."""

    def __init__(self, runner: KernelRunner, assignment: Assignment):
        self.runner, self.assignment = runner, assignment
        self.budget = DiagnosisBudget.from_limits(runner.limits)  #: one per submission, shared by its cases

    def run_case(self, case: Case, expected: Expected) -> CaseVerdict:
        """The verdict of one case; never raises for anything the student's code does."""
        called = self.call(case)
        if isinstance(called, CaseVerdict):
            return called
        result, seconds = called
        return self._judged(case, expected, result, seconds)

    def call(self, case: Case) -> CaseVerdict | tuple[KernelResult, float]:
        """What the kernel sent back for one case, read as plain data, with the seconds the call took;
        or, when there is nothing to read, the case's verdict already. `grader expected` reads the
        solution's answers this way, through the very steps a student's go through."""
        runner, function = self.runner, case.function
        if function not in runner.parsed.graded:
            return verdict(case, CaseStatus.ERROR, [NoGradedCell(function)])
        if function in runner.unloadable:
            return verdict(case, CaseStatus.ERROR, [NotLoadable(runner.unloadable[function])])
        if runner.remaining() <= 0:
            return verdict(case, CaseStatus.SKIPPED, [OutOfTime(runner.limits.submission_seconds)])
        if not runner.prepare():
            return verdict(case, CaseStatus.CRASHED, [NotLoaded(runner.problems[-1] if runner.problems else None)])
        out = runner.session.result_file()  # fresh and empty, in a folder the kernel cannot change
        timeout = runner.case_timeout()
        runner.tainted = runner.tainted or not case.public
        outcome = runner.session.run(f"__grader_run__({json.dumps(json.dumps(self._request(case, out)))})", timeout)
        if outcome.status != CellStatus.OK:
            return self._unfinished(case, outcome, timeout)
        try:
            result = read_result(
                out,
                runner.limits.max_values,
                owner=getattr(runner.options.sandbox, "result_owner", None),
                deadline=time.monotonic() + max(5.0, min(READ_SECONDS, runner.remaining())),
            )
        except UntrustedDataError as error:
            return verdict(case, CaseStatus.FAILED, [Malformed(str(error))], outcome.seconds)
        return result, outcome.seconds

    def _request(self, case: Case, out) -> dict:
        """What the harness in the kernel needs for the call: the recipe, never an expected value."""
        runner = self.runner
        return {
            "function": case.function,
            "signature": list(self.assignment.function(case.function).signature),
            "recipe": case.recipe,
            "globals": case.misleading_globals,
            "out": str(out),
            "workdir": str(runner.session.kernel_workdir),
            "builder": self.assignment.inputs,
            "output_limit": runner.limits.output_bytes,
            "max_values": runner.limits.max_values,
            "return_inputs": "inputs_unchanged" in case.compare,
        }

    def _unfinished(self, case: Case, outcome: CellOutcome, timeout: float) -> CaseVerdict:
        """A call that timed out, took the kernel down, or that the harness could not make."""
        if outcome.status == CellStatus.TIMEOUT:
            self.runner.ready = False
            return verdict(case, CaseStatus.TIMEOUT, [TimedOut(case.function, timeout)], outcome.seconds)
        if outcome.status == CellStatus.DIED:
            self.runner.ready = False
            note = KernelStopped(case.function, outcome.death, self.runner.limits.memory_mb)
            return verdict(case, CaseStatus.CRASHED, [note], outcome.seconds)
        full = self._results_folder_full(outcome)
        if full is not None:  # not the student's doing: the grader's failure, graded again on the next run
            self.runner.give_up(full)
            return verdict(case, CaseStatus.ERROR, [full], outcome.seconds)
        error = KernelError(outcome.error_name, outcome.error_value)  # the harness failed: shown on public cases
        return verdict(case, CaseStatus.ERROR, [CallFailed(error)], outcome.seconds)

    def _results_folder_full(self, outcome: CellOutcome) -> ResultsFolderFull | None:
        """The harness could not write its results because the results' file system is full (as the
        host reads it, or as the kernel's error says: faking that only gets the submission regraded)."""
        folder, free_mb = self.runner.session.results_folder_free()
        said = outcome.error_name == "OSError" and "[Errno 28]" in outcome.error_value
        return ResultsFolderFull(folder, free_mb) if said or free_mb < FULL_BELOW_MB else None

    def _judged(self, case: Case, expected: Expected, result: KernelResult, seconds: float) -> CaseVerdict:
        """The verdict on what the kernel sent back: compared, noted, and diagnosed when it fails."""
        function, names = case.function, self.assignment.function(case.function).returns
        comparison = compare(case, expected, result, self.assignment.tolerance(function, case), names)
        found = verdict(case, CaseStatus.PASSED if comparison.passed else CaseStatus.FAILED, [], seconds)
        found.differences = list(comparison.differences)
        found.series = _series(result, self.assignment.curve, names)
        note_outcome(self.assignment, case, expected, result, self.budget)  # compared across cases afterwards
        if comparison.passed:
            return found
        hit = limit_hit(result.meta.error, self.runner.limits)
        if hit is not None:
            found.notes.append(hit)
        if result.meta.cut:  # the notes are the harness's words in the kernel: shown on public cases only
            found.notes.append(ResultCut(function, tuple(result.meta.cut) if case.public else ()))
        load_error = self.runner.load_errors.get(function)
        if load_error is not None and comparison.first is not None and comparison.first.kind == Kind.RAISED:
            found.notes.append(CellRaised(function, load_error))
            found.diagnosis = Diagnosis(DiagnosisKind.CELL_FAILED, function=function, cell_error=load_error)
        else:  # name the likely mistake (the assignment's catalogue), or localise it
            found.diagnosis = diagnose(
                self.assignment,
                case,
                expected,
                result,
                comparison,
                self.runner.parsed.graded.get(function),
                self.budget,
            )
        return found


def _series(result: KernelResult, curve: str, names: tuple[str, ...]) -> list[float]:
    """The returned part the manifest names as a curve, as floats (empty when there is none)."""
    if not curve or result.returned is None:
        return []
    part = (
        result.returned
        if curve == "returned"
        else (part_of(result.returned, names.index(curve)) if curve in names else None)
    )
    if not isinstance(part, Seq):
        return []
    return [item.value for item in part.items if isinstance(item, Number)][:1000]


def run_cases(judge: CaseJudge, cases: list[Case], expected: ExpectedValues) -> list[CaseVerdict]:
    """Every case's verdict, in the manifest's order; but every public case runs before any hidden one.

    Once a kernel is given a hidden case's inputs, the code can keep them (in a global, say), and a
    public case's messages show the kernel's text: a later public case could print them all. After
    a timeout, or a second crash, a function's remaining cases are not run.
    """
    order = sorted(range(len(cases)), key=lambda index: not cases[index].public)
    verdicts: dict[int, CaseVerdict] = {}
    stopped: dict[str, StoppedAfter] = {}  # function -> why its remaining cases are not run
    crashes: dict[str, int] = {}
    for index in order:
        case = cases[index]
        if case.function in stopped:
            verdicts[index] = verdict(case, CaseStatus.SKIPPED, [stopped[case.function]])
            continue
        found = verdicts[index] = judge.run_case(case, expected.for_case(case.id))
        if found.status == CaseStatus.TIMEOUT:
            stopped[case.function] = StoppedAfter(case.function, case.description)
        elif found.status == CaseStatus.CRASHED:  # a second crash: no more kernels spent on this function
            crashes[case.function] = crashes.get(case.function, 0) + 1
            if crashes[case.function] >= 2:
                stopped[case.function] = StoppedAfter(case.function, case.description, twice=True)
    return [verdicts[index] for index in range(len(cases))]
