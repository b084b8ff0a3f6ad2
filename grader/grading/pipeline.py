"""Grading one submission, as a pipeline of named steps: read → parse → rules → run the cases in a
fresh kernel → rerun callers of failing callees alone, in that kernel once its cases are judged (a
fresh one for what it cannot answer; grader.grading.alone) → blame failing callees → score. Every
caller (check, check() in Jupyter, the pytest plugin, Gradescope, the worker pool, a Dask worker)
grades through grade_one.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.assignment.notebook import (
    ParsedNotebook,
    SubmissionError,
    parse_submission,
    read_regular,
)
from grader.assignment.preload import released_setup
from grader.grading.alone import failing_callees, rerun_callers, rerun_in_kernel
from grader.grading.judging import CaseJudge, run_cases, verdict
from grader.grading.needed import trimmed_setup
from grader.grading.runner import KernelRunner, kernel_folder
from grader.judge.diagnose import name_by_mutants
from grader.judge.expected import ExpectedValues
from grader.judge.scoring import score_report
from grader.kernel.isolation import isolation_of
from grader.kernel.session import KernelSession
from grader.model import Case, CaseStatus, Kind, SubmissionReport, SubmissionStatus
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.model.graded import CallerPolicy
from grader.model.notes import CellRaised, NoSetupCell, Refused, Ungradable
from grader.model.options import GradeOptions
from grader.model.refusal import Refusal, RefusalKind


def grade_one(
    path: Path, assignment: Assignment, expected: ExpectedValues | None = None, options: GradeOptions | None = None
) -> SubmissionReport:
    """Grade one notebook file; never raises for anything about the file or the code in it."""
    options = options or GradeOptions()
    expected = expected if expected is not None else ExpectedValues(assignment)
    started, path = time.monotonic(), Path(path)
    data, parsed, refusal = _read(path, assignment)
    report = SubmissionReport(
        name=options.name or path.stem,
        path=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        assignment=assignment.name,
        assignment_version=assignment.version,
        status=SubmissionStatus.GRADED,
        isolation=isolation_of(options.sandbox),
    )
    cases = assignment.cases(public_only=options.public_only)
    if refusal is not None:
        _refused(report, refusal, cases)
    elif parsed is not None:  # a file that is not refused is parsed
        report.problems += parsed.notes
        report.findings = _rule_findings(parsed, assignment)
        _restore_setup(parsed, assignment, options, report)
        if options.trim_setup and not options.execute_all:
            trimmed = trimmed_setup(parsed, assignment)
            parsed.setup = trimmed.cells
            report.problems += trimmed.skipped
            if options.kernel is not None:
                options.kernel.imports_then(trimmed.imports)  # a kernel started ahead imports them meanwhile
        _run(report, parsed, assignment, cases, expected, options)
        if assignment.callers == CallerPolicy.ALONE and report.status == SubmissionStatus.GRADED:
            rerun_callers(report, parsed, assignment, cases, expected, options)
        _blame_failing_callees(report, assignment)
    score_report(report, assignment.functions)
    report.seconds = time.monotonic() - started
    return report


def _read(path: Path, assignment: Assignment) -> tuple[bytes, ParsedNotebook | None, Refusal | None]:
    """The file's bytes, read once without following a link or blocking, and parsed from those bytes."""
    try:
        data = read_regular(path)
    except SubmissionError as error:
        return b"", None, error.refusal
    try:
        parsed = parse_submission(data, path.name, assignment.setup_marker, assignment.markers.mistake_marker)
    except SubmissionError as error:
        return data, None, error.refusal
    return data, parsed, _other_assignment(parsed, assignment, path.name)


def _other_assignment(parsed: ParsedNotebook, assignment: Assignment, label: str) -> Refusal | None:
    """A notebook whose graded cells name none of this assignment's functions belongs to another
    assignment (a mixed batch): say so instead of scoring it 0 function by function."""
    names = sorted(parsed.graded)
    expected = tuple(f.name for f in assignment.functions)
    if names and not set(names) & set(expected):
        return Refusal(
            RefusalKind.OTHER_ASSIGNMENT, label, names=tuple(names), expected=expected, title=assignment.title
        )
    return None


def _refused(report: SubmissionReport, refusal: Refusal, cases: list[Case]) -> None:
    report.status = SubmissionStatus.INVALID
    report.problems.append(Refused(refusal))
    report.cases = [verdict(case, CaseStatus.SKIPPED, [Ungradable()]) for case in cases]


def _restore_setup(
    parsed: ParsedNotebook, assignment: Assignment, options: GradeOptions, report: SubmissionReport
) -> None:
    """A submission that lost its imports cell gets the released notebook's, and is told so."""
    if parsed.setup or options.execute_all:
        return
    parsed.setup = released_setup(assignment)
    if parsed.setup:
        report.problems.append(NoSetupCell(assignment.setup_marker))


def _run(
    report: SubmissionReport,
    parsed: ParsedNotebook,
    assignment: Assignment,
    cases: list[Case],
    expected: ExpectedValues,
    options: GradeOptions,
) -> None:
    """The cases, run in a fresh kernel in a folder of the grader's files, removed afterwards."""
    runner = None
    with _kernel_place(assignment, options) as (workdir, session):
        try:
            if options.execute_all and options.data_dir:
                shutil.copytree(options.data_dir, workdir / "datasets", dirs_exist_ok=True)
            limits = options.limits or assignment.limits
            runner = KernelRunner(parsed, assignment, workdir, options, limits, session)
            judge = CaseJudge(runner, assignment)
            report.cases = run_cases(judge, cases, expected)
            name_by_mutants(assignment, cases, report.cases, parsed.graded, judge.budget, expected)  # across cases
            report.instructor_notes += judge.budget.hook_failures  # the catalogue's hooks that raised
            report.problems += [CellRaised(name, error) for name, error in runner.load_errors.items()]
            report.problems += runner.problems
            if runner.grader_failed:
                report.status = SubmissionStatus.ERROR
            elif assignment.callers == CallerPolicy.ALONE:  # last: nothing of the kernel is read after it
                rerun_in_kernel(report, judge, cases, expected)
        finally:
            if runner is not None:
                runner.close()


@contextmanager
def _kernel_place(assignment: Assignment, options: GradeOptions) -> Iterator[tuple[Path, KernelSession | None]]:
    """The kernel folder, and the kernel started ahead in it when there is one (the whole notebook's
    run adds the dataset to the folder first: it always starts its own)."""
    taken = options.kernel.take() if options.kernel is not None and not options.execute_all else None
    if taken is None:
        with kernel_folder(assignment) as workdir:
            yield workdir, None
        return
    folder, session = taken
    try:
        yield folder, session
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _blame_failing_callees(report: SubmissionReport, assignment: Assignment) -> None:
    """A graded function that calls another one (the manifest's `calls`) which fails its own cases
    most likely fails because of it. A case that passed with correct callees (`alone`) is told the
    function is right, unless another of its cases failed even so (then it only hears whom it calls);
    otherwise say so where no catalogued mistake explains the failure. A case that raised keeps its
    own explanation (an unwritten function raises NameError whatever it calls)."""
    failing = {found.function for found in report.cases if not found.passed}
    at_fault = {name for name in failing if any(not v.earns for v in report.cases_of(name))}
    for found in report.cases:
        callees = _blamed(assignment, found.function, failing, at_fault, found.alone)
        if found.passed or not callees:
            continue
        raised = any(d.kind == Kind.RAISED for d in found.differences)
        named = found.diagnosis is not None and found.diagnosis.named
        if found.alone is not True and (raised or named):
            continue
        right = found.alone if found.function not in at_fault else (False if found.alone is False else None)
        found.diagnosis = Diagnosis(DiagnosisKind.CALLEE, function=found.function, callees=callees, alone=right)


def _blamed(
    assignment: Assignment, function: str, failing: set[str], at_fault: set[str], alone: bool | None
) -> tuple[str, ...]:
    """The callees to name: for a case right with correct callees, those wrong on their own
    (linear_forward, not the right linear_activation_forward between); for one wrong even so, every
    failing callee the rerun replaced; without a rerun (a self-check has no solution to rerun with),
    the failing callees none of whose own callees fail, where a fix starts; else the failing ones
    it calls directly."""
    reached = failing_callees(assignment, function, failing)
    if alone is True and failing_callees(assignment, function, at_fault):
        return failing_callees(assignment, function, at_fault)
    if alone is False:
        return reached
    roots = tuple(name for name in reached if not failing_callees(assignment, name, failing))
    direct = tuple(name for name in assignment.function(function).calls if name in failing)
    return roots or direct or reached


def _rule_findings(parsed: ParsedNotebook, assignment: Assignment) -> list:
    """The course's submission rules, checked statically."""
    from grader.judge import rules

    return rules.check(parsed, assignment)
