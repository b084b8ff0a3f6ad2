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

from grader.untrusted import KernelResult

COST_LINE = re.compile(r"^Cost after iteration (\d+): (\S+)\s*$")
# Type names a hidden case's report may show: Python's own (builtins) and numpy's.
KNOWN_TYPES = frozenset(name for name, value in {**vars(builtins), **vars(np)}.items() if isinstance(value, type)) | {
    "NoneType", "LinAlgError", "AxisError", "function", "generator", "module"}


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


def _stdout_difference(expected: list[str], actual: str, rtol: float, public: bool) -> str | None:
    lines = [line for line in actual.splitlines() if line.strip()]
    if len(lines) != len(expected):
        shown = f": {lines[:3]}" if public else ""
        return f"printed {len(lines)} lines, expected {len(expected)}{shown}"
    for number, (got, want) in enumerate(zip(lines, expected, strict=True), start=1):
        g, w = COST_LINE.match(got), COST_LINE.match(want)
        if w and g and g.group(1) == w.group(1):
            try:
                if np.isclose(float(g.group(2)), float(w.group(2)), rtol=rtol):
                    continue
            except ValueError:
                pass
        if got.strip() != want.strip():
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
        problem = _stdout_difference(expected.get("stdout", []), meta.stdout, rtol, public)
        if problem:
            out.add("stdout", problem)
    if "inputs_unchanged" in compared:
        for name, before in expected.get("inputs", {}).items():
            after = result.arrays.get("input:" + name)
            if after is None or after.shape != before.shape or not np.array_equal(after, before):
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
