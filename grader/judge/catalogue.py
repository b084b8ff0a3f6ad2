"""The assignment's catalogue of known mistakes: loading it, its texts, and the public copy a bundle ships.

An assignment may ship a catalogue of known mistakes: a module named by the `mistakes` key of its
manifest, defining `MISTAKES` (dicts with id, title, explanation, fix, functions, pattern and
`variants`, one runnable wrong version per function) and `variant_outputs(mistake_id, case,
folder)`; optionally `FAMILIES` (a mistake with a free parameter: see grader.judge.families) and
`ADVICE` (see grader.judge.advice). `grader expected` runs every variant on every case and stores a
compact outcome of each (grader.judge.outcomes) in the file named by `mistakes_expected`
(grader.judge.outcome_store). Both stay in the instructor's folder; a student's bundle gets only
the public copy made here: the texts, and the outcomes on the public cases.

Mistakes may also be written as wrong copies of a function, in the solution notebook, each with a
[[mistake]] table in the manifest (grader.judge.authored): the catalogue holds them beside the
module's, and a mistakes module becomes optional.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from grader.assignment.manifest import MANIFEST, Assignment, AssignmentError, load_assignment, load_module
from grader.assignment.released import solution_only_lines
from grader.judge.authored import catalogue_entries, solution_cells
from grader.judge.catalogue_schema import check_catalogue
from grader.judge.outcome_store import as_text
from grader.model.diagnosis import Catalogue, OutcomeKey

PUBLIC_MISTAKES_FILE = "public_mistakes.json"
TEXT_KEYS = ("title", "explanation", "fix")


def catalogue_files(assignment: Assignment) -> tuple[Path | None, Path] | None:
    """(mistakes module or None, stored outcomes) named by the manifest, or None when there is no
    catalogue: neither a mistakes module nor [[mistake]] tables (mistakes written as wrong copies)."""
    module = assignment.folder / assignment.mistakes_file if assignment.mistakes_file else None
    if module is not None and not module.is_file():
        module = None
    if module is None and (not assignment.authored_mistakes or assignment.is_bundle):
        return None
    return module, assignment.folder / assignment.mistakes_expected_file


def load_catalogue(assignment: Assignment | Path) -> Catalogue | None:
    """The assignment's catalogue of known mistakes (given the assignment or its folder), or None: the
    mistakes module's, then the authored ones (checked against the solution notebook's cells).

    A mistake's text that quotes the solution is refused here, in the manifest's [[mistake]] tables
    as in the mistakes module: the student's bundle ships the texts."""
    if not isinstance(assignment, Assignment):
        assignment = load_assignment(assignment)
    answers = _answers(assignment)
    for table in assignment.authored_mistakes:
        _refuse_quotes(vars(table), answers, f"{assignment.folder / MANIFEST} [[mistake]]")
    files = catalogue_files(assignment)
    if files is None:
        return None
    module_path, values_path = files
    module = None
    if module_path is not None:
        module = load_module(module_path, f"_grader_mistakes_{assignment.name}", assignment.instructor_paths)
        check_catalogue(module, module_path, assignment)
        for entry in [*module.MISTAKES, *getattr(module, "FAMILIES", [])]:
            _refuse_quotes(entry, answers, str(module_path))
    mistakes = {m["id"]: m for m in module.MISTAKES} if module is not None else {}
    if assignment.authored_mistakes and not assignment.is_bundle:
        solution_cells(assignment)  # every [[mistake]] has its cell, and each cell its table
        authored = catalogue_entries(assignment)
        both = sorted(set(authored) & set(mistakes))
        if both:
            raise AssignmentError(
                f"the mistake id '{both[0]}' is both a [[mistake]] table and an entry of {assignment.mistakes_file}: "
                "rename one"
            )
        mistakes.update(authored)
    return Catalogue(module, mistakes, values_path)


def _answers(assignment: Assignment) -> set[str]:
    """The solution-only lines (none in a bundle, which has no solution notebook to read them from)."""
    if assignment.is_bundle or not assignment.solution or not (assignment.folder / assignment.solution).is_file():
        return set()
    try:
        return solution_only_lines(assignment)
    except (OSError, ValueError):  # an unreadable solution is refused where it is read, with its own message
        return set()


def _refuse_quotes(entry: object, answers: set[str], where: str) -> None:
    """A mistake's title, explanation or fix may describe the solution, never quote one of its lines."""
    if not answers or not isinstance(entry, dict):
        return
    for key in TEXT_KEYS:
        text = str(entry.get(key, ""))
        quoted = next((answer for answer in sorted(answers) if answer in text), None)
        if quoted is not None:
            raise AssignmentError(
                f"{where}: the {key} of mistake '{entry.get('id', '?')}' quotes the solution line {quoted!r}, "
                "which the student's bundle would then hold: describe the change instead of quoting the line"
            )


def families_of(catalogue: Catalogue | None, function: str) -> list[dict]:
    """The catalogue's families (its module's FAMILIES) that cover a graded function."""
    if catalogue is None:
        return []
    return [f for f in getattr(catalogue.module, "FAMILIES", []) if function in f["functions"]]


def family_member(family: dict, value: object) -> dict:
    """One member of a family as a plain catalogue entry: id `family=value`, texts filled in."""
    shown = family.get("show", str)(value)
    member = {key: str(family[key]).replace("{value}", shown) for key in TEXT_KEYS}
    pattern = family.get("pattern")
    return {
        "id": f"{family['id']}={shown}",
        "shown": shown,
        "pattern": pattern if isinstance(pattern, str) else None,
        **member,
    }


# --- the public part, shipped in the student's bundle ---------------------------------------------


def public_mistakes_document(catalogue: Catalogue, flat: dict[OutcomeKey, np.ndarray], public_ids: set[str]) -> dict:
    """What the self-check may know: the mistakes' texts (and regex patterns), and the variants'
    outcomes on the PUBLIC cases only, whose inputs and correct outputs the bundle holds already."""
    mistakes = {}
    for mistake_id, mistake in catalogue.mistakes.items():
        pattern = mistake.get("pattern")
        mistakes[mistake_id] = {
            **{key: str(mistake[key]) for key in TEXT_KEYS},
            "pattern": pattern if isinstance(pattern, str) else None,
        }
    table = dict(sorted(as_text({key: value for key, value in flat.items() if key.case in public_ids}).items()))
    return {"mistakes": mistakes, "outcomes": table}


def read_public_mistakes(folder: Path) -> dict:
    """The bundle's public mistakes document ({} when absent or unreadable: diagnosis is a bonus)."""
    path = folder / PUBLIC_MISTAKES_FILE
    try:
        document = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def mistake_texts(assignment: Assignment) -> dict[str, dict]:
    """{id: entry with title, explanation, fix, pattern}: the catalogue's, or in a bundle its public copy."""
    catalogue = load_catalogue(assignment)
    if catalogue is not None:
        return catalogue.mistakes
    if getattr(assignment, "is_bundle", False):
        return read_public_mistakes(assignment.folder).get("mistakes", {})
    return {}
