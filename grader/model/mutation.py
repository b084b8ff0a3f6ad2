"""A one-point mutant of the solution as the diagnosis names it: which operator made it and what
the words for it need (grader.judge.mutants makes them; grader.render.mutant_wording words them).

The record holds only what may be said to a student: the variable a statement assigns, a short
name or string, an axis, an operator. Never the solution's right-hand side, which is the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Operator(StrEnum):
    """What one mutation does. The declaration order is the priority when two make the same code."""

    RANGE_START = "range-start"  #: a range's start moved by ±1 or ±2 (range(L) <-> range(1, L))
    RANGE_STOP = "range-stop"  #: a range's stop moved by ±1 or ±2
    INDEX_SHIFT = "index-shift"  #: a computed index (caches[l]) or a key's layer number ("W" + str(l)) moved
    INDEX_SWAP = "index-swap"  #: a constant index moved to its neighbour (cache[0] -> cache[1])
    AXIS_SWAP = "axis-swap"  #: axis=0 <-> axis=1
    AXIS_DROP = "axis-drop"  #: a reduction's axis left out (over every entry)
    DROP_KEEPDIMS = "drop-keepdims"  #: keepdims= left out
    TRANSPOSE_DROP = "transpose-drop"  #: x.T, np.transpose(x), x.transpose() -> x
    TRANSPOSE_ADD = "transpose-add"  #: an operand of a matrix product transposed
    DOT_TO_MUL = "dot-to-mul"  #: np.dot(a, b), a @ b -> a * b
    MUL_TO_DOT = "mul-to-dot"  #: a * b -> np.dot(a, b)
    ARITH_SWAP = "arith-swap"  #: + <-> -, * <-> /
    SIGN_FLIP = "sign-flip"  #: a unary minus dropped, or an assigned value negated
    DROP_TERM = "drop-term"  #: a + b -> a, b; a - b -> a, -b
    DROP_FACTOR = "drop-factor"  #: a * b -> a, b; a / b -> a
    DROP_CALL = "drop-call"  #: np.f(x, ...) -> x (np.sqrt, np.squeeze, np.sum, reversed ...)
    STRING_SWAP = "string-swap"  #: "relu" <-> "sigmoid", a key's prefix "dW" <-> "db"
    CALL_REPLACE = "call-replace"  #: f(...) -> g(...) for functions of the same parameters
    NAME_SWAP = "name-swap"  #: a local read in place of a related one (A_prev / A, dW / W, l / L)
    ARGS_SWAP = "args-swap"  #: two positional arguments of a call swapped
    TUPLE_SWAP = "tuple-swap"  #: two items of a tuple swapped (a cache built or unpacked out of order)
    CONSTANT_SCALE = "constant-scale"  #: a number times 10 or 0.1
    DROP_STATEMENT = "drop-statement"  #: an assignment or a call statement left out
    CALLS_SWAP = "calls-swap"  #: two calls of functions of the same parameters in each other's place (relu / sigmoid)
    ARGS_EXCHANGE = "args-exchange"  #: two calls of one function in a statement with each other's arguments


class Role(StrEnum):
    """Which part an operator changed, when it can change several kinds."""

    NONE = ""
    INDEX = "index"  #: a subscript's index
    KEY = "key"  #: the layer number of a string key ("W" + str(l))
    FACTOR = "factor"
    DIVISOR = "divisor"
    COMPARISON = "comparison"  #: a string a value is compared with
    ARGUMENT = "argument"  #: a string passed to a call
    ELEMENT = "element"  #: an item of a tuple built
    TARGET = "target"  #: a name of a tuple unpacked
    MINUS = "minus"  #: a unary minus
    VALUE = "value"  #: an assigned value as a whole
    FIRST = "first"  #: the first operand of a subtraction (dropped: a - b -> -b)


class Site(StrEnum):
    """The kind of statement that holds the change: the words say where it is without quoting it."""

    OTHER = ""
    ASSIGNMENT = "assignment"  #: Detail.target is what it assigns
    CALL = "call"  #: a statement that only calls; Detail.target is the called function
    RETURN = "return"
    LOOP = "loop"  #: a for loop's header; Detail.target is the loop variable
    TEST = "test"  #: an if or while header


@dataclass(frozen=True)
class Detail:
    """What the words for a mutant need. Texts are filled only when they name a thing (a name, a
    string, an axis, an operator), never a right-hand side of the solution that would give it away."""

    target: str = ""  #: what the statement assigns ("Z", "dA_prev, dW, db"), calls, or loops over (see place)
    place: Site = Site.OTHER  #: the kind of statement that holds the change
    subject: str = ""  #: the call or container concerned ("np.sum", "caches", "range"), or the loop variable
    old: str = ""  #: the part as the solution has it, when short enough to name
    new: str = ""  #: the part as the mutant has it, when short enough to name
    op: str = ""  #: the arithmetic operator involved ("+", "*", "/")
    delta: int = 0  #: a bound's or an index's shift
    role: Role = Role.NONE  #: which part was changed, when the operator can change several
    places: int = 1  #: where the same change was made: 2 or more when in every place the part is written

    def as_dict(self) -> dict[str, object]:
        """Plain data for the stored files (read back by `from_dict`)."""
        return {
            "target": self.target,
            "place": str(self.place),
            "subject": self.subject,
            "old": self.old,
            "new": self.new,
            "op": self.op,
            "delta": self.delta,
            "role": str(self.role),
        } | ({"places": self.places} if self.places != 1 else {})

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Detail:
        """A stored detail read back; ValueError for anything that is not one."""
        texts = {key: str(data.get(key, "")) for key in ("target", "subject", "old", "new", "op")}
        place, role = Site(str(data.get("place", ""))), Role(str(data.get("role", "")))
        delta, places = _whole(data, "delta", 0), _whole(data, "places", 1)
        return cls(place=place, role=role, delta=delta, places=places, **texts)


def _whole(data: dict[str, object], name: str, default: int) -> int:
    """A stored int field; ValueError for anything else (a bool included)."""
    number = data.get(name, default)
    if not isinstance(number, int) or isinstance(number, bool):
        raise ValueError(f"a mutant's {name} must be an int, not {number!r}")
    return number


@dataclass(frozen=True)
class Slip:
    """One mutant as a diagnosis names it: its id, its operator and the details its words need."""

    id: str  #: the stored mutant's id ("function:operator:line:col:n")
    operator: Operator  #: what the mutation does
    detail: Detail  #: where, and what the words may name

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Slip:
        """A stored slip read back (a gradebook row's JSON); ValueError or KeyError for anything else."""
        detail = data["detail"]
        if not isinstance(detail, dict):
            raise ValueError(f"a slip's detail must be a table, not {detail!r}")
        return cls(str(data["id"]), Operator(str(data["operator"])), Detail.from_dict(detail))


@dataclass
class MutantStats:
    """What `grader expected` spent on the mutants (grader.render.mutant_wording says it)."""

    budget: float  #: the seconds it was allowed
    functions: int = 0  #: graded functions mutated
    ran: int = 0  #: mutants run
    runs: int = 0  #: mutant-case runs (each in its own forked child)
    equivalent: int = 0  #: mutants whose outcome is the reference's on every case (not stored)
    seconds: float = 0.0  #: the seconds spent generating and running them
