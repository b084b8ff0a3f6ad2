"""Judging one case outside the kernel: the returned value's records against the expected ones.

Structure first (types, lengths, keys, shapes), then numbers within the tolerance, then bools,
None and texts exactly; printed lines line by line (numbers within the tolerance, words exactly);
arguments after the call against the same arguments before it. Every difference is a typed
`Difference` record; the sentences are made from them at the edge (grader.render.wording).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from grader.kernel.untrusted import Array, Atom, KernelResult, Mapping, Node, Number, Opaque, Seq
from grader.model import Case, Difference, Expected, Kind, Step, Tolerance

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


MAX_DIFFERENCES = 20  # per case: a report stays readable (and bounded) whatever came back


@dataclass
class Comparison:
    """The differences found on one case, in the order found."""

    differences: list[Difference] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.differences

    @property
    def first(self) -> Difference | None:
        return self.differences[0] if self.differences else None


def input_changed(after: np.ndarray | None, before: np.ndarray, rtol: float, atol: float) -> bool:
    """Did the call change an input? The stored inputs were built by another NumPy: compare within tolerance."""
    if after is None or after.shape != before.shape:
        return True
    with np.errstate(invalid="ignore"):
        return not bool(np.all(np.isclose(after, before, rtol=rtol, atol=atol, equal_nan=True)))


def kind_of(node: Node | None) -> str:
    """A node's kind as the messages name it."""
    if isinstance(node, Seq):
        return node.kind
    if isinstance(node, Mapping):
        return "dict"
    if isinstance(node, Array):
        return "numpy array"
    if isinstance(node, Number):
        return "number"
    if isinstance(node, Atom):
        return {"bool": "bool", "none": "None", "str": "str"}[node.kind]
    if isinstance(node, Opaque):
        return node.type
    return "nothing"


def _numbers(want: Node | None, got: Node | None, exact_shapes: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """Both sides as arrays when they compare as numbers: a number and a one-value array alike,
    unless shapes must be exact (then a (1, 1) array where a number belongs differs in shape)."""
    if isinstance(want, Number) and isinstance(got, Number):
        return np.array(want.value), np.array(got.value)
    if isinstance(want, Number) and isinstance(got, Array) and got.values.size == 1:
        return np.array(want.value), (got.values if exact_shapes else np.array(got.values.ravel()[0]))
    if isinstance(want, Array) and isinstance(got, Number):  # a number is an array of shape ()
        return want.values, np.array(got.value)
    if isinstance(want, Array) and isinstance(got, Array):
        return want.values, got.values
    if isinstance(want, Array) and isinstance(got, Seq):  # nested lists of numbers read as the array they form
        values = _seq_array(got)
        return None if values is None else (want.values, values)
    return None


def _seq_array(node: Node) -> np.ndarray | None:
    """Nested lists of numbers as one array (None when they are not rectangular numbers)."""

    def plain(item: Node) -> object:
        if isinstance(item, Number):
            return item.value
        if isinstance(item, Seq) and len(item.items) == item.length:
            return [plain(x) for x in item.items]
        raise ValueError

    try:
        values = np.array(plain(node), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return values


def _array_difference(path: tuple[Step, ...], want: np.ndarray, got: np.ndarray, tol: Tolerance) -> Difference | None:
    if got.shape != want.shape:
        return Difference(Kind.SHAPE, path, tuple(want.shape), tuple(got.shape))
    with np.errstate(invalid="ignore"):
        close = np.isclose(got, want, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
    if close.all():
        return None
    where = tuple(int(i) for i in np.argwhere(~close)[0]) if close.ndim else ()
    count = int((~close).sum())
    with np.errstate(all="ignore"):
        scale = np.maximum(np.abs(want), tol.atol)
        relative = np.where(close, 0.0, np.abs(got - want) / scale)
    worst = float("nan") if np.isnan(relative).all() else float(np.nanmax(relative))  # all NaN: nothing to rank
    kind = Kind.VALUES if np.all(np.isfinite(got)) else Kind.NOT_FINITE
    return Difference(
        kind,
        path,
        float(want[where]),
        float(got[where]),
        at=where if close.ndim else None,
        count=count,
        total=int(close.size),
        relative=worst,
    )


def compare_nodes(want: Node | None, got: Node | None, path: tuple[Step, ...], tol: Tolerance) -> list[Difference]:
    """Every difference between the reference's value and the answer's, structure before numbers (a
    missing value, None, differs in type from anything)."""
    if isinstance(got, Opaque) and got.type == "cut":
        return [Difference(Kind.CUT, path, kind_of(want), got.why)]  # got.why is the harness's: shown if public
    pair = _numbers(want, got, tol.exact_shapes)
    if pair is not None:
        difference = _array_difference(path, pair[0], pair[1], tol)
        return [difference] if difference else []
    if isinstance(want, Seq) and isinstance(got, Seq):
        if want.kind != got.kind and not path:
            return [Difference(Kind.TYPE, path, want.kind, got.kind)]
        if want.length != got.length:
            return [Difference(Kind.LENGTH, path, want.length, got.length, what=got.kind)]
        return _merged(
            [
                d
                for index, (w, g) in enumerate(zip(want.items, got.items, strict=False))
                for d in compare_nodes(w, g, (*path, index), tol)
            ],
            len(want.items),
        )
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        found = [Difference(Kind.MISSING_KEY, path, key, None, what="dict") for key in want.keys if key not in got.keys]
        extra = [key for key in got.keys if key not in want.keys]
        if extra:  # said once: a dict can hold thousands
            found.append(Difference(Kind.EXTRA_KEY, path, None, extra[0], what="dict", count=len(extra)))
        items = dict(zip(got.keys, got.items, strict=True))
        for key, item in zip(want.keys, want.items, strict=True):
            if key in items:
                found += compare_nodes(item, items[key], (*path, key), tol)
        return found
    if isinstance(want, Atom) and isinstance(got, Atom) and want.kind == got.kind:
        same = want.value == got.value and want.length == got.length
        return [] if same else [Difference(Kind.EXACT, path, want.value, got.value, what=want.kind)]
    return [Difference(Kind.TYPE, path, kind_of(want), kind_of(got))]


def _merged(found: list[Difference], total: int) -> list[Difference]:
    """Differing numbers of one list said once: the first, with how many of the list's numbers differ."""
    numbers = [d for d in found if d.kind in (Kind.VALUES, Kind.NOT_FINITE) and d.at is None and d.total == 1]
    if not numbers:
        return found
    first = numbers[0]
    merged = Difference(
        first.kind,
        first.path,
        first.expected,
        first.got,
        count=len(numbers),
        total=total,
        relative=max((d.relative or 0.0) for d in numbers),
    )
    return [merged if d is first else d for d in found if d is first or d not in numbers]


def printed_differences(expected: list[str], printed: str, tol: Tolerance) -> list[Difference]:
    """Printed output, line by line: numbers within the tolerance, the rest of each line exactly."""
    lines = [line for line in printed.splitlines() if line.strip()]
    wanted = [line for line in expected if line.strip()]
    if len(lines) != len(wanted):
        return [Difference(Kind.PRINTED_LENGTH, (), len(wanted), len(lines), at=None, what="\n".join(lines[:3]))]
    for number, (got, want) in enumerate(zip(lines, wanted, strict=True), start=1):
        if not same_line(got, want, tol.rtol, tol.atol):
            return [Difference(Kind.PRINTED, (), want, got, line=number)]
    return []


def input_differences(before: Node | None, after: Node | None, tol: Tolerance) -> list[Difference]:
    """Each argument that came back changed, by name (whatever its name)."""
    if not isinstance(before, Mapping):
        return []
    returned = dict(zip(after.keys, after.items, strict=True)) if isinstance(after, Mapping) else {}
    found = []
    for name, value in zip(before.keys, before.items, strict=True):
        if name not in returned or compare_nodes(value, returned[name], (name,), tol):
            found.append(Difference(Kind.INPUT_CHANGED, (name,)))
    return found


def part_of(value: Node | None, index: int | None) -> Node | None:
    """The returned value's part `index` (None: the whole value)."""
    if index is None:
        return value
    return value.items[index] if isinstance(value, Seq) and index < len(value.items) else None


def compare(
    case: Case, expected: Expected, result: KernelResult, tol: Tolerance, returns: tuple[str, ...] = ()
) -> Comparison:
    """Compare a kernel result with the expected values of one case.

    `case.compare` lists what is compared, in order: "returned" (the whole value), names from the
    manifest's `returns` (one part of a returned tuple each), "stdout", "inputs_unchanged".
    """
    out = Comparison()
    meta = result.meta
    if meta.error is not None:
        out.differences.append(
            Difference(Kind.RAISED, (), None, meta.error.message, what=meta.error.type, line=meta.error.line)
        )
        return out
    want = expected.returned
    for item in case.compare:
        if item == "stdout":
            out.differences += printed_differences(list(expected.stdout), meta.stdout, tol)
        elif item == "inputs_unchanged":
            out.differences += input_differences(expected.arguments, result.inputs, tol)
        elif item == "returned" or item in returns:
            index = None if item == "returned" else returns.index(item)
            if index is not None and _root_differs(out, want, result.returned):
                return out
            out.differences += compare_nodes(
                part_of(want, index), part_of(result.returned, index), () if index is None else (index,), tol
            )
    del out.differences[MAX_DIFFERENCES:]
    return out


def _root_differs(out: Comparison, want: Node | None, got: Node | None) -> bool:
    """The returned tuple itself is wrong (not a tuple, or of another length): said once, nothing else compared."""
    if out.differences and out.differences[0].path == () and out.differences[0].kind in (Kind.TYPE, Kind.LENGTH):
        return True
    found = []
    if not isinstance(got, Seq) or got.kind != getattr(want, "kind", None):
        found = [Difference(Kind.TYPE, (), kind_of(want), kind_of(got), what=str(getattr(got, "length", "")))]
    elif isinstance(want, Seq) and got.length != want.length:  # a Seq: its kind is got's
        found = [Difference(Kind.LENGTH, (), want.length, got.length, what="tuple")]
    out.differences[:0] = found
    return bool(found)
