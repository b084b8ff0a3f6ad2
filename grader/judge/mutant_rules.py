# The rules read ast nodes whose kind a helper predicate (called, int_constant, numpy_call) has
# checked, which mypy cannot follow: these codes are off for this module only.
# mypy: disable-error-code="attr-defined,union-attr,arg-type,operator,return-value"
"""The mutation operators' rules: each one, given a node of the graded function, yields the one-point
changes its operator makes there (the node's replacement, or None to leave the statement out) and
the detail its words need. `RULES` lists them; `related` says which names a student may confuse.

grader.judge.mutants applies them to every node and keeps the variants that compile.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from decimal import Decimal

from grader.judge.mutant_tree import (
    Tree,
    called,
    in_index,
    int_constant,
    key_container,
    numpy_call,
    short,
    string_role,
)
from grader.model.mutation import Detail, Operator, Role

DELTAS = (-1, 1, -2, 2)
REDUCERS = {"sum", "mean", "max", "min", "prod", "std", "var", "argmax", "argmin", "average", "median"}
CREATORS = {
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "linspace",
    "eye",
    "identity",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
}
Candidate = tuple[Operator, ast.AST | None, Detail]


def _shifted(expr: ast.expr, delta: int) -> ast.expr:
    """expr + delta, written as a student would: l - 1 + 1 is l, L - 1 - 1 is L - 2."""
    if int_constant(expr) is not None:
        return ast.Constant(expr.value + delta)
    base, offset = expr, delta
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)) and int_constant(expr.right) is not None:
        base = expr.left
        offset = (expr.right.value if isinstance(expr.op, ast.Add) else -expr.right.value) + delta
    if offset == 0:
        return base
    return ast.BinOp(base, ast.Add() if offset > 0 else ast.Sub(), ast.Constant(abs(offset)))


def _scaled(value: int | float, factor: str) -> int | float:
    exact = Decimal(repr(value)) * Decimal(factor)
    return int(exact) if isinstance(value, int) and factor == "10" else float(exact)


# --- the rules: each yields (operator, the node's replacement or None to drop it, detail) -----------


def _range_bounds(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """RANGE_STOP and RANGE_START: the loop that runs one or two steps short, long, early or late."""
    if called(node) != "range" or not 1 <= len(node.args) <= 2 or node.keywords:
        return
    start, stop = (ast.Constant(0), node.args[0]) if len(node.args) == 1 else node.args
    loop = _loop_variable(tree, node)

    def call(first: ast.expr, last: ast.expr) -> ast.Call:
        arguments = [last] if int_constant(first) == 0 else [first, last]
        return ast.Call(ast.Name("range", ast.Load()), arguments, [])

    for delta in DELTAS:
        yield Operator.RANGE_STOP, call(start, _shifted(stop, delta)), Detail(subject=loop, delta=delta)
    for delta in DELTAS:
        first = _shifted(start, delta)
        if int_constant(first) is None or int_constant(first) >= 0:
            yield Operator.RANGE_START, call(first, stop), Detail(subject=loop, delta=delta)


def _loop_variable(tree: Tree, node: ast.AST) -> str:
    """The for loop's variable when `node` is its range (reversed or not), else ""."""
    parent, name, _ = tree.parent(node)
    if called(parent) == "reversed":
        parent, name, _ = tree.parent(parent)
    if isinstance(parent, ast.For) and name == "iter" and isinstance(parent.target, ast.Name):
        return parent.target.id
    return ""


def _indices(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """INDEX_SWAP on a constant index (cache[0]); INDEX_SHIFT on a counted one (caches[l]) or a key's
    layer number ("W" + str(l)): another layer's, or another part's, value read."""
    if not isinstance(node, ast.Subscript):
        return
    container, index = ast.unparse(node.value), node.slice
    if int_constant(index) is not None:
        for other in (index.value - 1, index.value + 1):
            if other >= 0:
                detail = Detail(subject=container, old=str(index.value), new=str(other), role=Role.INDEX)
                yield Operator.INDEX_SWAP, ast.Subscript(node.value, ast.Constant(other), node.ctx), detail
        return
    key = _key_number(index)
    for delta in DELTAS:
        detail = Detail(subject=container, delta=delta)
        if _counter(index, tree):
            yield Operator.INDEX_SHIFT, ast.Subscript(node.value, _shifted(index, delta), node.ctx), detail
        elif key is not None and _counter(key.args[0], tree):
            number = ast.Call(key.func, [_shifted(key.args[0], delta)], [])
            replaced = ast.Subscript(node.value, ast.BinOp(index.left, ast.Add(), number), node.ctx)
            old = index.left.value if isinstance(index.left, ast.Constant) else ""
            yield Operator.INDEX_SHIFT, replaced, Detail(subject=container, old=str(old), delta=delta, role=Role.KEY)


def _key_number(index: ast.expr) -> ast.Call | None:
    """The str(...) of a key "W" + str(l), or None."""
    if (
        isinstance(index, ast.BinOp)
        and isinstance(index.op, ast.Add)
        and isinstance(index.left, ast.Constant)
        and isinstance(index.left.value, str)
        and called(index.right) == "str"
        and len(index.right.args) == 1
    ):
        return index.right
    return None


def _counter(index: ast.expr, tree: Tree) -> bool:
    """An int-valued local, or one plus or minus a constant: l, L - 1, l + 1."""
    if (
        isinstance(index, ast.BinOp)
        and isinstance(index.op, (ast.Add, ast.Sub))
        and int_constant(index.right) is not None
    ):
        index = index.left
    return isinstance(index, ast.Name) and index.id in tree.integers


def _arithmetic(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """ARITH_SWAP, DROP_TERM and DROP_FACTOR on a binary operation outside indices and keys."""
    if not isinstance(node, ast.BinOp) or in_index(tree, node) or _has_text(node):
        return
    swaps = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
    if type(node.op) in swaps:
        other = swaps[type(node.op)]()
        detail = Detail(old=_symbol(node.op), new=_symbol(other))
        yield Operator.ARITH_SWAP, ast.BinOp(node.left, other, node.right), detail
    symbol = _symbol(node.op)
    if isinstance(node.op, (ast.Add, ast.Sub)):
        yield Operator.DROP_TERM, node.left, Detail(old=short(node.right), op=symbol)
        kept = node.right if isinstance(node.op, ast.Add) else ast.UnaryOp(ast.USub(), node.right)
        role = Role.NONE if isinstance(node.op, ast.Add) else Role.FIRST
        yield Operator.DROP_TERM, kept, Detail(old=short(node.left), op=symbol, role=role)
    elif isinstance(node.op, ast.Mult):
        for kept, dropped in ((node.left, node.right), (node.right, node.left)):
            if not isinstance(kept, ast.Constant):
                yield Operator.DROP_FACTOR, kept, Detail(old=short(dropped), op=symbol, role=Role.FACTOR)
    elif isinstance(node.op, (ast.Div, ast.FloorDiv)):
        yield Operator.DROP_FACTOR, node.left, Detail(old=short(node.right), op=symbol, role=Role.DIVISOR)


def _has_text(node: ast.BinOp) -> bool:
    return any(isinstance(side, ast.Constant) and isinstance(side.value, str) for side in (node.left, node.right))


def _symbol(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.MatMult: "@"}.get(
        type(op), "?"
    )


def _axes(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """AXIS_SWAP, AXIS_DROP and DROP_KEEPDIMS on a call's axis= and keepdims=."""
    if not isinstance(node, ast.Call):
        return
    subject = called(node)
    positional = numpy_call(node) in REDUCERS and len(node.args) == 2 and int_constant(node.args[1]) is not None
    axis = node.args[1] if positional else next((k.value for k in node.keywords if k.arg == "axis"), None)
    swapped = {0: 1, 1: 0, -1: -2, -2: -1}
    if axis is not None and int_constant(axis) in swapped:
        new = ast.Constant(swapped[axis.value])
        args = [node.args[0], new] if positional else node.args
        keywords = (
            node.keywords if positional else [ast.keyword("axis", new) if k.arg == "axis" else k for k in node.keywords]
        )
        detail = Detail(subject=subject, old=str(axis.value), new=str(new.value))
        yield Operator.AXIS_SWAP, ast.Call(node.func, args, keywords), detail
    if axis is not None:
        args = node.args[:1] if positional else node.args
        keywords = [k for k in node.keywords if k.arg != "axis"]
        yield Operator.AXIS_DROP, ast.Call(node.func, args, keywords), Detail(subject=subject, old=short(axis))
    if any(k.arg == "keepdims" for k in node.keywords):
        keywords = [k for k in node.keywords if k.arg != "keepdims"]
        yield Operator.DROP_KEEPDIMS, ast.Call(node.func, node.args, keywords), Detail(subject=subject)


def _transposes(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """TRANSPOSE_DROP on any transpose; TRANSPOSE_ADD only on a matrix product's operands, where
    shapes make a transpose a likely slip (elsewhere it would be noise)."""
    inner = None
    if isinstance(node, ast.Attribute) and node.attr == "T":
        inner = node.value
    elif numpy_call(node) == "transpose" and len(node.args) == 1 and not node.keywords:
        inner = node.args[0]
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "transpose"
        and not node.args
        and not node.keywords
    ):
        inner = node.func.value
    if inner is not None:
        yield Operator.TRANSPOSE_DROP, inner, Detail(old=short(inner))
    for operand, rebuild in _product_operands(node):
        if not _transposed(operand) and not isinstance(operand, ast.Constant):
            yield Operator.TRANSPOSE_ADD, rebuild(ast.Attribute(operand, "T", ast.Load())), Detail(old=short(operand))


def _transposed(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "T") or numpy_call(node) == "transpose"


def _product_operands(node: ast.AST) -> list[tuple[ast.expr, object]]:
    """(operand, rebuild(new operand) -> the product with it) for np.dot, np.matmul, @ and x.dot(y)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return [
            (node.left, lambda new: ast.BinOp(new, node.op, node.right)),
            (node.right, lambda new: ast.BinOp(node.left, node.op, new)),
        ]
    if numpy_call(node) in ("dot", "matmul") and len(node.args) == 2 and not node.keywords:
        return [
            (node.args[0], lambda new: ast.Call(node.func, [new, node.args[1]], [])),
            (node.args[1], lambda new: ast.Call(node.func, [node.args[0], new], [])),
        ]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "dot"
        and not numpy_call(node)
        and len(node.args) == 1
    ):
        method = node.func
        return [
            (method.value, lambda new: ast.Call(ast.Attribute(new, "dot", ast.Load()), node.args, [])),
            (node.args[0], lambda new: ast.Call(method, [new], [])),
        ]
    return []


def _products(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """DOT_TO_MUL on a matrix product, MUL_TO_DOT on an elementwise one of two arrays."""
    operands = [operand for operand, _ in _product_operands(node)]
    if operands:
        detail = Detail(old="@" if isinstance(node, ast.BinOp) else called(node), new="*")
        yield Operator.DOT_TO_MUL, ast.BinOp(operands[0], ast.Mult(), operands[1]), detail
    elif (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mult)
        and not in_index(tree, node)
        and not any(_scalar(side) for side in (node.left, node.right))
    ):
        dot = ast.Attribute(ast.Name("np", ast.Load()), "dot", ast.Load())
        yield Operator.MUL_TO_DOT, ast.Call(dot, [node.left, node.right], []), Detail(old="*", new="np.dot")


def _scalar(node: ast.AST) -> bool:
    """A number, or a number divided by something (1 / m): never a matrix."""
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.left, ast.Constant)


def _strings(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """STRING_SWAP: a compared or passed string by another of the function's, a key by another key
    read on the same container."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return
    container = key_container(tree, node)
    role = Role.KEY if container is not None else string_role(tree, node)
    pool = tree.keys.get(container, []) if container is not None else tree.strings
    if role is None or node.value not in pool:
        return
    for other in pool:
        if other != node.value:
            detail = Detail(subject=container or called(tree.parent(node)[0]), old=node.value, new=other, role=role)
            yield Operator.STRING_SWAP, ast.Constant(other), detail


def _calls(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """CALL_REPLACE, DROP_CALL and ARGS_SWAP on one call."""
    if not isinstance(node, ast.Call):
        return
    name = called(node)
    if isinstance(node.func, ast.Name) and name in tree.graded:
        for other, parameters in tree.graded.items():
            if other != name and parameters == tree.graded[name]:
                detail = Detail(subject=name, old=name, new=other)
                yield Operator.CALL_REPLACE, ast.Call(ast.Name(other, ast.Load()), node.args, node.keywords), detail
    unwrappable = (numpy_call(node) and numpy_call(node) not in CREATORS) or name == "reversed"
    if (
        unwrappable
        and len(node.args) == 1
        and not isinstance(node.args[0], (ast.Tuple, ast.List, ast.Constant, ast.Starred))
    ):
        yield Operator.DROP_CALL, node.args[0], Detail(subject=name)
    arguments = node.args
    if any(isinstance(a, ast.Starred) for a in arguments):
        return
    for i in range(len(arguments)):
        for j in range(i + 1, len(arguments)):
            if ast.dump(arguments[i]) != ast.dump(arguments[j]):
                swapped = list(arguments)
                swapped[i], swapped[j] = arguments[j], arguments[i]
                detail = Detail(
                    subject=name, old=short(arguments[i]), new=short(arguments[j]), delta=j - i, role=Role.ARGUMENT
                )
                yield Operator.ARGS_SWAP, ast.Call(node.func, swapped, node.keywords), detail


def _tuples(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """TUPLE_SWAP: a cache built, unpacked or returned with two parts in each other's place."""
    if not isinstance(node, ast.Tuple) or any(isinstance(e, ast.Starred) for e in node.elts):
        return
    role = Role.TARGET if isinstance(node.ctx, ast.Store) else Role.ELEMENT
    parent, _, _ = tree.parent(node)
    unpacked = isinstance(parent, ast.Assign) and role is Role.TARGET and isinstance(parent.value, ast.Name)
    subject = parent.value.id if unpacked else ""
    for i in range(len(node.elts)):
        for j in range(i + 1, len(node.elts)):
            if ast.dump(node.elts[i]) != ast.dump(node.elts[j]):
                items = list(node.elts)
                items[i], items[j] = node.elts[j], node.elts[i]
                detail = Detail(subject=subject, old=short(node.elts[i]), new=short(node.elts[j]), role=role)
                yield Operator.TUPLE_SWAP, ast.Tuple(items, node.ctx), detail


def _names(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """NAME_SWAP: a local read where a related local, bound earlier, belongs."""
    if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in tree.defined_at):
        return
    parent, name, _ = tree.parent(node)
    if isinstance(parent, ast.Call) and name == "func":
        return
    for other, line in tree.defined_at.items():
        if other != node.id and line < node.lineno and related(node.id, other):
            detail = Detail(old=node.id, new=other)
            yield Operator.NAME_SWAP, ast.Name(other, ast.Load()), detail


def _stem(name: str) -> str:
    """A name without what makes a sibling of it: dA_prev, dAL, AL and A share the stem A; caches is cache."""
    stem = name.removesuffix("_prev").rstrip("0123456789")
    if len(stem) > 1 and stem[0] == "d" and (stem[1].isupper() or len(stem) == 2):  # dA, dW, db, dz
        stem = stem[1:]
    if len(stem) > 1 and stem.endswith("L") and stem[-2].isupper():
        stem = stem[:-1]
    return stem[:-1] if len(stem) > 3 and stem.endswith("s") else stem


def related(a: str, b: str) -> bool:
    """Names a student may confuse: l and L, A and A_prev, W and dW, n_x and n_h, cache and linear_cache."""
    if a == b:
        return False
    if a.lower() == b.lower() or _stem(a) == _stem(b):
        return True
    first, second = a.split("_"), b.split("_")
    if len(first) > 1 and len(second) > 1 and first[0] == second[0]:
        return True
    return len(_stem(first[-1])) >= 3 and _stem(first[-1]) == _stem(second[-1])


def _constants(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """CONSTANT_SCALE on numbers outside indices and keywords (those are shifts and axes)."""
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value != 0):
        return
    parent, _, _ = tree.parent(node)
    if in_index(tree, node) or isinstance(parent, ast.keyword):
        return
    for factor in ("10", "0.1"):
        new = _scaled(node.value, factor)
        detail = Detail(old=repr(node.value), new=repr(new), op=factor)
        yield Operator.CONSTANT_SCALE, ast.Constant(new), detail


def _statements(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        yield Operator.DROP_STATEMENT, None, Detail()
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield Operator.DROP_STATEMENT, None, Detail()


def _signs(node: ast.AST, tree: Tree) -> Iterator[Candidate]:
    """SIGN_FLIP: a unary minus dropped; an assigned value (arithmetic or a numpy call) negated."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
        yield Operator.SIGN_FLIP, node.operand, Detail(role=Role.MINUS)
    parent, name, _ = tree.parent(node)
    if not (isinstance(parent, ast.Assign) and name == "value"):
        return
    if isinstance(node, ast.BinOp) or (numpy_call(node) and numpy_call(node) not in CREATORS):
        yield Operator.SIGN_FLIP, ast.UnaryOp(ast.USub(), node), Detail(role=Role.VALUE)


RULES = (
    _range_bounds,
    _indices,
    _axes,
    _transposes,
    _products,
    _arithmetic,
    _signs,
    _calls,
    _strings,
    _names,
    _tuples,
    _constants,
    _statements,
)
