"""Words for a mutant of the solution: which slip a student's numbers show, said from its operator
and its detail record (grader.model.mutation), never from the solution's code.

The record names only what may be said: the variable assigned, a short name or string, an axis,
an operator. The right-hand side of the solution's line is never quoted, since it is the answer;
the student's own line is quoted by the feedback, found by comparing the trees (grader.judge.mutants).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from grader.model.mutation import Detail, MutantStats, Site, Slip

LONG_TARGET = 40  #: a longer assigned target is shortened to its first name


NUMBERS = {1: "one", 2: "two", 3: "three"}
OPERATIONS = {
    "+": "an addition",
    "-": "a subtraction",
    "*": "a multiplication",
    "/": "a division",
    "//": "a floor division",
    "@": "a matrix product",
}
REDUCTIONS = {
    "sum": "the sum",
    "mean": "the mean",
    "max": "the maximum",
    "min": "the minimum",
    "prod": "the product",
    "std": "the standard deviation",
    "var": "the variance",
}


def counted(number: int, noun: str, plural: str = "") -> str:
    """'one step', 'two steps', '5 steps'."""
    word = NUMBERS.get(number, str(number))
    return f"{word} {noun if number == 1 else plural or noun + 's'}"


def agree(number: int, singular: str, plural: str) -> str:
    """The verb that agrees with a count: agree(1, 'differs', 'differ')."""
    return singular if number == 1 else plural


def _short_target(target: str) -> str:
    return target if len(target) <= LONG_TARGET else target.split(", ")[0] + ", ..."


def _where(detail: Detail) -> str:
    """' in `Z = ...`', ' in the returned value': the statement by what it assigns, calls or loops
    over, never by its right-hand side."""
    target = _short_target(detail.target)
    if detail.place == "assignment" and target:
        return f" in `{target} = ...`"
    if detail.place == "call" and target:
        return f" in the call to `{target}`"
    if detail.place == "loop" and target:
        return f" in the header of the loop over `{target}`"
    return {"return": " in the returned value", "test": " in a test"}.get(detail.place, "")


def _reduction(subject: str) -> str:
    name = subject.rpartition(".")[2]
    return REDUCTIONS.get(name, f"`{subject}`" if subject else "the reduction")


def _loop(detail: Detail) -> str:
    return f"the range of the loop over `{detail.subject}`" if detail.subject else "a range"


def _range_stop(d: Detail) -> str:
    size = counted(abs(d.delta), "step")
    return f"{_loop(d)} stops {size} early" if d.delta < 0 else f"{_loop(d)} goes {size} too far"


def _range_start(d: Detail) -> str:
    size = counted(abs(d.delta), "step")
    return f"{_loop(d)} starts {size} late" if d.delta > 0 else f"{_loop(d)} starts {size} early"


def _index_shift(d: Detail) -> str:
    size = NUMBERS.get(abs(d.delta), str(abs(d.delta)))
    way = "too high" if d.delta > 0 else "too low"
    if d.role == "key" and d.places > 1:
        return f"the layer number in the keys is {size} {way}"
    if d.role == "key":
        return f'the layer number in a "{d.old}" key of `{d.subject}` is {size} {way}{_where(d)}'
    return f"the index into `{d.subject}` is {size} {way}{_where(d)}"


def _index_swap(d: Detail) -> str:
    return f"`{d.subject}` is read at index {d.new} instead of {d.old}{_where(d)}"


def _axis_swap(d: Detail) -> str:
    return f"{_reduction(d.subject)} runs over axis {d.new} instead of axis {d.old}{_where(d)}"


def _axis_drop(d: Detail) -> str:
    along = f"along axis {d.old}" if d.old else "along one axis"
    return f"{_reduction(d.subject)} runs over every entry instead of {along}{_where(d)}"


def _drop_keepdims(d: Detail) -> str:
    return f"{_reduction(d.subject)} leaves out keepdims, so its result loses a dimension{_where(d)}"


def _transpose_drop(d: Detail) -> str:
    return (f"`{d.old}` is not transposed" if d.old else "a transpose is missing") + _where(d)


def _transpose_add(d: Detail) -> str:
    return (f"`{d.old}` is transposed" if d.old else "an operand is transposed") + " where it should not be" + _where(d)


def _dot_to_mul(d: Detail) -> str:
    return f"an elementwise product (`*`) stands where a matrix product belongs{_where(d)}"


def _mul_to_dot(d: Detail) -> str:
    return f"a matrix product (`np.dot`) stands where an elementwise product (`*`) belongs{_where(d)}"


def _arith_swap(d: Detail) -> str:
    new, old = OPERATIONS.get(d.new, "another operation"), OPERATIONS.get(d.old, "another one")
    return f"{new} stands where {old} belongs{_where(d)}"


def _sign_flip(d: Detail) -> str:
    if d.role == "minus":
        return f"a minus sign is missing{_where(d)}"
    return f"`{_short_target(d.target)}` has the wrong sign" if d.target else "a value has the wrong sign"


def _drop_term(d: Detail) -> str:
    if d.old and d.role == "first":
        return f"the term `{d.old}` is missing{_where(d)}"
    if d.old:
        return f"`{d.old}` is not {'added' if d.op == '+' else 'subtracted'}{_where(d)}"
    return f"a term is missing{_where(d)}"


def _drop_factor(d: Detail) -> str:
    if d.role == "divisor":
        return (f"the division by `{d.old}` is missing" if d.old else "a division is missing") + _where(d)
    return (f"the factor `{d.old}` is missing" if d.old else "a factor is missing") + _where(d)


def _drop_call(d: Detail) -> str:
    return f"`{d.subject}` is not applied{_where(d)}"


def _string_swap(d: Detail) -> str:
    if d.role == "comparison":
        return f'a test compares with "{d.new}" where "{d.old}" belongs'
    if d.role == "key":
        return f'the key "{d.new}" of `{d.subject}` is used where "{d.old}" belongs{_where(d)}'
    into = f" to `{d.subject}`" if d.subject else ""
    return f'"{d.new}" is passed{into} where "{d.old}" belongs{_where(d)}'


def _call_replace(d: Detail) -> str:
    return f"`{d.new}` is called where `{d.old}` belongs{_where(d)}"


def _name_swap(d: Detail) -> str:
    return f"`{d.new}` is read where `{d.old}` belongs{_where(d)}"


def _args_swap(d: Detail) -> str:
    of = f" of `{d.subject}`" if d.subject else ""
    if d.old and d.new:
        return f"the arguments `{d.old}` and `{d.new}`{of} are swapped{_where(d)}"
    return f"two arguments{of} are swapped{_where(d)}"


def _tuple_swap(d: Detail) -> str:
    pair = f"`{d.old}` and `{d.new}`" if d.old and d.new else "two items"
    if d.role == "target":
        unpacked = f"`{d.subject}` is unpacked in the wrong order: " if d.subject else ""
        return f"{unpacked}{pair} are swapped"
    return f"{pair} are in each other's place{_where(d)}"


def _constant_scale(d: Detail) -> str:
    size = "large" if d.op == "10" else "small"
    return f"the number {d.new} is ten times too {size}{_where(d)}"


def _drop_statement(d: Detail) -> str:
    if d.place == "call" and d.target:
        return f"the call to `{d.target}` is missing"
    if d.place == "assignment" and d.target:
        return f"the assignment to `{_short_target(d.target)}` is missing"
    return "a statement is missing"


def _calls_swap(d: Detail) -> str:
    return f"`{d.old}` and `{d.new}` are called in each other's place"


def _args_exchange(d: Detail) -> str:
    return f"the two calls to `{d.subject}` have each other's arguments{_where(d)}"


WORDS: dict[str, Callable[[Detail], str]] = {
    "range-start": _range_start,
    "range-stop": _range_stop,
    "index-shift": _index_shift,
    "index-swap": _index_swap,
    "axis-swap": _axis_swap,
    "axis-drop": _axis_drop,
    "drop-keepdims": _drop_keepdims,
    "transpose-drop": _transpose_drop,
    "transpose-add": _transpose_add,
    "dot-to-mul": _dot_to_mul,
    "mul-to-dot": _mul_to_dot,
    "arith-swap": _arith_swap,
    "sign-flip": _sign_flip,
    "drop-term": _drop_term,
    "drop-factor": _drop_factor,
    "drop-call": _drop_call,
    "string-swap": _string_swap,
    "call-replace": _call_replace,
    "name-swap": _name_swap,
    "args-swap": _args_swap,
    "tuple-swap": _tuple_swap,
    "constant-scale": _constant_scale,
    "drop-statement": _drop_statement,
    "calls-swap": _calls_swap,
    "args-exchange": _args_exchange,
}
PAIRED = {"calls-swap", "args-exchange"}  #: their words say both places already


def _everywhere(mutant: Slip) -> str:
    """A one-point change made wherever the part is written: said without one place's statement."""
    alone = replace(mutant.detail, place=Site.OTHER, target="")
    said = WORDS[str(mutant.operator)](alone)
    return f"{said}, in each of the {counted(mutant.detail.places, 'place')} where it is written"


def describe(mutant: Slip) -> str:
    """The slip a mutant stands for, in words made from its operator and detail."""
    words = WORDS.get(str(mutant.operator))
    if words is None:
        return "one small change to the computation"
    if mutant.detail.places > 1 and str(mutant.operator) not in PAIRED:
        return _everywhere(mutant)
    return words(mutant.detail)


def describe_class(mutants: Sequence[Slip]) -> str:
    """The words for a class of mutants with the same outcomes on every case: one slip, or the
    distinct slips that all give these numbers."""
    said = list(dict.fromkeys(describe(m) for m in mutants))
    if len(said) == 1:
        return said[0]
    listed = "; ".join(said[:-1]) + f"; or {said[-1]}"
    return f"{counted(len(said), 'slip')} {agree(len(said), 'gives', 'give')} exactly these numbers: {listed}"


def mutants_text(stats: MutantStats) -> str:
    """What `grader expected` spent on the mutants, in one line."""
    return (
        f"mutants: {stats.ran} mutants of {stats.functions} functions run on their cases ({stats.runs} runs, "
        f"{stats.equivalent} equivalent to the solution) in {stats.seconds:.1f} s (budget {stats.budget:g} s)"
    )


def mutant_texts(slip: Slip, function: str) -> tuple[str, str, str]:
    """A mutant diagnosis' title, explanation and fix: the slip said from its operator and place."""
    said = describe(slip)
    where = f"`{function}`" if function else "the function"
    return (
        said,
        f"On every case it ran, {where} gives exactly the numbers of the solution with one slip: {said}. "
        "Look at that part of your code.",
        "",
    )
