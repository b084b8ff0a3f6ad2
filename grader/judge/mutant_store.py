"""The solution's one-point mutants, run on every case by `grader expected` and stored like the
catalogue's variants, so that a slip nobody catalogued can still be named.

For each graded function, the mutants are made from the solution's own source (the solution
notebook's graded cell, or the reference module's function when there is no notebook) and each
runs on every case of its function in a forked child of this process (grader.judge.mutant_runner):
they are the instructor's trusted code, so they need no sandbox, and a fork costs milliseconds
where a kernel costs a second. An outcome is stored only where it differs from the reference's (as
a catalogued variant's is); a mutant that differs nowhere is equivalent to the solution and is not
stored at all. The runs have a time budget (`MUTANT_SECONDS`): past it, `grader expected` refuses
rather than store a partial set.

The instructor's file (the manifest's `mutants_expected`) holds the outcome table, and each mutant's
record: its operator and detail (what its words need), its source, and the hashed keys of the
statements it changed, by which the student's own line is found. The bundle's public copy
(`PUBLIC_MUTANTS_FILE`) holds the public cases' outcomes and the records without their sources.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from grader.assignment.manifest import Assignment, AssignmentError
from grader.judge.astdiff import body_of, differing_statements, parse_cell, statement_key, walk_statements
from grader.judge.authored import solution_cells
from grader.judge.mutant_runner import Job, run_function, solution_namespace
from grader.judge.mutants import Mutant, find_function, generate
from grader.judge.outcome_store import as_text, outcomes_by_case, parsed_table, stored_variant_table
from grader.judge.outcomes import same_outcome, variant_outcome
from grader.model import Case
from grader.model.diagnosis import OutcomeKey
from grader.model.mutation import Detail, MutantStats, Operator, Slip

MUTANT_SECONDS = 900.0  #: what `grader expected` may spend running mutants, for the whole assignment
RUN_SECONDS = 5.0  #: one mutant on one case (a slip can make a loop run for ever)
PUBLIC_MUTANTS_FILE = "public_mutants.json"


@dataclass(frozen=True)
class StoredMutant:
    """A mutant as the diagnosis needs it."""

    slip: Slip  #: its id, operator and detail
    function: str  #: the graded function it mutates
    keys: tuple[str, ...]  #: hashed keys of the statements it changed (found in a student's cell: the line)
    source: str = ""  #: the mutated function (instructor's file only; never in the bundle)


@dataclass
class MutantTable:
    """The stored mutants and their outcomes where they differ from the reference's. The outcomes are
    kept as the file spells them and read one function at a time, when a diagnosis needs them."""

    mutants: dict[str, StoredMutant] = field(default_factory=dict)
    table: dict[str, list] = field(default_factory=dict)  #: the outcome table, keys spelt as in the files
    _read: dict[str, dict[str, dict[str, dict]]] = field(default_factory=dict)  #: function -> case -> mutant -> outcome

    def of(self, function: str) -> list[StoredMutant]:
        return [m for m in self.mutants.values() if m.function == function]

    def outcome(self, function: str, case_id: str, mutant_id: str) -> dict | None:
        """A mutant's stored outcome on a case (None: it gives the reference's)."""
        if function not in self._read:
            prefix = function + ":"
            self._read[function] = outcomes_by_case(
                parsed_table({key: value for key, value in self.table.items() if key.startswith(prefix)})
            )
        return self._read[function].get(case_id, {}).get(mutant_id)


@dataclass
class MutantRun:
    """What `grader expected` made: the table's entries and records, and what it took."""

    flat: dict[OutcomeKey, np.ndarray]
    records: list[StoredMutant]
    stats: MutantStats


def statement_hash(key: str, header: bool) -> str:
    """A changed statement's key as stored: hashed, so the files never spell the solution's code."""
    return ("h" if header else "s") + hashlib.sha256(key.encode()).hexdigest()[:20]


def changed_keys(solution: str, mutant: Mutant) -> tuple[str, ...]:
    """The hashed keys of the statements the mutant writes otherwise than the solution, leaving out
    any the solution itself writes somewhere (a line written so is no evidence of the slip)."""
    tree, mutated = find_function(solution, mutant.function), find_function(mutant.source, mutant.function)
    if tree is None or mutated is None:
        return ()
    own = {statement_key(n, header) for n, _ in walk_statements(body_of(tree)) for header in (False, True)}
    found = []
    for difference in differing_statements(body_of(tree), body_of(mutated)).values():
        key = statement_key(difference.statement, difference.header_only)
        if key not in own:
            found.append(statement_hash(key, difference.header_only))
    return tuple(dict.fromkeys(found))


def line_of(student_source: str, function: str, keys: tuple[str, ...], every: bool = False) -> int | None:
    """The student's line written as the mutant writes what it changed (the first such statement of
    the function's body: never its docstring, a comment or the `def` line); None when there is none,
    or, with `every` (a change made in several places), when the cell does not write them all."""
    if not keys:
        return None
    tree = parse_cell(student_source)
    definition = find_function(student_source, function) if tree is not None else None
    body = body_of(definition) if definition is not None else (body_of(tree) if tree is not None else [])
    lines: dict[str, int] = {}
    for node, _ in walk_statements(body):
        for header in (False, True):
            lines.setdefault(statement_hash(statement_key(node, header), header), int(node.lineno))
    found = [lines[key] for key in keys if key in lines]
    if not found or (every and len(found) < len(keys)):
        return None
    return min(found)


# --- running them (grader expected) -----------------------------------------------------------------


def _sources(assignment: Assignment) -> tuple[dict[str, str], str]:
    """Each graded function's solution source, and the module source the mutants run in."""
    cells = solution_cells(assignment)
    reference = (assignment.folder / assignment.reference).read_text() if assignment.reference else ""
    functions: dict[str, str] = {}
    for graded in assignment.functions:
        cell = cells.graded_source(graded.name) if cells is not None else None
        if cell is not None and find_function(cell, graded.name) is not None:
            functions[graded.name] = cell
        elif reference and (definition := find_function(reference, graded.name)) is not None:
            functions[graded.name] = _segment(reference, definition)
    if reference:
        return functions, reference
    if cells is None:
        raise AssignmentError(f"{assignment.folder}: mutants need the solution notebook or a reference module")
    parts = [cell.source for cell in cells.parsed.setup] + list(functions.values())
    return functions, "\n\n".join(_python(part) for part in parts)


def _segment(source: str, node: object) -> str:
    import ast

    assert isinstance(node, ast.FunctionDef)
    return ast.get_source_segment(source, node) or ast.unparse(node)


def _python(source: str) -> str:
    """A notebook cell as plain Python (IPython's magics as IPython reads them)."""
    import ast

    tree = parse_cell(source)
    return ast.unparse(tree) if tree is not None else ""


def _callables(namespace: dict) -> dict[str, tuple[str, ...]]:
    """The module's functions and their parameters: what a call may be replaced by (CALL_REPLACE)."""
    found = {}
    for name, value in namespace.items():
        if inspect.isfunction(value):
            with contextlib.suppress(TypeError, ValueError):
                found[name] = tuple(inspect.signature(value).parameters)
    return found


def mutant_values(
    assignment: Assignment,
    cases: list[Case],
    references: dict[str, dict],
    folder: Path,
    build: Callable[[Case], dict],
    budget: float = MUTANT_SECONDS,
) -> MutantRun:
    """Every graded function's mutants run on its cases (`references`: the reference's outcome per
    case; `build(case)`: its arguments); AssignmentError past the time budget or when the solution's
    own source, run this way, does not give the reference's outcomes."""
    started = time.monotonic()
    functions, module = _sources(assignment)
    try:
        namespace = solution_namespace(module, folder)
    except Exception as error:  # noqa: BLE001 - the instructor hears which
        raise AssignmentError(f"{assignment.folder}: the solution's code cannot run for mutants: {error!r}") from None
    graded = _callables(namespace)
    flat: dict[OutcomeKey, np.ndarray] = {}
    records: list[StoredMutant] = []
    stats = MutantStats(budget=budget)
    for name, source in functions.items():
        covered = [case for case in cases if case.function == name]
        if not covered:
            continue
        runs = SourceRuns(assignment, name, covered, references, namespace, folder, build)
        runs.confirm(source)
        for mutant in generate(source, name, graded):
            spent = time.monotonic() - started
            if spent > budget:
                raise AssignmentError(
                    f"{assignment.folder}: the mutants took more than {budget:g} s ({stats.ran} ran, {spent:.0f} s); "
                    'set mutants_expected to "" in assignment.toml, or make the cases smaller'
                )
            found = runs.differing(mutant.source)
            stats.ran += 1
            stats.runs += len(covered)
            if not found:
                stats.equivalent += 1
                continue
            for case_id, outcome in found.items():
                flat.update(stored_variant_table((mutant.id, case_id), outcome))
            records.append(StoredMutant(mutant.slip, name, changed_keys(source, mutant), mutant.source))
        stats.functions += 1
    stats.seconds = time.monotonic() - started
    return MutantRun(flat, records, stats)


@dataclass
class SourceRuns:
    """One function's cases, and how a source of it is run on them and compared with the reference."""

    assignment: Assignment
    function: str
    cases: list[Case]
    references: dict[str, dict]
    namespace: dict
    folder: Path
    build: Callable[[Case], dict]

    def outcomes(self, source: str) -> dict[str, dict]:
        """{case id: the source's outcome} on every case."""
        graded = self.assignment.function(self.function)
        found = {}
        for case in self.cases:
            job = Job(
                self.function, source, self.namespace, partial(self.build, case), graded.signature, str(self.folder)
            )
            found[case.id] = variant_outcome(run_function(job, RUN_SECONDS), case, graded.returns)
        return found

    def differing(self, source: str) -> dict[str, dict]:
        """{case id: outcome} where the source's outcome is not the reference's."""
        return {
            case_id: outcome for case_id, outcome in self.outcomes(source).items() if not self.passes(case_id, outcome)
        }

    def passes(self, case_id: str, outcome: dict) -> bool:
        """Whether an outcome is the reference's on a case (within its tolerance)."""
        case = next(c for c in self.cases if c.id == case_id)
        tol = self.assignment.tolerance(self.function, case)
        return same_outcome(case, outcome, self.references[case_id], tol.rtol, tol.atol)

    def confirm(self, source: str) -> None:
        """The unmutated source must give the reference's outcomes, or no mutant of it means anything."""
        wrong = self.differing(source)
        if wrong:
            raise AssignmentError(
                f"{self.assignment.folder}: {self.function} as the solution writes it, run for mutants, does not "
                f"give the reference's outcome on case(s) {', '.join(sorted(wrong))}: the solution notebook and "
                "the reference disagree, or the function depends on state the notebook sets elsewhere"
            )


# --- the files ----------------------------------------------------------------------------------------


def _record(mutant: StoredMutant, with_source: bool) -> dict:
    record: dict[str, object] = {
        "function": mutant.function,
        "operator": str(mutant.slip.operator),
        "detail": mutant.slip.detail.as_dict(),
        "keys": list(mutant.keys),
    }
    if with_source:
        record["source"] = mutant.source
    return record


def mutant_records(run: MutantRun, with_source: bool = True) -> dict[str, dict]:
    """{mutant id: its record} as the files hold them."""
    return {m.slip.id: _record(m, with_source) for m in run.records}


def save_mutants(path: Path, run: MutantRun) -> None:
    """The instructor's file: the outcome table and the records, as JSON in two npz members."""
    table = json.dumps(dict(sorted(as_text(run.flat).items())), separators=(",", ":"))
    records = json.dumps(mutant_records(run), separators=(",", ":"))
    np.savez_compressed(path, table=np.array(table), mutants=np.array(records))


def stored_document(path: Path) -> dict:
    """The instructor's file as one document ({"mutants", "outcomes"}, keys spelt as in the files)."""
    with np.load(path, allow_pickle=False) as stored:
        return {"mutants": json.loads(str(stored["mutants"])), "outcomes": json.loads(str(stored["table"]))}


def public_mutants_document(run: MutantRun, public_ids: set[str]) -> dict:
    """What the self-check may know: the mutants that differ on a public case, without their sources,
    and their outcomes on the public cases only."""
    public = {key: value for key, value in run.flat.items() if key.case in public_ids}
    shown = {key.mistake for key in public}
    records = {m.slip.id: _record(m, False) for m in run.records if m.slip.id in shown}
    return json.loads(json.dumps({"mutants": records, "outcomes": dict(sorted(as_text(public).items()))}))


def mutant_table(document: dict) -> MutantTable:
    """A document (the instructor's file read, or the bundle's public copy) as records; an empty table
    when it is malformed (a student may have edited the bundle's: diagnosis is a bonus)."""
    try:
        mutants = {}
        for mutant_id, record in document.get("mutants", {}).items():
            slip = Slip(mutant_id, Operator(record["operator"]), Detail.from_dict(record["detail"]))
            keys = tuple(str(k) for k in record.get("keys", []))
            mutants[mutant_id] = StoredMutant(slip, str(record["function"]), keys, str(record.get("source", "")))
        table = document.get("outcomes", {})
        if not isinstance(table, dict):
            return MutantTable()
        return MutantTable(mutants, table)
    except Exception:  # noqa: BLE001 - diagnosis is a bonus
        return MutantTable()


_CACHE: dict[tuple[str, int], MutantTable] = {}


def read_mutants(assignment: Assignment) -> MutantTable | None:
    """The assignment's stored mutants (the bundle's public copy in a bundle); None without any. Read
    once per version of the file."""
    if assignment.is_bundle:
        path = assignment.folder / PUBLIC_MUTANTS_FILE
        if not path.is_file():
            return None
        try:
            return mutant_table(json.loads(path.read_text()))
        except (OSError, ValueError):
            return None
    if not assignment.mutants_expected_file:
        return None
    path = assignment.folder / assignment.mutants_expected_file
    if not path.is_file():
        return None
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = mutant_table(stored_document(path))
    return _CACHE[key]
