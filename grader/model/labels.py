"""A manifest label's placeholders: small arithmetic on a path's indices, parsed safely (never eval).

In `labels = { "caches[*][0][1]" = "the W of layer {1+1}" }` a placeholder's FIRST number names a
`*` of the template (1 for the first), and every other number is a constant: `{1}` is the first
`*`'s index, `{1+1}` that plus one, `{2-1}` the second's minus one, `{1*2+1}`. Only + - * of whole
numbers (and parentheses) are allowed. The manifest refuses a label it cannot evaluate when it loads
(`template_problem`); grader.render fills the placeholders in (`fill`).
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

# A placeholder: braces holding a digit and no letter (a `{name}` or `{a: 1}` in a label is text).
_NOT = r"[^{}A-Za-z_:,'\"]"
PLACEHOLDER = re.compile(rf"\{{({_NOT}*\d{_NOT}*)\}}")
_OPERATORS: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
MAX_EXPRESSION = 40  # characters: a label's arithmetic is small


class LabelError(ValueError):
    """A placeholder the grader cannot evaluate (its text says why)."""


def _parsed(expression: str) -> ast.expr:
    if len(expression) > MAX_EXPRESSION:
        raise LabelError(f"{{{expression}}} is longer than {MAX_EXPRESSION} characters")
    try:
        return ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise LabelError(f"{{{expression}}} is not arithmetic on the indices (+ - * of whole numbers)") from None


def _leftmost(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.BinOp):
        node = node.left
    return node


def _value(node: ast.expr, reference: ast.expr, indices: tuple[int, ...], text: str) -> int:
    """The placeholder's value: `reference` (its first number) stands for that `*`'s index."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left = _value(node.left, reference, indices, text)
        right = _value(node.right, reference, indices, text)
        return int(_OPERATORS[type(node.op)](left, right))
    if not (isinstance(node, ast.Constant) and type(node.value) is int):
        raise LabelError(f"{{{text}}} may hold only whole numbers joined by + - * (the first names a `*`)")
    if node is not reference:
        return int(node.value)
    if not 1 <= node.value <= len(indices):
        count = f"{len(indices)} `*`" if indices else "no `*`"
        raise LabelError(f"{{{text}}} names `*` number {node.value}, but the path template has {count}")
    return indices[node.value - 1]


def evaluate(expression: str, indices: tuple[int, ...]) -> int:
    """One placeholder's value for a path's indices (the `*`s' values, in order)."""
    tree = _parsed(expression)
    return _value(tree, _leftmost(tree), indices, expression)


def fill(label: str, indices: tuple[int, ...]) -> str:
    """The label with each placeholder replaced by its value."""
    return PLACEHOLDER.sub(lambda match: str(evaluate(match.group(1), indices)), label)


def template_problem(template: str, label: str) -> str | None:
    """Why a label cannot be filled for its path template (None when it can): tried on indices 0, 1, ..."""
    stars = template.count("*")
    try:
        fill(label, tuple(range(stars)))
    except LabelError as error:
        return str(error)
    return None
