"""Families: a catalogued mistake with a free parameter, read in the cell or fitted, confirmed by re-running.

A catalogue's `FAMILIES` entries each have an id, texts (with {value} for the parameter), the
functions they cover, `evidence(source, function)` (reads the cell and returns (line, value) or
None), an optional `fit(mine, case, run)` (proposes values from the student's outputs) and `show`
(the value as the texts show it); the module's `family_outputs(family_id, value, case, folder)`
runs the variant with a value. A family is named only when a run with the value gives the
student's outcome on everything the case compares; runs come out of the submission's
`DiagnosisBudget`.
"""

from __future__ import annotations

import multiprocessing.util
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from grader.assignment.manifest import Assignment
from grader.judge.catalogue import families_of, load_catalogue
from grader.judge.outcomes import plain_result, same_outcome, student_outcome, variant_outcome
from grader.judge.patterns import MAX_PATTERN_SOURCE, locate, place_at
from grader.model import Case, Expected, KernelResult, Tolerance
from grader.model.diagnosis import Diagnosis, DiagnosisBudget, DiagnosisKind, Evidence
from grader.model.notebook import CodeCell

# A family's fit may propose a few values; each costs one confirming run.
MAX_FIT_CANDIDATES = 4

_PREPARED: dict[str, Path] = {}  #: assignment folder -> the folder prepared for its hooks, once per process
_PREPARING = threading.Lock()


def _remove(folder: Path, owner: int) -> None:
    """At exit, the process that made the folder removes it (a forked child that exits normally does not)."""
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)


def hook_folder(assignment: Assignment) -> Path:
    """The folder the catalogue's hooks run a variant in, prepared as a kernel's folder (the support
    files and the input files the cases read, such as images written by the cases' prepare_workdir):
    the variants read the case inputs as the student's function did. Made once per process."""
    key = str(assignment.folder.resolve())
    with _PREPARING:
        folder = _PREPARED.get(key)
        if folder is None or not folder.is_dir():
            folder = Path(tempfile.mkdtemp(prefix="grader-diagnosis-"))
            # A pool's worker ends without atexit: its own finalizers (run at any exit) remove the folder.
            multiprocessing.util.Finalize(None, _remove, args=(folder, os.getpid()), exitpriority=0)
            assignment.prepare_workdir(folder)
            _PREPARED[key] = folder
    return folder


@dataclass
class _Trial:
    """One failing case, and how to run and judge a family's variant on it within the budget.
    A helper of this module only: it never leaves it."""

    module: ModuleType
    case: Case
    folder: Path
    names: tuple[str, ...]
    mine: dict  #: the student's outcome
    tol: Tolerance
    budget: DiagnosisBudget

    def runner(self, family: dict) -> Callable[[object], dict | None]:
        """run(value): the variant's raw output with that value on this case, None once the budget is spent."""
        return lambda value: self.budget.run(
            lambda: self.module.family_outputs(family["id"], value, self.case, self.folder)
        )

    def confirms(self, family: dict, value: object) -> bool:
        try:
            raw = self.runner(family)(value)
        except Exception as error:  # noqa: BLE001 - a variant that cannot run confirms nothing; the instructor hears
            self.budget.hook_failed("family_outputs", family["id"], self.case.id, error)
            return False
        return raw is not None and same_outcome(
            self.case, variant_outcome(raw, self.case, self.names), self.mine, self.tol.rtol, self.tol.atol
        )


def family_mistake(
    assignment: Assignment,
    case: Case,
    expected: Expected,
    result: KernelResult,
    cell: CodeCell | None,
    budget: DiagnosisBudget | None = None,
    fit: bool = True,
) -> Diagnosis | None:
    """A catalogued family (the module's FAMILIES) whose parameter the student's cell states, or
    that a value fitted from the student's outputs reproduces.

    Each family's `evidence(source, function)` reads the cell (bounded in size, like the patterns)
    and returns (line, value) or None. When it finds nothing, the family's optional
    `fit(mine, case, run)` proposes values from the student's outputs: `mine` is what the function
    returned and printed as plain values ({"returned", "stdout"} or {"error"}), `run(value)` the
    variant's output with that value (None once the budget is spent); it returns a list of values or
    None. Values confirmed on an earlier case of the submission are tried first. The module's
    `family_outputs(family_id, value, case, folder)` runs the variant, here in the grader process,
    within the submission's budget. A family is named only when a run with the value gives the
    student's outcome on everything the case compares, so a correct cell written differently (whose
    outcome is the reference's) is never named, whatever the evidence or the fit said. With
    `fit=False` only the cell's own evidence counts.
    """
    if cell is None or len(cell.source) > MAX_PATTERN_SOURCE:
        return None
    catalogue = load_catalogue(assignment)
    families = families_of(catalogue, case.function)
    budget = budget if budget is not None else DiagnosisBudget.from_limits(assignment.limits)
    if catalogue is None or catalogue.module is None or not families or budget.exhausted:
        return None
    names = assignment.function(case.function).returns
    tol = assignment.tolerance(case.function, case)
    try:
        folder = hook_folder(assignment)
    except Exception as error:  # noqa: BLE001 - the cases' prepare_workdir failed: no family can run; the instructor hears
        budget.hook_failed("prepare_workdir", "", case.id, error)
        return None
    trial = _Trial(
        catalogue.module,
        case,
        folder,
        names,
        student_outcome(result, expected, case, names, tol),
        tol,
        budget,
    )
    stated, found = _stated_family(families, trial, cell)
    if found is not None or not fit:
        return found
    return _fitted_family([f for f in families if f["id"] not in stated], trial, cell, result)


def _stated_family(families: list[dict], trial: _Trial, cell: CodeCell) -> tuple[set[str], Diagnosis | None]:
    """The ids of the families whose evidence the cell holds, and the first one a run with the stated
    value confirms (None when none does)."""
    stated = set()
    for family in families:
        try:
            found = family["evidence"](cell.source, trial.case.function)
        except Exception as error:  # noqa: BLE001 - evidence that trips states nothing; the others still look
            trial.budget.hook_failed("evidence", family["id"], trial.case.id, error)
            found = None
        if found is None:
            continue
        stated.add(family["id"])
        line, value = found
        if trial.confirms(family, value):
            return stated, _family_diagnosis(family, value, cell, line, fitted=False)
    return stated, None


def _fitted_family(families: list[dict], trial: _Trial, cell: CodeCell, result: KernelResult) -> Diagnosis | None:
    """The first family a fitted value of which a run confirms; the value is remembered for the
    submission's later cases."""
    for family in families:
        for value in _fitted_values(family, trial, result):
            if trial.confirms(family, value):
                known = trial.budget.confirmed.setdefault(family["id"], [])
                if value not in known:
                    known.append(value)
                return _family_diagnosis(
                    family,
                    value,
                    cell,
                    locate(family.get("where"), cell.source, _heard(trial, "where", family["id"])),
                    fitted=True,
                    hidden=trial.case.visibility != "visible",
                )
    return None


def _heard(trial: _Trial, hook: str, entry: str) -> Callable[[BaseException], None]:
    """What a family's hook raised, noted for the instructor."""
    return lambda error: trial.budget.hook_failed(hook, entry, trial.case.id, error)


def _fitted_values(family: dict, trial: _Trial, result: KernelResult) -> Iterator:
    """Values worth confirming: those confirmed on earlier cases, then the family's fit's."""
    tried = list(trial.budget.confirmed.get(family["id"], []))
    yield from tried
    fit = family.get("fit")
    if fit is None or trial.budget.exhausted or not _all_finite(trial.mine):
        return
    try:
        found = fit(plain_result(result), trial.case, trial.runner(family))
    except Exception as error:  # noqa: BLE001 - a fit that trips proposes nothing; the instructor hears of it
        trial.budget.hook_failed("fit", family["id"], trial.case.id, error)
        return
    for value in list(found or [])[:MAX_FIT_CANDIDATES]:
        if value not in tried:
            tried.append(value)
            yield value


def _all_finite(outcome: dict) -> bool:
    """Every number of an outcome is finite. NaN agrees with NaN in a comparison, so outputs holding
    NaN or inf agree with any variant that also ends there: no value can be fitted from them."""
    return all(bool(np.all(np.isfinite(leaf))) for leaf in outcome.get("leaves", {}).values())


def _family_diagnosis(
    family: dict, value: object, cell: CodeCell, line: int | None, fitted: bool, hidden: bool = False
) -> Diagnosis:
    """The family's texts (their {value} left for grader.render to fill), the value, the evidence and
    the line: stated in the cell, or fitted from the student's returned values. A value fitted on a
    hidden case is not put in words: the code could have chosen it."""
    shown = family.get("show", str)(value)
    return Diagnosis(
        DiagnosisKind.FAMILY,
        str(family["id"]),
        str(family["title"]),
        str(family["explanation"]),
        str(family.get("fix") or ""),
        place=place_at(cell, line),
        evidence=Evidence.FITTED if fitted else Evidence.STATED,
        parameter=shown,
        parameter_name=str(family.get("parameter", "this value")),
        value_shown=not (fitted and hidden),
    )
