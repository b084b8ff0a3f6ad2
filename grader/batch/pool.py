"""The pool of worker processes: each submission is graded in a worker (its student code in a kernel
of its own); a worker that raises or dies costs only the submission it was grading, which is
recorded as an error."""

from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.assignment.preload import setup_modules
from grader.batch.collection import Submission
from grader.grading import GradeOptions, grade_one
from grader.grading.phases import phase_clock
from grader.grading.warm import NextKernels
from grader.judge.expected import ExpectedValues
from grader.judge.scoring import score_report
from grader.kernel.ahead import WarmKernel
from grader.kernel.isolation import isolation_of
from grader.kernel.zygote import ZygoteSandbox
from grader.model import CaseStatus, CaseVerdict, SubmissionReport, SubmissionStatus
from grader.model.notes import Failure, GraderFailed, NotRun, Refused, Ungradable
from grader.model.refusal import Refusal

# ----------------------------------------------------------------------------------------------
# Reports for submissions the grader never ran


def unrun_report(
    submission: Submission,
    assignment: Assignment,
    status: SubmissionStatus,
    problem: object,
    options: GradeOptions | None = None,
) -> SubmissionReport:
    """A report for a submission that could not be graded: every case "not run", score 0. `problem`
    is a problem record (grader.model.notes), or a refusal (grader.model.refusal)."""
    problem = Refused(problem) if isinstance(problem, Refusal) else problem
    report = SubmissionReport(
        name=submission.name,
        path=submission.source,
        sha256=submission.sha256,
        assignment=assignment.name,
        assignment_version=assignment.version,
        status=status,
        problems=[problem],
    )
    if options is not None:
        report.isolation = isolation_of(options.sandbox)
    note = Ungradable() if status == SubmissionStatus.INVALID else NotRun()
    names = {graded.name for graded in assignment.functions}
    for case in assignment.cases():
        if case.function in names:
            report.cases.append(
                CaseVerdict(
                    case_id=case.id,
                    function=case.function,
                    description=case.description,
                    visibility=case.visibility,
                    status=CaseStatus.SKIPPED,
                    notes=[note],
                )
            )
    score_report(report, assignment.functions)
    return report


# ----------------------------------------------------------------------------------------------
# Worker processes

_WORKER: dict = {}


def _interrupted(signum, frame) -> None:
    """Ctrl-C reaches the workers too: stop grading without a screenful of their tracebacks."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    raise KeyboardInterrupt


def _watch_batch(batch_pid: int) -> None:
    """End this worker when the batch process is gone (kill -9 leaves no orphan grading on); its
    kernel follows, through bubblewrap's --die-with-parent or ipykernel's parent poller."""
    while True:
        time.sleep(2)
        try:
            os.kill(batch_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def _start_worker(assignment: Assignment, options: GradeOptions, started: str, batch_pid: int) -> None:
    """Load the expected values once per worker; a failure is reported on each submission."""
    signal.signal(signal.SIGINT, _interrupted)
    threading.Thread(target=_watch_batch, args=(batch_pid,), daemon=True, name="watch-batch").start()
    if isinstance(options.sandbox, ZygoteSandbox):  # this worker's zygote preloads the setup cell's modules
        options = dataclasses.replace(options, sandbox=options.sandbox.preloading(setup_modules(assignment)))
    options = dataclasses.replace(options, ahead=True)  # each next submission's kernel starts during this one
    _WORKER.update(assignment=assignment, options=options, started=Path(started))
    try:
        _WORKER["expected"] = ExpectedValues(assignment)
    except Exception as error:  # noqa: BLE001 - reported per submission by _grade_in_worker
        _WORKER["error"] = f"{type(error).__name__}: {error}"


def mark_started(name: str) -> None:
    """Called in the worker before grading: if the process dies, the batch knows whom it held."""
    (_WORKER["started"] / name).touch()


def _grade_in_worker(path: str, name: str) -> dict:
    if "error" in _WORKER:
        raise RuntimeError(f"the grading process could not start ({_WORKER['error']})")
    mark_started(name)
    options = dataclasses.replace(_WORKER["options"], name=name)
    return graded(Path(path), _WORKER["assignment"], _WORKER["expected"], options).to_dict()


def graded(
    path: Path, assignment: Assignment, expected: ExpectedValues | None, options: GradeOptions
) -> SubmissionReport:
    """grade_one in a worker, with the CPU of each phase in the report when the options ask (`grader bench`).
    With `options.ahead`, the kernel started during the previous submission is this one's, and the
    next submission's kernel starts now (grader.grading.warm)."""
    with phase_clock(options.phases) as clock:
        ahead = options.ahead and not options.execute_all
        if ahead:
            options = dataclasses.replace(options, kernel=_taken_kernel(assignment, options))
        try:
            if ahead:
                _start_next_kernel(assignment, options)
            report = grade_one(path, assignment, expected, options)
        finally:
            if options.kernel is not None:  # grade_one removes it when it runs the cases; else here
                options.kernel.discard()
    if clock is not None:
        report.phases = clock.record()
    return report


_NEXT = NextKernels()
_closing: set[int] = set()  # the processes that stop their last kernel started ahead as they exit


def _close_at_exit() -> None:
    """A pool's worker forgets the finalizers registered while its modules were imported (it
    unpickles its task, importing this module, before multiprocessing clears them), and ends without
    atexit: stop the last kernel started ahead among its own finalizers, before its zygote's (10)."""
    if os.getpid() not in _closing:
        _closing.add(os.getpid())
        multiprocessing.util.Finalize(None, _NEXT.close, exitpriority=11)


def _key(assignment: Assignment, options: GradeOptions) -> tuple:
    """What a kernel started ahead must have been started for to serve a submission."""
    return (str(assignment.folder), id(options.sandbox), options.limits or assignment.limits, options.public_only)


def _taken_kernel(assignment: Assignment, options: GradeOptions) -> WarmKernel | None:
    """The kernel started ahead for this submission, if one was."""
    _close_at_exit()
    return _NEXT.take(_key(assignment, options))


def _start_next_kernel(assignment: Assignment, options: GradeOptions) -> None:
    """Start the next submission's kernel; a failure here is never this submission's (the next one
    then starts its own kernel, which reports what goes wrong)."""
    try:
        _NEXT.start(_key(assignment, options), assignment, options.limits or assignment.limits, options.sandbox)
    except Exception:  # noqa: BLE001 - a kernel started ahead is only a saving
        pass


# What the fork server imports once, so that each worker forked from it starts with the grader loaded
# (otherwise every worker imports it again: about 0.7 CPU-s each, the batch's longest start-up step
# after the zygote). Nothing of these modules starts a thread or holds a kernel when imported.
WORKER_MODULES = ["grader.batch.pool"]


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)
    return context


class Pool:
    """Runs submissions in worker processes; a dead worker costs only the submission it held."""

    def __init__(self, assignment: Assignment, options: GradeOptions, workers: int, staging: Path, finish, work=None):
        self.assignment, self.options, self.workers, self.finish = assignment, options, workers, finish
        self.work = work or _grade_in_worker  # (path, name) -> report dict, run in a worker process
        self.started = staging / "started"
        self.started.mkdir(parents=True, exist_ok=True)

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_context(),
            initializer=_start_worker,
            initargs=(self.assignment, self.options, str(self.started), os.getpid()),
        )

    def _failed(self, submission: Submission, problem: GraderFailed) -> None:
        report = unrun_report(submission, self.assignment, SubmissionStatus.ERROR, problem, self.options)
        self.finish(submission, report)

    def _report(self, submission: Submission, future) -> SubmissionReport | None:
        """The finished submission's report; None when the pool broke (the caller sorts that out)."""
        try:
            return SubmissionReport.from_dict(future.result())
        except BrokenProcessPool:
            return None
        except Exception as error:  # noqa: BLE001 - one submission's failure never stops the batch
            return unrun_report(
                submission,
                self.assignment,
                SubmissionStatus.ERROR,
                GraderFailed(Failure.EXCEPTION, f"{type(error).__name__}: {error}"),
                self.options,
            )

    def run(self, submissions: list[Submission]) -> None:
        queue = list(submissions)
        while queue:
            suspects: list[Submission] = []
            waiting: list[Submission] = []
            progress = False
            pool = self._executor(min(self.workers, len(queue)))
            try:
                futures = {pool.submit(self.work, str(s.path), s.name): s for s in queue}
                for future in as_completed(futures):
                    submission = futures.pop(future)  # its report is kept no longer than it is needed
                    report = self._report(submission, future)
                    if report is None:
                        started = (self.started / submission.name).exists()
                        (suspects if started else waiting).append(submission)
                        continue
                    progress = True
                    self.finish(submission, report)
            except BaseException:
                # Interrupted (Ctrl-C) or the gradebook failed: drop the queue instead of draining it.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
            # A worker died: whoever it was grading gets one more try alone, the rest go on as before.
            for submission in suspects:
                self._alone(submission)
                progress = True
            if not progress:
                for submission in waiting:
                    self._failed(submission, GraderFailed(Failure.POOL_BROKEN))
                return
            queue = waiting

    def _alone(self, submission: Submission) -> None:
        (self.started / submission.name).unlink(missing_ok=True)
        try:
            with self._executor(1) as pool:
                report = self._report(submission, pool.submit(self.work, str(submission.path), submission.name))
        except Exception as error:  # noqa: BLE001 - the pool itself could not start
            report = unrun_report(
                submission,
                self.assignment,
                SubmissionStatus.ERROR,
                GraderFailed(Failure.NO_WORKER, str(error)),
                self.options,
            )
        if report is None:
            report = unrun_report(
                submission, self.assignment, SubmissionStatus.ERROR, GraderFailed(Failure.DIED_TWICE), self.options
            )
        self.finish(submission, report)
