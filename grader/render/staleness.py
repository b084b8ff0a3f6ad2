"""`grader expected --check`'s findings in words (grader.model.staleness's records)."""

from __future__ import annotations

from grader.judge.expected import STALE_ATOL, STALE_RTOL
from grader.model.staleness import Deviation, Stale, StaleKind

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
