"""The value tree: what a graded function returned (or the reference did), as typed records; and the
tolerance two numbers are compared within."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """How far apart two numbers may be and still be the same: np.isclose's rtol and atol."""

    rtol: float = 1e-6
    atol: float = 1e-9
    # When true, a one-value array does not stand for a number: shape (1, 1) is not shape ().
    exact_shapes: bool = False


@dataclass(frozen=True)
class Seq:
    """A tuple or list: its length, and its items (fewer than `length` when the harness cut it)."""

    kind: str  #: "tuple" or "list"
    length: int  #: the real length
    items: tuple[Node, ...]  #: the items sent


@dataclass(frozen=True)
class Mapping:
    """A dict with string keys, in the order the function built it."""

    keys: tuple[str, ...]  #: the keys sent (at most MAX_KEYS)
    items: tuple[Node, ...]  #: one node per key


@dataclass(frozen=True, eq=False)
class Array:
    """A numpy array (its values as float64) and the dtype it had."""

    values: np.ndarray  #: the values, float64, shape kept
    dtype: str  #: the original dtype's name


@dataclass(frozen=True)
class Number:
    """A Python or numpy number (ints and floats alike), as a float."""

    value: float  #: the number
    type: str  #: the original type's name (int, float, float64, ...)


@dataclass(frozen=True)
class Atom:
    """A bool, None or a text: compared exactly."""

    kind: str  #: "bool", "none" or "str"
    value: bool | str | None  #: the value (a text cut to MAX_STRING)
    length: int = 0  #: a text's real length


@dataclass(frozen=True)
class Opaque:
    """Something that cannot travel as data (a set, an object, a function), or was cut."""

    type: str  #: its type's name ("cut" when the harness left it out)
    why: str  #: why it was not sent


Node = Seq | Mapping | Array | Number | Atom | Opaque


def python_value(node: Node | None) -> object:
    """A record tree as plain Python again (tuples, lists, dicts, arrays, floats, bools, None, texts)."""
    if isinstance(node, Seq):
        items = [python_value(item) for item in node.items]
        return tuple(items) if node.kind == "tuple" else items
    if isinstance(node, Mapping):
        return {key: python_value(item) for key, item in zip(node.keys, node.items, strict=True)}
    if isinstance(node, Array):
        return node.values
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Atom):
        return node.value
    return None
