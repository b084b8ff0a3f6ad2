"""The catalogue module's contract (mistakes.py), typed and checked when the catalogue loads.

A catalogue module is a plugin: `MISTAKES` (each a wrong version of graded functions, with its
texts), `variant_outputs(mistake_id, case, folder)`, and optionally `FAMILIES` (a mistake with a free
parameter, grader.judge.families) with `family_outputs(family_id, value, case, folder)`, and `ADVICE`
(grader.judge.advice). Each entry is a pydantic model with unknown keys refused, so a misspelled
`pattren` is said when the assignment loads, naming the file, the entry, the key and the fix,
rather than silently switching a hook off during grading.
"""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grader.assignment.manifest import Assignment, AssignmentError
from grader.model import Kind

_STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)
ADVICE_PARTS = frozenset({"returned", "stdout", "inputs", "raised"})  #: besides the `returns` names
KINDS = frozenset(kind.value for kind in Kind)
_CHECKED: weakref.WeakSet[ModuleType] = weakref.WeakSet()

Pattern = str | Callable[..., Any] | None


class MistakeEntry(BaseModel):
    """One MISTAKES entry: a wrong version of one or more graded functions, and its texts."""

    model_config = _STRICT

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    explanation: str = Field(min_length=1)
    fix: str = ""
    functions: list[str] = Field(min_length=1)
    pattern: Pattern = None  #: a regex tried line by line, or a function of the cell's source
    variants: dict[str, Callable[..., Any]] = Field(min_length=1)  #: function name -> the wrong version


class FamilyEntry(BaseModel):
    """One FAMILIES entry: a mistake with a free parameter, read in the cell or fitted."""

    model_config = _STRICT

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    explanation: str = Field(min_length=1)
    fix: str = ""
    functions: list[str] = Field(min_length=1)
    evidence: Callable[..., Any]  #: evidence(source, function) -> (line, value) or None
    fit: Callable[..., Any] | None = None  #: fit(mine, case, run) -> values worth confirming
    show: Callable[..., Any] = str  #: the value as the texts show it
    parameter: str = "this value"  #: what the value is, in words
    pattern: Pattern = None
    where: Pattern = None  #: the line a fitted value is shown on
    public_values: list[Any] = []  #: values whose outcomes on public cases ship in the bundle
    mixin: type | None = None  #: the module's own: a class its variants are built from
    attribute: str = ""  #: the module's own: the mixin's attribute that holds the value


class AdviceEntry(BaseModel):
    """One ADVICE entry: what a difference usually means, in the course's words."""

    model_config = _STRICT

    title: str = Field(min_length=1)
    explanation: str | Callable[..., Any]
    part: str | None = None
    kind: str | list[str] | None = None
    index: int | None = None
    raised: str | None = None

    @field_validator("kind")
    @classmethod
    def _known_kinds(cls, kind: str | list[str] | None) -> str | list[str] | None:
        for name in [kind] if isinstance(kind, str) else kind or []:
            if name not in KINDS:
                known = ", ".join(sorted(KINDS))
                raise ValueError(f"unknown kind '{name}'{_did_you_mean(name, KINDS)}; kinds: {known}")
        return kind


def _did_you_mean(name: str, known: frozenset[str] | set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _entry_name(table: str, entry: object, index: int) -> str:
    named = entry.get("id") if isinstance(entry, dict) else None
    return f"{table} entry '{named}'" if named else f"{table}[{index}]"


def _problem(path: Path, table: str, entry: object, index: int, error: ValidationError, model: type[BaseModel]) -> str:
    """The first schema error of one entry, as the author needs it: file, entry, key, fix."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "the entry"
    where = f"{path.name}: {_entry_name(table, entry, index)}"
    if first["type"] == "extra_forbidden":
        close = _did_you_mean(key, set(model.model_fields))
        return f"{where} has the unknown key '{key}'{close}; its keys: {', '.join(model.model_fields)}"
    if first["type"] == "missing":
        return f"{where} lacks '{key}': add it ({_field_help(model, key)})"
    if first["type"] == "model_type":
        return f"{where} must be a dict of {', '.join(model.model_fields)}"
    return f"{where}: '{key}' {first['msg'].removeprefix('Value error, ')} ({_field_help(model, key)})"


def _field_help(model: type[BaseModel], key: str) -> str:
    field = model.model_fields.get(key.split(".")[0])
    shown = field.annotation if field is not None else None
    return f"expected {getattr(shown, '__name__', None) or str(shown).replace('typing.', '')}"


def _entries(module: ModuleType, path: Path, table: str, model: type[BaseModel]) -> list[BaseModel]:
    entries = getattr(module, table, [])
    if not isinstance(entries, list | tuple):
        raise AssignmentError(f"{path.name}: {table} must be a list of dicts, not {type(entries).__name__}")
    checked = []
    for index, entry in enumerate(entries):
        try:
            checked.append(model.model_validate(entry))
        except ValidationError as error:
            raise AssignmentError(_problem(path, table, entry, index, error, model)) from None
    return checked


def _check_functions(path: Path, table: str, entry: MistakeEntry | FamilyEntry, assignment: Assignment) -> None:
    graded = {f.name for f in assignment.functions}
    for name in entry.functions:
        if name not in graded:
            raise AssignmentError(
                f"{path.name}: {table} entry '{entry.id}': 'functions' names '{name}', which is not a graded "
                f"function{_did_you_mean(name, graded)}; graded: {', '.join(sorted(graded))}"
            )
    if isinstance(entry, MistakeEntry) and set(entry.variants) != set(entry.functions):
        raise AssignmentError(
            f"{path.name}: MISTAKES entry '{entry.id}': 'variants' must have one wrong version per name in "
            f"'functions' ({', '.join(entry.functions)}), not {', '.join(entry.variants) or 'none'}"
        )


def _check_advice(path: Path, entries: list[AdviceEntry], assignment: Assignment) -> None:
    parts = ADVICE_PARTS | {name for f in assignment.functions for name in f.returns}
    for index, entry in enumerate(entries):
        if entry.part is not None and entry.part not in parts:
            raise AssignmentError(
                f"{path.name}: ADVICE[{index}] ('{entry.title}'): 'part' is '{entry.part}'"
                f"{_did_you_mean(entry.part, parts)}; a part is a name of a function's returns or one of "
                f"{', '.join(sorted(ADVICE_PARTS))}"
            )


def _check_hooks(module: ModuleType, path: Path, mistakes: list, families: list) -> None:
    needed = [("variant_outputs", "(mistake_id, case, folder)", bool(mistakes))]
    needed.append(("family_outputs", "(family_id, value, case, folder)", bool(families)))
    for name, arguments, wanted in needed:
        if wanted and not callable(getattr(module, name, None)):
            raise AssignmentError(f"{path.name} defines no function {name}{arguments}: add it (the grader runs it)")


def check_catalogue(module: ModuleType, path: Path, assignment: Assignment) -> None:
    """Refuse a catalogue module that breaks the contract, with the file, the entry, the key and the fix
    (once per loaded module: the catalogue is looked up for every failing case)."""
    if module in _CHECKED:
        return
    _check(module, path, assignment)
    _CHECKED.add(module)


def _check(module: ModuleType, path: Path, assignment: Assignment) -> None:
    unknown = sorted(n for n in vars(module) if n.isupper() and n.startswith(("MISTAKE", "FAMIL", "ADVI")))
    for name in unknown:
        if name not in {"MISTAKES", "FAMILIES", "ADVICE"}:
            close = _did_you_mean(name, {"MISTAKES", "FAMILIES", "ADVICE"})
            raise AssignmentError(f"{path.name} defines {name}, which the grader does not read{close}")
    if not hasattr(module, "MISTAKES"):
        raise AssignmentError(f"{path.name} defines no MISTAKES: add MISTAKES = [] (a list of dicts)")
    mistakes = _entries(module, path, "MISTAKES", MistakeEntry)
    families = _entries(module, path, "FAMILIES", FamilyEntry)
    advice = _entries(module, path, "ADVICE", AdviceEntry)
    ids = [e.id for e in [*mistakes, *families]]  # type: ignore[attr-defined]
    if len(set(ids)) != len(ids):
        raise AssignmentError(f"{path.name}: two entries share the id '{next(i for i in ids if ids.count(i) > 1)}'")
    for table, entries in (("MISTAKES", mistakes), ("FAMILIES", families)):
        for entry in entries:
            _check_functions(path, table, entry, assignment)  # type: ignore[arg-type]
    _check_advice(path, advice, assignment)  # type: ignore[arg-type]
    _check_hooks(module, path, mistakes, families)
