"""A kernel's answer in the form the expected-values files store: the harness's structure and leaves.

The solution notebook runs in the sandbox kernel like a student's, and its answers come back as
typed records (grader.kernel.untrusted read them, never unpickling anything). `grader expected`
stores them exactly as it stores a reference module's return value, flattened by the harness
(grader.kernel.harness): this module writes a record tree back as that description. It is the
inverse of untrusted.parse_node: a list of numbers goes back into one packed leaf, as the harness
packs it, so that a value stored from the kernel and one flattened from the same Python value agree.
"""

from __future__ import annotations

import numpy as np

from grader.model import Array, Atom, Mapping, Node, Number, Opaque, Seq


class _Writer:
    """One description's leaves, numbered in the order the harness numbers them (depth first)."""

    def __init__(self) -> None:
        self.leaves: list[np.ndarray] = []

    def leaf(self, values: np.ndarray) -> int:
        self.leaves.append(np.array(values, dtype=np.float64, copy=True))
        return len(self.leaves) - 1

    def node(self, node: Node) -> dict:
        if isinstance(node, Seq):
            return self.sequence(node)
        if isinstance(node, Mapping):
            return {"kind": "dict", "keys": list(node.keys), "items": [self.node(item) for item in node.items]}
        if isinstance(node, Array):
            return {"kind": "array", "leaf": self.leaf(node.values), "dtype": node.dtype}
        if isinstance(node, Number):
            return {"kind": "number", "leaf": self.leaf(np.array(node.value)), "type": node.type}
        if isinstance(node, Atom):
            return _atom(node)
        if node.type == "cut":
            return {"kind": "cut", "why": node.why}
        return {"kind": "other", "type": node.type, "why": node.why}

    def sequence(self, node: Seq) -> dict:
        """Numbers only, all sent: one packed leaf, as the harness sends them."""
        packed = node.items and len(node.items) == node.length and all(isinstance(i, Number) for i in node.items)
        if packed:
            values = np.array([item.value for item in node.items if isinstance(item, Number)], dtype=np.float64)
            return {"kind": node.kind, "length": node.length, "numbers": self.leaf(values)}
        return {"kind": node.kind, "length": node.length, "items": [self.node(item) for item in node.items]}


def _atom(node: Atom) -> dict:
    if node.kind == "bool":
        return {"kind": "bool", "value": bool(node.value)}
    if node.kind == "none":
        return {"kind": "none"}
    return {"kind": "str", "value": node.value, "length": node.length}


def stored_form(node: Node) -> tuple[dict, list[np.ndarray]]:
    """(structure, leaves) of a record tree, as the harness's __grader_flatten__ gives them."""
    writer = _Writer()
    return writer.node(node), writer.leaves


def plain_node(node: Node | None) -> object:
    """A record tree as plain JSON data, the public tests' "expected" values: numbers whose type was an
    integer stay integers, arrays become nested lists."""
    if isinstance(node, Seq):
        return [plain_node(item) for item in node.items]
    if isinstance(node, Mapping):
        return {key: plain_node(item) for key, item in zip(node.keys, node.items, strict=True)}
    if isinstance(node, Array):
        if node.dtype == "bool":
            return node.values.astype(bool).tolist()
        return node.values.astype(np.int64).tolist() if node.dtype.startswith(("int", "uint")) else node.values.tolist()
    if isinstance(node, Number):
        return int(node.value) if "int" in node.type and float(node.value).is_integer() else node.value
    if isinstance(node, Atom):
        return node.value
    if isinstance(node, Opaque):
        return None
    return None
