"""How well one-point mutants of the solution name the step-by-step slips (tests/step_by_step_slips.py).

Every mutant of each graded function runs on every case of that function (public and hidden), and
so does the solution: a mutant whose outcomes are the solution's on every case is equivalent and
left out; the others are grouped into classes of identical outcomes on every case. A slipped (or a
correct) function runs the same way, and its outcomes pick the classes that agree on every case.
Outcomes are compared as the diagnosis compares a catalogued variant's with a student's.
Run `python -m tests.mutant_measure` for the figures.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment.manifest import Assignment, Case, load_assignment
from grader.judge.diagnose import same_outcome, variant_outcome
from grader.judge.mutant_runner import MEMORY_BYTES, Job, Solution, read_solution, run_function
from grader.judge.mutants import Mutant, generate, signatures, student_line
from tests.step_by_step_corpus import FOLDER, FUNCTIONS
from tests.step_by_step_slips import CORRECT, SLIPS, Slip

TIMEOUT = 5.0


@dataclass
class FunctionRuns:
    """One function's mutants and everyone's outcomes on its cases."""

    function: str
    cases: list[Case]
    mutants: list[Mutant]
    reference: dict[str, dict]  #: case id -> the solution's outcome
    outcomes: dict[str, dict[str, dict]] = field(default_factory=dict)  #: mutant id -> case id -> outcome
    generate_seconds: float = 0.0
    run_seconds: float = 0.0
    classes: list[list[Mutant]] = field(default_factory=list)  #: non-equivalent mutants, same outcomes together
    equivalent: list[Mutant] = field(default_factory=list)


@dataclass
class Measure:
    assignment: Assignment
    solution: Solution
    folder: Path
    runs: dict[str, FunctionRuns] = field(default_factory=dict)

    def same(self, case: Case, a: dict, b: dict) -> bool:
        tolerance = self.assignment.tolerance(case.function, case)
        return same_outcome(case, a, b, tolerance.rtol, tolerance.atol)

    def agree(self, function: str, a: dict[str, dict], b: dict[str, dict]) -> bool:
        """Same outcome on every case of the function."""
        return all(self.same(case, a[case.id], b[case.id]) for case in self.runs[function].cases)

    def outcomes(self, function: str, source: str) -> dict[str, dict]:
        """A function's source (the solution's, a mutant's, a student's) run on every case of `function`."""
        graded = self.assignment.function(function)
        found = {}
        for case in self.runs[function].cases if function in self.runs else self._cases(function):
            job = Job(function, source, self.solution.namespace(), case.recipe, str(self.folder), MEMORY_BYTES,
                      graded.signature)
            found[case.id] = variant_outcome(run_function(job, TIMEOUT), case, graded.returns)
        return found

    def _cases(self, function: str) -> list[Case]:
        return [case for case in self.assignment.cases() if case.function == function]

    def matches(self, function: str, mine: dict[str, dict]) -> list[list[Mutant]]:
        """The classes whose outcomes are `mine` on every case."""
        return [group for group in self.runs[function].classes
                if self.agree(function, self.runs[function].outcomes[group[0].id], mine)]


def callables(folder: Path, assignment: Assignment) -> dict[str, tuple[str, ...]]:
    """The graded functions' parameters, and the support modules' (relu, sigmoid_backward ...)."""
    found = {f.name: f.signature for f in assignment.functions}
    for name in assignment.support:
        if name.endswith(".py") and name != "public_tests.py":
            found.update(signatures((folder / name).read_text()))
    return found


def run_function_mutants(measure: Measure, function: str) -> FunctionRuns:
    """Generate the function's mutants, run them and the solution on its cases, group them."""
    started = time.monotonic()
    graded = callables(measure.assignment.folder, measure.assignment)
    mutants = generate(measure.solution.cells[function], function, graded)
    generated = time.monotonic()
    runs = FunctionRuns(function, measure._cases(function), mutants, {})
    measure.runs[function] = runs
    runs.reference = measure.outcomes(function, measure.solution.cells[function])
    for mutant in mutants:
        runs.outcomes[mutant.id] = measure.outcomes(function, mutant.source)
    runs.generate_seconds, runs.run_seconds = generated - started, time.monotonic() - generated
    for mutant in mutants:
        mine = runs.outcomes[mutant.id]
        if measure.agree(function, mine, runs.reference):
            runs.equivalent.append(mutant)
            continue
        group = next((g for g in runs.classes if measure.agree(function, runs.outcomes[g[0].id], mine)), None)
        if group is None:
            runs.classes.append([mutant])
        else:
            group.append(mutant)
    return runs


@dataclass(frozen=True)
class Verdict:
    """What the mutants say of one slipped or correct function."""

    slip: Slip
    classes: tuple[tuple[Mutant, ...], ...]  #: the classes that match it on every case
    passes: bool  #: its outcomes are the solution's on every case
    line: int | None  #: student_line of the matched mutant of the slip's operator (unique match only)
    edited_line: int  #: the line of the slipped cell its first edit wrote
    outcomes: dict[str, dict]  #: case id -> its outcome

    @property
    def modelled(self) -> bool:
        """A matched class holds a mutant of the operator the corpus says models the slip."""
        return any(m.operator == self.slip.operator for group in self.classes for m in group)


def judge(measure: Measure, slip: Slip) -> Verdict:
    """Run a slipped (or correct) cell like the mutants, and find the classes that agree with it."""
    solution_cell = measure.solution.cells[slip.function]
    cell = slip.cell(solution_cell)
    mine = measure.outcomes(slip.function, cell)
    classes = tuple(tuple(group) for group in measure.matches(slip.function, mine))
    passes = measure.agree(slip.function, mine, measure.runs[slip.function].reference)
    modelling = [m for group in classes for m in group if m.operator == slip.operator]
    line = student_line(cell, modelling[0], solution_cell) if len(classes) == 1 and modelling else None
    return Verdict(slip, classes, passes, line, _edited_line(slip, solution_cell, cell), mine)


def _edited_line(slip: Slip, before: str, after: str) -> int:
    """The first line of the slipped cell that differs from the solution's cell."""
    pairs = zip(before.splitlines(), after.splitlines(), strict=False)
    return next((number for number, (a, b) in enumerate(pairs, 1) if a != b), 0)


def measure_all(functions: tuple[str, ...] = FUNCTIONS) -> tuple[Measure, list[Verdict], list[Verdict]]:
    """Every function's mutants run, then every slip and correct variant judged."""
    assignment = load_assignment(FOLDER)
    folder = Path(tempfile.mkdtemp(prefix="grader-mutants-"))
    assignment.prepare_workdir(folder)
    measure = Measure(assignment, read_solution(assignment), folder)
    for function in functions:
        run_function_mutants(measure, function)
    slips = [judge(measure, slip) for slip in SLIPS if slip.function in functions]
    correct = [judge(measure, slip) for slip in CORRECT if slip.function in functions]
    return measure, slips, correct


def report(measure: Measure, slips: list[Verdict], correct: list[Verdict]) -> str:
    """The figures, as lines of text."""
    lines = ["function                     mutants  equivalent  classes  cases  generate s  run s"]
    for runs in measure.runs.values():
        lines.append(f"{runs.function:28} {len(runs.mutants):7} {len(runs.equivalent):11} {len(runs.classes):8} "
                     f"{len(runs.cases):6} {runs.generate_seconds:11.2f} {runs.run_seconds:6.1f}")
    total = sum(len(r.mutants) for r in measure.runs.values())
    seconds = sum(r.generate_seconds + r.run_seconds for r in measure.runs.values())
    lines.append(f"all: {total} mutants, {sum(len(r.classes) for r in measure.runs.values())} classes, "
                 f"{seconds:.1f} s to generate and run")
    for verdict in slips:
        named = "; ".join("+".join(dict.fromkeys(str(m.operator) for m in group)) + f" ({len(group)})"
                          for group in verdict.classes)
        lines.append(f"  {verdict.slip.name:36} {str(verdict.slip.operator):15} classes={len(verdict.classes)} "
                     f"line={verdict.line} (edited {verdict.edited_line})  {named}")
    lines += _finer_figures(measure, slips)
    unique = sum(len(v.classes) == 1 for v in slips)
    several = sum(len(v.classes) > 1 for v in slips)
    lines.append(f"slips: {len(slips)}; named by exactly one class: {unique}; by several: {several}; "
                 f"by none: {len(slips) - unique - several}; with the corpus's operator among them: "
                 f"{sum(v.modelled for v in slips)}")
    lines.append(f"correct variants: {len(correct)}; matching a mutant: {sum(bool(v.classes) for v in correct)}")
    return "\n".join(lines)


def _finer_figures(measure: Measure, slips: list[Verdict]) -> list[str]:
    """How many named slips rest on errors alone, and how many are named with one wording when
    only the public cases are compared (what a self-check bundle could do)."""
    from grader.reports.mutant_wording import describe

    errors_only = [v.slip.name for v in slips if len(v.classes) == 1
                   and all("error" in o for o in v.outcomes.values())]
    wordings = []
    for verdict in slips:
        runs = measure.runs[verdict.slip.function]
        public = [case for case in runs.cases if case.visibility == "visible"]
        matched = [m for group in runs.classes for m in group
                   if all(measure.same(case, runs.outcomes[m.id][case.id], verdict.outcomes[case.id])
                          for case in public)]
        wordings.append(len({describe(m) for m in matched}))
    one = sum(n == 1 for n in wordings)
    several = sum(n > 1 for n in wordings)
    all_cases = sum(len({describe(m) for m in v.classes[0]}) == 1 for v in slips if len(v.classes) == 1)
    return [f"named by one class with a single wording (all cases): {all_cases}; named through errors alone: "
            f"{len(errors_only)} {errors_only}",
            f"public cases only: one wording {one}, several {several}, none {len(slips) - one - several}"]


if __name__ == "__main__":
    print(report(*measure_all()))
