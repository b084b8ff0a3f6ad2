"""What `grader expected --check` finds, as records: each stored value or file out of date, and the
stored number that came closest to being stale (grader.render.staleness words them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from grader.model.differences import Difference
from grader.model.mutation import MutantStats


class StaleKind(StrEnum):
    """How a stored expectation disagrees with a fresh run of the reference."""

    MISSING_FILE = "missing_file"  #: the file `where` is missing
    PUBLIC_DIFFERS = "public_differs"  #: the public expectations file `where` differs from a fresh one
    CATALOGUE_DIFFERS = "catalogue_differs"  #: the catalogue's public outcomes file `where` differs
    NOT_STORED = "not_stored"  #: the reference produces the entry `where`; the stored file lacks it
    NOT_PRODUCED = "not_produced"  #: the entry `where` is stored, but no case produces it any more
    VALUE_DIFFERS = "value_differs"  #: the stored value of `where` differs beyond the stale tolerance


@dataclass(frozen=True)
class Stale:
    """One stored expectation out of date."""

    kind: StaleKind
    where: str  #: the file, or the entry's key


@dataclass(frozen=True)
class Deviation:
    """The stored and fresh values that lie furthest apart, relative to the stale tolerance."""

    where: str = ""  #: the entry ("" when every stored number is identical)
    stored: float = 0.0
    fresh: float = 0.0
    fraction: float = 0.0  #: |stored - fresh| / (atol + rtol * |fresh|); above 1 is stale


class UnclearKind(StrEnum):
    """How the cases fail to tell the catalogue's mistakes apart (a warning, never a failure)."""

    LIKE_BLANK = "like_blank"  #: the mistake's outcome on the public case is the blank function's
    SAME_MISTAKES = "same_mistakes"  #: the two mistakes have the same outcome on every case
    WEAK_CASE = "weak_case"  #: every catalogued wrong version of the function passes the case
    NO_EFFECT = "no_effect"  #: the mistake's outcome is the solution's on every case it runs on


@dataclass(frozen=True)
class Unclear:
    """Cases that cannot tell things apart: a mistake and the blank function, two mistakes, or the
    wrong versions and the solution (grader.judge.distinguish finds them, `grader expected` warns)."""

    kind: UnclearKind
    function: str
    case_id: str = ""  #: the case (LIKE_BLANK, WEAK_CASE)
    mistakes: tuple[str, ...] = ()  #: the mistake (LIKE_BLANK, NO_EFFECT), the two (SAME_MISTAKES)


@dataclass
class CheckReport:
    """What `grader expected --check` found: the stale entries, and how close the rest came."""

    problems: list[Stale] = field(default_factory=list)
    largest: Deviation = field(default_factory=Deviation)
    mutants: MutantStats | None = None  #: what the fresh run of the mutants took (when there are some)


@dataclass(frozen=True)
class Disagreement:
    """A case on which the solution notebook's run cannot stand as the expected value: it disagrees with
    the reference module (`differences`), it raised (`error`), or its call did not finish (`status`).
    With `mistake`, it is that authored mistake's run (the solution with that wrong copy) that failed."""

    case_id: str
    function: str
    differences: tuple[Difference, ...] = ()  #: the solution's answer against the reference's
    error: tuple[str, str] | None = None  #: (type, message) of what the solution raised
    status: str = ""  #: how the call ended when it did not finish (a CaseStatus value)
    mistake: str = ""  #: the authored mistake whose run this was ("" for the solution itself)
