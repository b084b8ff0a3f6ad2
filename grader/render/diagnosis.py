"""Words for a Diagnosis (grader.model.diagnosis): the title, explanation and fix a student reads, the
evidence said, and the line pointed at."""

from __future__ import annotations

from dataclasses import dataclass

from grader.model import shown_type
from grader.model.diagnosis import Diagnosis, DiagnosisKind, Evidence
from grader.render.mutant_wording import mutant_texts
from grader.render.notes import kernel_error_text

UNSHOWN_VALUE = "(a value not shown on a hidden case)"

# The grader's own advice (grader.judge.diagnose.DEFAULT_ADVICE's keys): title and explanation;
# {names} is the differing parts, {differ} "differs" or "differ" to agree with them, {exception} the
# exception's type.
DEFAULT_ADVICE = {
    "raised": (
        "the function raised {exception}",
        "The call stopped with an exception, so nothing could be compared. The message above names it; run "
        "the function on the public test's inputs in the notebook to see the line it comes from.",
    ),
    "unwritten": (
        "the function raised {exception}: a YOUR CODE region is not written yet",
        "It reads a name that one of its YOUR CODE regions, still empty as released, is meant to set: "
        "is every YOUR CODE region complete? Write each one, then check again.",
    ),
    "returned-form": (
        "the function does not return what is expected",
        "Whatever the body computes, the caller expects the values the assignment describes: compare "
        "the number of values returned, their types and their order with the function's docstring.",
    ),
    "printed": (
        "the printed lines differ",
        "The returned values agree; the lines printed are not the ones expected: check which lines are "
        "printed, when, and their exact format.",
    ),
    "inputs-changed": (
        "the function changes an argument it was given",
        "The caller's arrays must come back untouched. An in-place operation (X /= ..., X -= ..., "
        "Y[...] = ...) on an argument changes the caller's data; compute on a new array instead.",
    ),
    "keys": (
        "a returned dict has other keys than expected",
        "Check the names of the keys the function stores, and that it stores every one asked for.",
    ),
    "form": (
        "{names}: not of the form expected",
        "The value has another type, length or shape than the reference's: check how it is built (the sizes "
        "used, a missing transpose or reshape, a list where an array is expected).",
    ),
    "numbers": (
        "{names} {differ}",
        "{They} {has} the right form but other numbers: look at the statements of {function} that compute "
        "{them}, step by step, on the public test's inputs.",
    ),
}


@dataclass(frozen=True)
class DiagnosisWords:
    """A diagnosis as the reports show it."""

    title: str
    explanation: str
    fix: str = ""
    place: str = ""  #: "cell 5, line 12" ("" when no line is pointed at)
    code: str = ""  #: the code on that line
    line: str = ""  #: "cell 5, line 12: code"
    named: bool = False  #: a catalogued mistake, not only where the numbers part


def diagnosis_words(diagnosis: Diagnosis, public: bool = True) -> DiagnosisWords:
    """What the student reads of a diagnosis (`public`: the case's inputs are shown)."""
    title, explanation, fix = _texts(diagnosis, public)
    place = diagnosis.place
    where = f"cell {place.cell}, line {place.line}" if place is not None else ""
    return DiagnosisWords(
        title,
        explanation,
        fix,
        where,
        place.code if place is not None else "",
        f"{where}: {place.code}" if place is not None else "",
        diagnosis.named,
    )


def _texts(diagnosis: Diagnosis, public: bool) -> tuple[str, str, str]:
    kind = diagnosis.kind
    if kind == DiagnosisKind.FAMILY:
        shown = diagnosis.parameter if diagnosis.value_shown else UNSHOWN_VALUE
        texts = [text.replace("{value}", shown) for text in (diagnosis.title, diagnosis.explanation, diagnosis.fix)]
        return texts[0], f"{texts[1]} {_evidence(diagnosis, shown)}", texts[2]
    if kind == DiagnosisKind.ADVICE:
        title, explanation = (
            DEFAULT_ADVICE[diagnosis.advice]
            if diagnosis.advice in DEFAULT_ADVICE
            else (diagnosis.title, diagnosis.explanation)
        )
        several = len(diagnosis.differing) > 1
        fill = {
            "{names}": ", ".join(diagnosis.differing),
            "{differ}": "differ" if several else "differs",
            "{has}": "have" if several else "has",
            "{them}": "them" if several else "it",
            "{They}": "They" if several else "It",
            "{function}": diagnosis.function or "the function",
            "{exception}": shown_type(diagnosis.exception, public) if diagnosis.exception else "",
        }
        for key, value in fill.items():
            title, explanation = title.replace(key, value), explanation.replace(key, value)
        return title, explanation, ""
    if kind == DiagnosisKind.CELL_FAILED:
        name, error = diagnosis.function, diagnosis.cell_error
        said = kernel_error_text(error) if error is not None else "an error"
        return (
            f"the cell defining {name} did not run",
            f"its cell raised {said} when run, so {name} is missing or is not your latest version. Fix that "
            "error first: run the cell in Jupyter to see it.",
            "",
        )
    if kind == DiagnosisKind.MUTANT and diagnosis.slip is not None:
        return mutant_texts(diagnosis.slip, diagnosis.function)
    if kind == DiagnosisKind.CALLEE:
        return _callee_texts(diagnosis)
    return diagnosis.title, diagnosis.explanation, diagnosis.fix


def _callee_texts(diagnosis: Diagnosis) -> tuple[str, str, str]:
    """A caller of failing functions: right on its own (alone), wrong on its own too, or not known."""
    named, name = " and ".join(diagnosis.callees), diagnosis.function
    many = len(diagnosis.callees) > 1
    if diagnosis.alone is True:
        return (
            f"{name} is right: as written it fails only because {named} {'do' if many else 'does'}",
            f"Run with a correct {named}, this case passes, so it keeps its points. The differences shown are "
            f"what {name} returns with your {named}: fix {'them' if many else 'it'} (see {'their' if many else 'its'} "
            "own cases) and this case passes as written too.",
            "",
        )
    if diagnosis.alone is False:
        return (
            f"{name} fails even with a correct {named}",
            f"{named} {'fail their' if many else 'fails its'} own cases too, but run with a correct {named} "
            f"this case still fails: {name} itself has a mistake as well. Fix {named}, then look at {name}.",
            "",
        )
    return (
        f"{name} calls {named}, which {'fail their' if many else 'fails its'} own cases",
        f"Fix {named} first: {name} uses {'them' if many else 'it'}, so its numbers are wrong too. If this "
        f"case still fails afterwards, look at {name} itself.",
        "",
    )


def _evidence(diagnosis: Diagnosis, shown: str) -> str:
    """Why the family's value is believed: the line that states it, or the fit (and its likely line)."""
    parameter, place = diagnosis.parameter_name, diagnosis.place
    rerun = f"re-running the mistake with {parameter} {shown} on this case gives your numbers"
    line = f"cell {place.cell}, line {place.line}: {place.code}" if place is not None else ""
    if diagnosis.evidence == Evidence.STATED:
        return f"Evidence: your cell states it at {line}, and {rerun}."
    if place is not None:
        return (
            f"Evidence: {parameter} {shown} was fitted from your returned values, and {rerun}. "
            f"The line it most likely comes from: {line}."
        )
    return (
        f"Evidence: {parameter} {shown} was fitted from your returned values, and {rerun}. "
        "No line of your cell could be tied to it, so none is quoted."
    )
