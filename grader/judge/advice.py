"""When no catalogued mistake matches: where the numbers first go wrong, and what that usually means.

The first difference of the case picks an advice entry: the assignment's own (its catalogue
module's ADVICE, in its course's words) before the grader's (DEFAULT_ADVICE, whose keys name their
words in grader.render.diagnosis). The diagnosis holds the entry and the parts that differ.
"""

from __future__ import annotations

from grader.assignment.manifest import Assignment
from grader.assignment.released import empty_regions
from grader.judge.catalogue import catalogue_files, load_catalogue
from grader.judge.compare import Comparison
from grader.model import Case, Difference, Kind
from grader.model.diagnosis import Diagnosis, DiagnosisKind, Place
from grader.model.notebook import CodeCell
from grader.model.paths import display_path

# The grader's own advice, by the part that differs and the difference's kind: each rule's key names
# its words in grader.render.diagnosis. An assignment's catalogue module may put its own entries, in
# its course's words, before these (ADVICE, see advice_for).
DEFAULT_ADVICE = [
    {"part": "raised", "key": "raised"},
    {"part": "returned", "kind": ["type", "length"], "key": "returned-form"},
    {"part": "stdout", "key": "printed"},
    {"part": "inputs", "key": "inputs-changed"},
    {"kind": ["missing_key", "extra_key"], "key": "keys"},
    {"kind": ["type", "length", "shape"], "key": "form"},
    {"key": "numbers"},
]


# What a function raises when a name its empty learner region would set is read.
UNWRITTEN_ERRORS = ("NameError", "UnboundLocalError")


def unwritten_region(assignment: Assignment, comparison: Comparison, cell: CodeCell | None) -> Diagnosis | None:
    """A function that raised NameError while one of its learner regions is still empty, as released:
    the missing name is most likely the one that region sets, so that is what the student hears."""
    first = comparison.first
    if cell is None or first is None or first.kind != Kind.RAISED or first.what not in UNWRITTEN_ERRORS:
        return None
    empty = empty_regions(cell.source, assignment.markers)
    if not empty:
        return None
    code = cell.source.split("\n")[empty[0] - 1].strip()
    return Diagnosis(
        DiagnosisKind.ADVICE,
        advice="unwritten",
        exception=first.what,
        first=first,
        place=Place(cell.index + 1, empty[0], code),
    )


def _advice_part(difference: Difference, names: tuple[str, ...]) -> str:
    if difference.kind == Kind.RAISED:
        return "raised"
    if difference.kind in (Kind.PRINTED, Kind.PRINTED_LENGTH):
        return "stdout"
    if difference.kind == Kind.INPUT_CHANGED:
        return "inputs"
    head = difference.path[0] if difference.path else None
    return names[head] if isinstance(head, int) and head < len(names) else "returned"


def _matches(entry: dict, difference: Difference, part: str) -> bool:
    kinds = entry.get("kind")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    index = difference.path[1] if len(difference.path) > 1 else None
    return (
        (entry.get("part") in (None, part))
        and (kinds is None or difference.kind.value in kinds)
        and ("index" not in entry or entry["index"] == index)
        and (entry.get("raised") in (None, difference.what))
    )


def advice_for(assignment: Assignment, difference: Difference, names: tuple[str, ...]) -> dict:
    """The first advice entry (the assignment's ADVICE, then DEFAULT_ADVICE) that fits the difference.

    An entry may name `part` (a name of the manifest's `returns`, "returned", "stdout", "inputs" or
    "raised"), `kind` (a Difference kind or a list of them), `index` (the first index inside the
    part) and `raised` (an exception type); `title` and `explanation` may hold {names} (the
    differing values) and {exception}; `explanation` may also be a callable(differing, all_names).
    """
    catalogue = load_catalogue(assignment) if catalogue_files(assignment) else None
    table = list(getattr(catalogue.module, "ADVICE", []) if catalogue is not None else []) + DEFAULT_ADVICE
    part = _advice_part(difference, names)
    return next(entry for entry in table if _matches(entry, difference, part))


def localise(assignment: Assignment, case: Case, comparison: Comparison) -> Diagnosis | None:
    """Where the student's answer first departs from the reference, and what that usually means: the
    advice entry that fits the first difference, with the parts that differ like it."""
    first = comparison.first
    if first is None:
        return None
    names = assignment.function(case.function).returns
    entry = advice_for(assignment, first, names)
    same_part = [d for d in comparison.differences if d.kind == first.kind and d.path[:1] == first.path[:1]]
    differing = tuple(dict.fromkeys(display_path(d.path, names) for d in same_part))
    everything = tuple(display_path(d.path, names) for d in comparison.differences)
    exception = first.what if first.kind == Kind.RAISED else ""
    if "key" in entry:  # the grader's own words (grader.render.diagnosis)
        return Diagnosis(
            DiagnosisKind.ADVICE,
            advice=entry["key"],
            differing=differing,
            everything=everything,
            exception=exception,
            first=first,
            function=case.function,
        )
    explanation = entry["explanation"]
    if callable(explanation):  # the author's own function of the parts that differ
        explanation = explanation(list(differing), list(everything))
    return Diagnosis(
        DiagnosisKind.ADVICE,
        title=str(entry["title"]),
        explanation=str(explanation),
        differing=differing,
        everything=everything,
        exception=exception,
        first=first,
    )
