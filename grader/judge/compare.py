"""Judging one case outside the kernel: the kernel's plain arrays against the expected values.

Messages name the quantity that differs and how. For a public case they show the expected and
the returned numbers; for a hidden case they never show an expected value, only where and how
far the answer is off.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field

import numpy as np

from grader.kernel.untrusted import KernelResult

COST_LINE = re.compile(r"^Cost after iteration (\d+): (\S+)\s*$")
# Type names a hidden case's report may show: Python's own (builtins) and numpy's.
KNOWN_TYPES = frozenset(name for name, value in {**vars(builtins), **vars(np)}.items() if isinstance(value, type)) | {
    "NoneType", "LinAlgError", "AxisError", "function", "generator", "module"}
# A number inside printed text: an integer, a decimal or scientific float, nan or inf. Letters or
# digits glued to it (W1, 2nd) keep it from being read as a float, so names stay text.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf)(?!\w)(?!\.\d)")


@dataclass(frozen=True)
class SplitLine:
    """A printed line as its words and the numbers between them, so numbers compare as numbers."""

    text: tuple[str, ...]  # the pieces around the numbers (one more than there are numbers)
    numbers: tuple[str, ...]  # each number as printed


def split_numbers(line: str) -> SplitLine:
    """Split a line into its text and its numbers (surrounding blanks ignored)."""
    line = line.strip()
    return SplitLine(tuple(NUMBER.split(line)), tuple(NUMBER.findall(line)))


def _is_integer(token: str) -> bool:
    return token.lstrip("+-").isdigit()


def line_deviation(a: str, b: str, rtol: float, atol: float) -> float | None:
    """How far apart two printed lines are, as a fraction of the tolerance (<= 1: the same line).

    None when they differ in their words, in an integer (an iteration, a count, a shape) or in
    how many numbers they hold; floats count by their relative distance, as np.isclose does.
    """
    x, y = split_numbers(a), split_numbers(b)
    if x.text != y.text or len(x.numbers) != len(y.numbers):
        return None
    worst = 0.0
    for p, q in zip(x.numbers, y.numbers, strict=True):
        if _is_integer(p) and _is_integer(q):
            if int(p) != int(q):
                return None
            continue
        worst = max(worst, number_deviation(float(p), float(q), rtol, atol))
    return worst


def number_deviation(got: float, want: float, rtol: float, atol: float) -> float:
    """|got - want| over np.isclose's allowance (atol + rtol * |want|): at most 1 when close."""
    if np.isnan(got) or np.isnan(want):
        return 0.0 if np.isnan(got) and np.isnan(want) else np.inf
    if np.isinf(got) or np.isinf(want):
        return 0.0 if got == want else np.inf
    allowance = atol + rtol * abs(want)
    difference = abs(got - want)
    return difference / allowance if allowance > 0 else (0.0 if difference == 0 else np.inf)


def same_line(got: str, want: str, rtol: float, atol: float) -> bool:
    """The same printed line, its floats compared within the tolerance, everything else exactly."""
    deviation = line_deviation(got, want, rtol, atol)
    return deviation is not None and deviation <= 1.0


@dataclass
class Comparison:
    messages: list[str] = field(default_factory=list)
    # The first quantity found to differ, in the order a training loop produces them:
    # "error", "returned", "cost0", "costs_length", "costs", "parameters:<key>", "stdout", "inputs".
    first_difference: str | None = None

    @property
    def passed(self) -> bool:
        return not self.messages

    def add(self, kind: str, message: str) -> None:
        if self.first_difference is None:
            self.first_difference = kind
        self.messages.append(message)


def _fmt(value: float) -> str:
    return f"{value:.10g}"


def _array_difference(name: str, expected: np.ndarray, actual: np.ndarray, rtol: float, atol: float,
                      public: bool) -> str | None:
    if actual.shape != expected.shape:
        return f"{name} has shape {actual.shape}, expected {expected.shape}"
    with np.errstate(invalid="ignore"):
        close = np.isclose(actual, expected, rtol=rtol, atol=atol)
    if close.all():
        return None
    where = tuple(int(i) for i in np.argwhere(~close)[0])
    count = int((~close).sum())
    spread = f"{count} of {close.size} entries differ" if close.size > 1 else "it differs"
    if not np.all(np.isfinite(actual)):
        return f"{name} contains nan or inf values ({spread})"
    if public:
        return (f"{name} differs: expected {_fmt(expected[where])}, got {_fmt(actual[where])} "
                f"at {list(where)} ({spread})")
    scale = np.maximum(np.abs(expected), atol)
    worst = float(np.max(np.abs(actual - expected) / scale))
    return f"{name} differs from the reference ({spread}, first at {list(where)}, relative error up to {worst:.2g})"


def _stdout_difference(expected: list[str], actual: str, rtol: float, atol: float, public: bool) -> str | None:
    lines = [line for line in actual.splitlines() if line.strip()]
    if len(lines) != len(expected):
        shown = f": {lines[:3]}" if public else ""
        return f"printed {len(lines)} lines, expected {len(expected)}{shown}"
    for number, (got, want) in enumerate(zip(lines, expected, strict=True), start=1):
        if not same_line(got, want, rtol, atol):
            return (f"printed {got!r} where {want!r} was expected" if public
                    else f"printed line {number} is not the reference's")  # what it printed may echo the inputs
    return None


def shown_type(name: str | None, public: bool) -> str:
    """A type's name as a report may show it: on a hidden case, only the names of Python's and
    numpy's own types, since the code can give a class it makes any name (a hidden input, say)."""
    if public or name is None or name in KNOWN_TYPES:
        return str(name)
    return "an object of a class defined in the code"


def _raised_message(error, public: bool) -> str:
    """What an exception is reported as. On a hidden case its message is never shown (it could
    repeat the hidden inputs), only its type and the line of the cell it was raised at."""
    if public:
        return f"raised {error.type}: {error.message}".rstrip(": ")
    kind = error.type if error.type in KNOWN_TYPES else "an exception of a class defined in the code"
    where = f" at line {error.line} of the function's cell" if error.line else ""
    return f"raised {kind}{where} (on a hidden case the exception's message is not shown)"


def input_changed(after: np.ndarray | None, before: np.ndarray, rtol: float, atol: float) -> bool:
    """Did the call change an input? The stored inputs were built by another NumPy: compare within tolerance."""
    if after is None or after.shape != before.shape:
        return True
    with np.errstate(invalid="ignore"):
        return not bool(np.all(np.isclose(after, before, rtol=rtol, atol=atol, equal_nan=True)))


def compare(case: dict, expected: dict, result: KernelResult, rtol: float, atol: float) -> Comparison:
    """Compare a kernel result with the expected values of one case."""
    public = case["visibility"] == "visible"
    meta = result.meta
    out = Comparison()
    if meta.error is not None:
        out.add("error", _raised_message(meta.error, public))
        return out
    if meta.returned != "tuple" or meta.length != 2:
        extra = f" of {meta.length} items" if meta.returned == "tuple" else ""
        out.add("returned", f"returned a {shown_type(meta.returned, public)}{extra}; expected a tuple "
                            "(parameters, costs)")
        return out

    compared = case["compare"]
    if "costs" in compared:
        _compare_costs(out, expected["costs"], result, meta, rtol, atol, public)
    if "parameters" in compared:
        _compare_parameters(out, expected["parameters"], result, meta, rtol, atol, public)
    if "stdout" in compared:
        problem = _stdout_difference(expected.get("stdout", []), meta.stdout, rtol, atol, public)
        if problem:
            out.add("stdout", problem)
    if "inputs_unchanged" in compared:
        for name, before in expected.get("inputs", {}).items():
            if input_changed(result.arrays.get("input:" + name), before, rtol, atol):
                out.add("inputs", f"the input {name} was modified by the function; work on a copy instead")
    return out


def _compare_costs(out, expected_costs, result, meta, rtol, atol, public):
    if meta.costs_type not in ("list", "tuple"):
        out.add("costs_length", f"costs is a {shown_type(meta.costs_type, public)}, expected a list")
        return
    if meta.costs_problem:
        out.add("costs", f"costs holds {meta.costs_problem}" if public
                else "costs holds an entry that cannot be read as one number")
        return
    costs = result.arrays.get("costs", np.zeros(0))
    expected_costs = np.asarray(expected_costs, dtype=np.float64)
    if len(costs) and len(expected_costs):
        problem = _array_difference("the cost at iteration 0", expected_costs[:1], costs[:1], rtol, atol, public)
        if problem:
            out.add("cost0", problem)
    if costs.shape != expected_costs.shape:
        out.add("costs_length", f"costs has {len(costs)} entries, expected {len(expected_costs)}")
        return
    if out.first_difference != "cost0":  # positions and counts refer to the whole list
        problem = _array_difference("costs", expected_costs, costs, rtol, atol, public)
        if problem:
            out.add("costs", problem)


def _compare_parameters(out, expected_parameters, result, meta, rtol, atol, public):
    if meta.parameters_type != "dict":
        out.add("parameters:type", f"parameters is a {shown_type(meta.parameters_type, public)}, expected a dict")
        return
    problems = meta.parameter_problems
    for key, want in expected_parameters.items():
        got = result.arrays.get("parameter:" + key)
        if key in problems:
            out.add(f"parameters:{key}", f"{key} is {problems[key]}" if public
                    else f"{key} cannot be read as an array of numbers")
        elif got is None:
            out.add(f"parameters:{key}", f"parameters has no {key}")
        else:
            problem = _array_difference(key, want, got, rtol, atol, public)
            if problem:
                out.add(f"parameters:{key}", problem)
