"""Grading one submission: run its graded cells in a fresh kernel, call every case, judge outside.

Only the setup cells (imports) and the graded cells run, unless the instructor asks for the whole
notebook. Each case is one cell in the kernel that writes plain arrays; a case that times out or
kills the kernel scores 0 with a message naming the limit, and grading goes on in a new kernel.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.assignment.notebook import ParsedNotebook, SubmissionError, parse_submission, read_regular
from grader.judge.compare import compare, part_of
from grader.judge.expected import ExpectedValues
from grader.judge.scoring import score_report
from grader.kernel.isolation import Isolation, isolation_of
from grader.kernel.session import CellOutcome, KernelSession, limit_hint
from grader.kernel.untrusted import READ_SECONDS, Number, Seq, UntrustedDataError, read_result
from grader.model import Case, CaseVerdict, Expected, Kind, Limits, SubmissionReport, shown_type
from grader.reports.wording import describe

KERNEL_SIDE = (Path(__file__).parent / "kernel" / "harness.py").read_text()
MAX_KERNEL_STARTS = 4
SMALL_MEMORY_MB = 1024  # below this, a kernel that cannot start or import numpy is blamed on the limit
MAX_SETUP_CELLS = 3  # cells holding the setup marker run before the graded ones; more are skipped
AFTER_HIDDEN = "its message is not shown, since it came after a hidden case ran"


@dataclass
class GradeOptions:
    public_only: bool = False
    execute_all: bool = False
    sandbox: object = None  # the kernel's launcher (grader.kernel.isolation chooses it); None: as the grader's user
    limits: Limits | None = None  # what the kernel may use (None: the assignment's limits)
    data_dir: Path | None = None  # datasets for --execute all
    name: str | None = None
    no_sandbox: bool = False  # the command said --no-sandbox (a Dask worker then runs kernels unisolated too)


def _verdict(case: dict, status: str, messages: list[str], seconds: float = 0.0) -> CaseVerdict:
    return CaseVerdict(case_id=case.id, function=case.function, description=case.description,
                       visibility=case.visibility, status=status, messages=messages, seconds=seconds)


class _Runner:
    """Owns the submission's kernel: starts it, loads the code, restarts it after a kill."""

    def __init__(self, parsed: ParsedNotebook, assignment: Assignment, workdir: Path, options: GradeOptions,
                 limits: Limits):
        self.parsed, self.assignment, self.workdir, self.options = parsed, assignment, workdir, options
        self.limits = limits
        self.deadline = time.monotonic() + limits.submission_seconds
        self.session = KernelSession(workdir, limits, options.sandbox)
        self.ready = False
        self.load_errors: dict[str, str] = {}  # graded function -> why its cell failed
        self.unloadable: dict[str, str] = {}  # graded function -> why its cell stops any kernel: not run again
        self.problems: list[str] = []
        self.grader_failed = False
        self.whole_notebook = options.execute_all  # cleared when an ungraded cell stops the kernel
        self.diagnosis_budget = None  # what diagnosing this submission may spend re-running variants
        # Set once the kernel is given a hidden case's inputs: from then on, its code may have kept them
        # and anything it says may carry them. A sandboxed restart is fresh (a new folder, /tmp and
        # processes: sandbox.py), which clears it; without the sandbox, the next kernel shares the
        # folder and the home of the last, so it stays set.
        self.tainted = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _numpy_loads(self) -> bool:
        """The harness needs numpy: when the kernel cannot import it (too little memory, most often),
        that is the grader's limit, not the student's setup cell that would otherwise fail first."""
        outcome = self.session.run("import numpy", 60)
        if outcome.ok:
            return True
        name = shown_type(outcome.error_name, public=not self.tainted)
        self.problems.append(f"the kernel cannot import numpy under the memory limit of {self.limits.memory_mb} "
                             f"MB ({outcome.status} {name}): raise the limit (--memory-mb, or "
                             "memory_mb in the manifest's [limits])")
        self.grader_failed = True
        self.session.starts = MAX_KERNEL_STARTS
        self.session.stop()
        return False

    def _kernel_error(self, name: str, value: str) -> str:
        """An exception the kernel reported, as a report may show it: whole, unless the kernel may hold
        a hidden case's inputs (then only the name of a Python or numpy type)."""
        if not self.tainted:
            return f"{name}: {value}".strip(": ")
        return f"{shown_type(name, public=False)} ({AFTER_HIDDEN})"

    def _start(self) -> bool:
        """Start a fresh kernel; False (and the reason noted) when it cannot start."""
        if isolation_of(self.options.sandbox) == Isolation.SANDBOX:  # a fresh tmpfs, /tmp and namespaces
            self.tainted = False
        try:
            self.session.start()
        except Exception as error:  # noqa: BLE001 - a kernel that cannot start is reported
            memory = self.limits.memory_mb
            hint = (f"; the memory limit of {memory} MB is the likely cause: raise it (--memory-mb, or memory_mb "
                    "in the manifest's [limits])" if memory < SMALL_MEMORY_MB else "")
            said = f" ({AFTER_HIDDEN})" if self.tainted else f": {error}"  # it quotes the kernel's stderr
            self.problems.append(f"the kernel could not start{said}{hint}")
            self.grader_failed = True  # not the student's doing: the row is graded again on a rerun
            self.session.starts = MAX_KERNEL_STARTS
            return False
        return self._numpy_loads()

    def _cell_timeout(self) -> float:
        return max(0.5, min(self.limits.case_seconds, self.remaining()))

    def prepare(self) -> bool:
        """Start a kernel and load the notebook's code; False when that is impossible now."""
        if self.ready:
            return True
        if self.session.starts >= MAX_KERNEL_STARTS or not self._start():
            return False
        graded_by_index = {c.index: name for name, c in self.parsed.graded.items()}
        for cell in self._loading_cells():
            function = graded_by_index.get(cell.index)
            if function in self.unloadable:
                continue
            if self.remaining() <= 0:
                self._note_once(f"the submission used up its {self.limits.submission_seconds:g} s time limit "
                                "while its cells were loading")
                self.session.stop()
                return False
            # A graded or setup cell only defines functions: a few case limits are plenty, never more
            # than the time left. The other cells of a whole-notebook run train models, so they may
            # use what is left of the submission's time.
            ungraded = self.whole_notebook and function is None
            budget = (max(1.0, self.remaining() - 30) if ungraded
                      else max(0.5, min(self.remaining(), self.limits.case_seconds * 3)))
            outcome = self.session.run(cell.source, budget)
            if not self._note_loading(outcome, cell.index, function):
                if ungraded:  # grade what can be graded: imports and graded cells only, in a new kernel
                    self.whole_notebook = False
                    self.problems.append("the whole notebook could not be run, so the graded functions were "
                                         "graded after running only the imports and the graded cells")
                    return self.prepare()
                return False
        outcome = self.session.run(KERNEL_SIDE, 30)
        if not outcome.ok:
            self.problems.append("the grader's harness could not be loaded in the kernel "
                                 f"({outcome.status} {self._kernel_error(outcome.error_name, outcome.error_value)})")
            self.grader_failed = True
            self.session.stop()
            return False
        self.ready = True
        return True

    def _loading_cells(self) -> list:
        """The cells to run before the cases: the whole notebook, or at most MAX_SETUP_CELLS setup
        cells (the first ones) and the graded cells."""
        if self.whole_notebook:
            return self.parsed.cells
        setup = self.parsed.setup
        if len(setup) > MAX_SETUP_CELLS:
            marker = self.assignment.setup_marker
            self._note_once(f"{len(setup)} cells contain `{marker}`; only the first {MAX_SETUP_CELLS} were run "
                            f"(cells {', '.join(str(c.index + 1) for c in setup[MAX_SETUP_CELLS:])} were skipped): "
                            "keep the imports in one cell")
        return setup[:MAX_SETUP_CELLS] + sorted(self.parsed.graded.values(), key=lambda c: c.index)

    def _note_once(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def _note_loading(self, outcome: CellOutcome, index: int, function: str | None) -> bool:
        where = f"cell {index + 1}" + (f" ({function})" if function else "")
        if outcome.status in ("timeout", "died"):
            what = ("did not finish within its time limit" if outcome.status == "timeout"
                    else "stopped the kernel: " + (outcome.error_value or "a crash, os._exit, or the memory "
                                                   f"limit of {self.limits.memory_mb} MB"))
            message = f"running {where} {what}"
            if message not in self.problems:
                self.problems.append(message)
            if function:
                self.unloadable[function] = message
            self.ready = False
            return False
        if outcome.status == "error":
            value = re.sub(r"\(\S+\.py, line (\d+)\)", r"(line \1 of the cell)", outcome.error_value)
            message = self._kernel_error(outcome.error_name, value)
            if function:
                self.load_errors[function] = f"its cell raised {message} when run"
            else:
                note = f"{where} raised {message} when run"
                if note not in self.problems:
                    self.problems.append(note)
        return True

    def run_case(self, case: Case, expected: Expected) -> CaseVerdict:
        function = case.function
        if function not in self.parsed.graded:
            return _verdict(case, "error", [f"no cell starts with '# GRADED FUNCTION: {function}'"])
        if function in self.unloadable:
            return _verdict(case, "error", [f"not run: {self.unloadable[function]}"])
        if self.remaining() <= 0:
            return _verdict(case, "skipped", [
                f"not run: the submission used up its {self.limits.submission_seconds:g} s time limit"])
        if not self.prepare():
            return _verdict(case, "crashed", ["not run: the notebook's code could not be loaded in a kernel"
                                              + (f" ({self.problems[-1]})" if self.problems else "")])
        graded = self.assignment.function(function)
        out = self.session.result_file()  # fresh and empty, in a folder the kernel cannot change
        request = {"function": function, "signature": list(graded.signature), "recipe": case.recipe,
                   "globals": case.misleading_globals, "out": str(out),
                   "workdir": str(self.session.kernel_workdir), "builder": self.assignment.inputs,
                   "output_limit": self.limits.output_bytes, "max_values": self.limits.max_values,
                   "return_inputs": "inputs_unchanged" in case.compare}
        timeout = self._cell_timeout()
        public = case.visibility == "visible"
        self.tainted = self.tainted or not public
        outcome = self.session.run(f"__grader_run__({json.dumps(json.dumps(request))})", timeout)
        if outcome.status == "timeout":
            self.ready = False
            return _verdict(case, "timeout", [f"{function} did not finish within {timeout:g} s on this case"],
                            outcome.seconds)
        if outcome.status == "died":
            self.ready = False
            why = outcome.error_value or f"a crash, os._exit, or the memory limit of {self.limits.memory_mb} MB"
            return _verdict(case, "crashed", [f"the kernel stopped while {function} ran: {why}; grading went "
                                              "on in a new kernel"], outcome.seconds)
        if outcome.status == "error":  # the harness itself failed: the text is the kernel's, shown if public
            detail = (f"{outcome.error_name}: {outcome.error_value}" if public
                      else shown_type(outcome.error_name, public=False))
            return _verdict(case, "error", [f"the call could not be made: {detail}"], outcome.seconds)
        try:
            result = read_result(out, self.limits.max_values, owner=self._result_owner(),
                                 deadline=time.monotonic() + max(5.0, min(READ_SECONDS, self.remaining())))
        except UntrustedDataError as error:
            return _verdict(case, "failed", [str(error)], outcome.seconds)
        return self._judged(case, expected, result, outcome.seconds)

    def _judged(self, case: Case, expected: Expected, result, seconds: float) -> CaseVerdict:
        """The verdict on what the kernel sent back: compared, worded, and diagnosed when it fails."""
        function = case.function
        graded = self.assignment.function(function)
        names = graded.returns
        public = case.visibility == "visible"
        comparison = compare(case, expected, result, self.assignment.tolerance(function, case), names)
        messages = [describe(d, public, names, graded.labels) for d in comparison.differences]
        raised = result.meta.error
        hint = limit_hint({"type": raised.type, "message": raised.message} if raised else None, self.limits)
        if hint and not comparison.passed:
            messages.append(hint)
        if result.meta.cut and not comparison.passed:  # the notes are the kernel's text: shown on public cases
            cut = "; ".join(result.meta.cut) if public else "it exceeded the harness's bounds"
            messages.append(f"what {function} returned was not sent back whole ({cut})")
        cell_failed = function in self.load_errors and comparison.first is not None \
            and comparison.first.kind == Kind.RAISED
        if cell_failed:
            messages.append(f"{function}: {self.load_errors[function]}")
        verdict = _verdict(case, "passed" if comparison.passed else "failed", messages, seconds)
        verdict.differences = list(comparison.differences)
        verdict.series = _series(result, self.assignment.curve, names)
        if cell_failed:
            verdict.diagnosis = {"mistake": None, "title": f"the cell defining {function} did not run",
                                 "explanation": f"{self.load_errors[function]}, so {function} is missing or is "
                                                "not your latest version. Fix that error first: run the cell in "
                                                "Jupyter to see it."}
        elif not comparison.passed:  # name the likely mistake (the assignment's catalogue), or localise it
            from grader.judge.diagnose import DiagnosisBudget, diagnose

            if self.diagnosis_budget is None:  # one per submission, shared by its cases
                self.diagnosis_budget = DiagnosisBudget.from_limits(self.limits)
            verdict.diagnosis = diagnose(self.assignment, case, expected, result, comparison,
                                         self.parsed.graded.get(function), self.diagnosis_budget)
        return verdict

    def _result_owner(self) -> int | None:
        """The uid a result file must belong to: the kernel's, when it is not the grader's (else any)."""
        return getattr(self.options.sandbox, "result_owner", None)

    def close(self) -> None:
        self.session.close()


def _series(result, curve: str, names: tuple[str, ...]) -> list[float]:
    """The returned part the manifest names as a curve, as floats (empty when there is none)."""
    if not curve or result.returned is None:
        return []
    part = result.returned if curve == "returned" else (
        part_of(result.returned, names.index(curve)) if curve in names else None)
    if not isinstance(part, Seq):
        return []
    return [item.value for item in part.items if isinstance(item, Number)][:1000]


def _run_cases(runner: _Runner, cases: list, expected: ExpectedValues) -> list[CaseVerdict]:
    """Every case's verdict, in the manifest's order; but every public case runs before any hidden one.

    Once a kernel is given a hidden case's inputs, the code can keep them (in a global, say), and a
    public case's messages show the kernel's text: a later public case could print them all. After
    a timeout, or a second crash, a function's remaining cases are not run.
    """
    order = sorted(range(len(cases)), key=lambda index: cases[index].visibility != "visible")
    verdicts: dict[int, CaseVerdict] = {}
    stopped: dict[str, str] = {}  # function -> why its remaining cases are not run
    crashes: dict[str, int] = {}
    for index in order:
        case, function = cases[index], cases[index].function
        if function in stopped:
            verdicts[index] = _verdict(case, "skipped", [f"not run: {function} {stopped[function]}"])
            continue
        verdict = verdicts[index] = runner.run_case(case, expected.for_case(case.id))
        if verdict.status == "timeout":
            stopped[function] = f"timed out on '{case.description}'"
        elif verdict.status == "crashed":  # a second crash: no more kernels spent on this function
            crashes[function] = crashes.get(function, 0) + 1
            if crashes[function] >= 2:
                stopped[function] = f"stopped the kernel twice, last on '{case.description}'"
    return [verdicts[index] for index in range(len(cases))]


def _score(report: SubmissionReport, assignment: Assignment, cases: list[dict]) -> None:
    """Each function's points are split evenly over its cases (grader.judge.scoring)."""
    score_report(report, assignment.functions)


def _blame_failing_callees(report: SubmissionReport, assignment: Assignment) -> None:
    """A graded function that calls another one (the manifest's `calls`) which fails its own cases
    most likely fails because of it: say so where no catalogued mistake explains the failure. A case
    that raised keeps its own explanation (an unwritten function raises NameError whatever it calls)."""
    failing = {verdict.function for verdict in report.cases if not verdict.passed}
    for verdict in report.cases:
        callees = [name for name in assignment.function(verdict.function).calls if name in failing]
        raised = any(d.kind == Kind.RAISED for d in verdict.differences)
        if verdict.passed or raised or not callees or (verdict.diagnosis or {}).get("mistake"):
            continue
        named = " and ".join(callees)
        verdict.diagnosis = {"mistake": None, "title": f"{verdict.function} calls {named}, which fails its own cases",
                             "explanation": f"Fix {named} first: {verdict.function} uses it, so its numbers are "
                                            "wrong too. If this case still fails afterwards, look at "
                                            f"{verdict.function} itself."}


def _refuse_other_assignment(parsed, assignment: Assignment, label: str) -> None:
    """A notebook whose graded cells name none of this assignment's functions belongs to another
    assignment (a mixed batch): say so instead of scoring it 0 function by function."""
    names = sorted(parsed.graded)
    if names and not set(names) & {f.name for f in assignment.functions}:
        raise SubmissionError(
            f"{label} is not a notebook of {assignment.title}: its graded functions ({', '.join(names)}) are "
            f"none of this assignment's ({', '.join(f.name for f in assignment.functions)}). It was probably "
            "written for another assignment: check or grade it with --assignment pointing at that assignment's "
            "folder, and keep each assignment's notebooks in a folder of their own.")


def grade_notebook(path: Path, assignment: Assignment, expected: ExpectedValues,
                   options: GradeOptions | None = None) -> SubmissionReport:
    """Grade one notebook file; never raises for anything about the file or the code in it."""
    options = options or GradeOptions()
    started = time.monotonic()
    path = Path(path)
    limits = options.limits or assignment.limits
    try:  # hashed and parsed from the same bytes, read without following a link or blocking
        data, unreadable = read_regular(path), None
    except SubmissionError as error:
        data, unreadable = b"", error
    report = SubmissionReport(name=options.name or path.stem, path=str(path), sha256=hashlib.sha256(data).hexdigest(),
                              assignment=assignment.name, assignment_version=assignment.version, status="graded",
                              isolated=isolation_of(options.sandbox) != Isolation.NONE,
                              isolation=isolation_of(options.sandbox).value)
    cases = assignment.cases(public_only=options.public_only)
    try:
        if unreadable is not None:
            raise unreadable
        parsed = parse_submission(data, path.name, assignment.setup_marker)
        _refuse_other_assignment(parsed, assignment, path.name)
    except SubmissionError as error:
        report.status = "invalid"
        report.problems.append(str(error))
        why = "not run: the file cannot be graded (the problem is named above)"
        report.cases = [_verdict(c, "skipped", [why]) for c in cases]
        _score(report, assignment, cases)
        report.seconds = time.monotonic() - started
        return report
    report.problems += parsed.notes
    report.findings = _rule_findings(parsed, assignment)
    if not parsed.setup and not options.execute_all:
        parsed.setup = _released_setup(assignment)
        if parsed.setup:
            report.problems.append(f"no cell contains `{assignment.setup_marker}` (the imports cell): the "
                                   "released notebook's imports were run instead; restore that cell")

    workdir = Path(tempfile.mkdtemp(prefix="grader-kernel-"))
    runner = None
    try:
        os.chmod(workdir, 0o755)
        assignment.prepare_workdir(workdir)
        if options.execute_all and options.data_dir:
            shutil.copytree(options.data_dir, workdir / "datasets", dirs_exist_ok=True)
        runner = _Runner(parsed, assignment, workdir, options, limits)
        report.cases = _run_cases(runner, cases, expected)
        for name, why in runner.load_errors.items():
            report.problems.append(f"{name}: {why}")
        report.problems += runner.problems
        if runner.grader_failed:
            report.status = "error"
    finally:
        if runner is not None:
            runner.close()
        shutil.rmtree(workdir, ignore_errors=True)
    _blame_failing_callees(report, assignment)
    _score(report, assignment, cases)
    report.curves = _curves(report, expected, assignment)
    report.seconds = time.monotonic() - started
    return report


def _curves(report: SubmissionReport, expected: ExpectedValues, assignment: Assignment) -> dict[str, str]:
    """The student's curve (the returned series the manifest names as `curve`) beside the reference's,
    for cases long enough to draw one, in the functions that lost points: where a student would rather
    look than read. (Drawing costs a fifth of a second per curve, so passing functions, whose curves
    coincide, get none.)"""
    from grader.reports.plots import curves_for

    failing = {verdict.function for verdict in report.cases if not verdict.passed}
    if not failing or not assignment.curve:
        return {}
    shown = dataclasses.replace(report, cases=[v for v in report.cases if v.function in failing])
    try:
        return curves_for(shown, expected, assignment)
    except Exception:  # noqa: BLE001 - a picture must never cost a grade
        return {}


def _released_setup(assignment: Assignment) -> list:
    """The setup cells of the assignment's own notebook, for a submission that lost its own."""
    from grader.assignment.notebook import parse_notebook, read_notebook_text

    for name in (assignment.solution, assignment.student_notebook):
        path = assignment.folder / name
        if name and path.is_file():
            try:
                return parse_notebook(read_notebook_text(path.read_text()), assignment.setup_marker).setup
            except SubmissionError:
                return []
    return []


def _rule_findings(parsed: ParsedNotebook, assignment: Assignment) -> list:
    """The seed's submission rules, checked statically (empty when the checker is unavailable)."""
    try:
        from grader.judge import rules
    except ImportError:
        return []
    return rules.check(parsed, assignment)
