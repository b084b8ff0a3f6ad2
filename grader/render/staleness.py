"""`grader expected --check`'s findings in words (grader.model.staleness's records)."""

from __future__ import annotations

from grader.judge.agreement import SolutionRefused
from grader.judge.expected import STALE_ATOL, STALE_RTOL
from grader.model.staleness import Deviation, Disagreement, Stale, StaleKind, Unclear, UnclearKind
from grader.render.wording import describe

_WORDS = {
    StaleKind.MISSING_FILE: "{where} is missing",
    StaleKind.PUBLIC_DIFFERS: "{where}: differs from the reference's public expectations",
    StaleKind.CATALOGUE_DIFFERS: "{where}: differs from the catalogue's public outcomes",
    StaleKind.NOT_STORED: "{where}: the reference produces it, the stored file lacks it",
    StaleKind.NOT_PRODUCED: "{where}: stored, but no case produces it any more",
    StaleKind.VALUE_DIFFERS: "{where}: stored value differs from the reference's",
}


def stale_text(stale: Stale) -> str:
    return _WORDS[stale.kind].format(where=stale.where)


def deviation_text(deviation: Deviation) -> str:
    """The closest call, as a share of the tolerance (above 1 would be stale)."""
    if not deviation.where:
        return "largest deviation: none (every stored number is identical)"
    difference = abs(deviation.stored - deviation.fresh)
    relative = difference / abs(deviation.fresh) if deviation.fresh else float("inf") if difference else 0.0
    return (
        f"largest deviation: {difference:.3g} absolute, {relative:.3g} relative, at {deviation.where} "
        f"({deviation.fraction:.3g} of the tolerance rtol={STALE_RTOL:g}, atol={STALE_ATOL:g})"
    )


def disagreement_text(found: Disagreement, names: tuple[str, ...] = (), labels: tuple = ()) -> str:
    """One case the solution notebook's run cannot stand for, and why."""
    run = f"the solution with the mistake '{found.mistake}'" if found.mistake else "the solution notebook"
    where = f"case '{found.case_id}' ({found.function})"
    if found.status:
        return f"{where}: {run}'s call did not finish ({found.status})"
    if found.error is not None:
        return f"{where}: {run} raised {found.error[0]}: {found.error[1]}".rstrip(": ")
    parts = "; ".join(describe(d, True, names, labels) for d in found.differences)
    said = "(expected: the reference's; got: the solution's)"
    return f"{where}: the solution notebook and the reference disagree {said}: {parts}"


def refused_text(error: SolutionRefused, assignment=None) -> str:
    """Why `grader expected` wrote nothing: each case, then what to do."""
    lines = []
    for found in error.found:
        graded = assignment.function(found.function) if assignment is not None else None
        names, labels = (graded.returns, graded.labels) if graded is not None else ((), ())
        lines.append(disagreement_text(found, names, labels))
    fix = (
        "make the reference and the solution notebook agree (one of them is wrong)"
        if error.reference
        else "fix the solution notebook so that it answers every case"
    )
    return "\n".join([*lines, f"nothing written: {fix}"])


_UNCLEAR = {
    UnclearKind.LIKE_BLANK: "the mistake '{first}' gives what the blank {function} gives on the public case "
    "'{case}': a notebook nobody wrote would be told it made that mistake; add a case where they differ",
    UnclearKind.SAME_MISTAKES: "the mistakes '{first}' and '{second}' give the same outcome on every case of "
    "{function}: no case tells them apart; add one that does, or merge them",
    UnclearKind.WEAK_CASE: "every catalogued wrong version of {function} passes the case '{case}': it checks "
    "nothing they get wrong",
    UnclearKind.NO_EFFECT: "the mistake '{first}' gives the solution's outcome on every case of {function}: "
    "no case can name it; add a case where it differs",
}


def unclear_text(found: Unclear) -> str:
    """A warning: what the cases cannot tell apart, and what to do."""
    first, second = (*found.mistakes, "", "")[:2]
    return _UNCLEAR[found.kind].format(first=first, second=second, function=found.function, case=found.case_id)
