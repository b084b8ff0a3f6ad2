# The rules read ast nodes whose kind a helper predicate (_called, _int, _numpy_call) has checked,
# which mypy cannot follow: these codes are off for this module only.
# mypy: disable-error-code="attr-defined,union-attr,arg-type,assignment,operator,return-value"
"""One-point mutants of a graded function, made from the solution's ast.

A student's wrong function is often the solution with one small slip: a loop one step short, a sum
over the wrong axis, a term left out. `generate` makes every such variant of a function, each a
`Mutant` that says which operator made it, where, and what the words for it need, so that a student
whose outputs match exactly one of them can be told which slip it is without a catalogue entry.
`student_line` finds the student's own line that holds the slip, by comparing statements' trees.

Pure stdlib: running the mutants and comparing their outcomes belongs to the rest of the judge.
"""

from __future__ import annotations

import ast
import contextlib
import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

from grader.judge.astdiff import body_of, function_def, mistake_line, parse_cell
from grader.model.mutation import Detail, Operator, Role, Site, Slip

PRIORITY = {operator: rank for rank, operator in enumerate(Operator)}


@dataclass(frozen=True)
class Mutant:
    """The solution's function with one slip."""

    function: str  #: the function's name
    operator: Operator
    line: int  #: 1-based line of the changed node, in the source given to `generate`
    col: int  #: its 0-based column
    before: str  #: the changed node's text in the solution
    after: str  #: its text in the mutant ("" for a dropped statement)
    source: str  #: the whole mutated function, unparsed
    detail: Detail
    id: str  #: "function:operator:line:col:n", stable for the same source

    @property
    def slip(self) -> Slip:
        """The record a diagnosis names it by."""
        return Slip(self.id, self.operator, self.detail)


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
SHORT_TEXT = 20
Candidate = tuple[Operator, ast.AST | None, Detail]


# --- the function and what the rules need to know of it ------------------------------------------


@dataclass
class _Tree:
    """The function's definition, each node's parent, and facts gathered once."""

    source: str
    function: ast.FunctionDef
    graded: dict[str, tuple[str, ...]]
    parents: dict[int, tuple[ast.AST, str, int | None]] = field(default_factory=dict)
    defined_at: dict[str, int] = field(default_factory=dict)  #: local name -> first line that binds it
    integers: set[str] = field(default_factory=set)  #: locals that hold an int (loop counters, len(...))
    strings: list[str] = field(default_factory=list)  #: identifier-like strings compared or passed
    keys: dict[str, list[str]] = field(default_factory=dict)  #: container -> the string keys read on it

    def parent(self, node: ast.AST) -> tuple[ast.AST | None, str, int | None]:
        return self.parents.get(id(node), (None, "", None))


def _is_tracked(node: ast.AST) -> bool:
    """Expressions, statements and keywords: operator and context nodes are shared singletons."""
    return isinstance(node, (ast.expr, ast.stmt, ast.keyword, ast.comprehension, ast.arg, ast.arguments))


def _link(tree: _Tree, node: ast.AST) -> None:
    for name, value in ast.iter_fields(node):
        items = value if isinstance(value, list) else [value]
        for index, child in enumerate(items):
            if isinstance(child, ast.AST) and _is_tracked(child):
                tree.parents[id(child)] = (node, name, index if isinstance(value, list) else None)
                _link(tree, child)


def _preorder(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    for child in ast.iter_child_nodes(node):
        if _is_tracked(child):
            yield from _preorder(child)


def _nodes(function: ast.FunctionDef) -> Iterator[ast.AST]:
    for statement in body_of(function):
        yield from _preorder(statement)


def find_function(source: str, name: str) -> ast.FunctionDef | None:
    """The module-level definition of `name` in a cell's (or a module's) source; None without one."""
    tree = parse_cell(source)
    found = function_def(tree, name) if tree is not None else None
    return found if isinstance(found, ast.FunctionDef) else None


def signatures(source: str) -> dict[str, tuple[str, ...]]:
    """{name: parameter names} of the top-level functions of a module's source, for CALL_REPLACE."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = tuple(a.arg for a in node.args.posonlyargs + node.args.args)
    return found


def _gather(tree: _Tree) -> None:
    """The locals, the int-valued ones, the strings and keys: what the rules draw alternatives from."""
    function = tree.function
    for argument in function.args.posonlyargs + function.args.args + function.args.kwonlyargs:
        tree.defined_at.setdefault(argument.arg, function.lineno)
    for node in _nodes(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and not _in_comprehension(tree, node):
            tree.defined_at.setdefault(node.id, node.lineno)
        counted = isinstance(node, ast.For) and _called(_unreversed(node.iter)) == "range"
        if counted and isinstance(node.target, ast.Name):
            tree.integers.add(node.target.id)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if _int_valued(node.value):
                tree.integers.add(node.targets[0].id)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            _gather_string(tree, node)


def _gather_string(tree: _Tree, node: ast.Constant) -> None:
    container = _key_container(tree, node)
    if container is not None:
        known = tree.keys.setdefault(container, [])
        if node.value not in known:
            known.append(node.value)
    elif _string_role(tree, node) is not None and node.value.isidentifier() and node.value not in tree.strings:
        tree.strings.append(node.value)


def _int_valued(node: ast.AST) -> bool:
    """len(...), x.shape[k], an int, or arithmetic of these: a value an index or a range may use."""
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.Call):
        return _called(node) == "len"
    if isinstance(node, ast.Subscript):
        return isinstance(node.value, ast.Attribute) and node.value.attr == "shape"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.FloorDiv, ast.Mult)):
        return _int_valued(node.left) and _int_valued(node.right)
    return False


def _in_comprehension(tree: _Tree, node: ast.AST) -> bool:
    parent, _, _ = tree.parent(node)
    while parent is not None:
        if isinstance(parent, ast.comprehension):
            return True
        parent, _, _ = tree.parent(parent)
    return False


def _build(source: str, function: str, graded: dict[str, tuple[str, ...]] | None) -> _Tree:
    definition = find_function(source, function)
    if definition is None:
        raise ValueError(f"the source defines no function named {function}")
    tree = _Tree(source, definition, dict(graded or {}))
    _link(tree, definition)
    _gather(tree)
    return tree


# --- small readers --------------------------------------------------------------------------------


def _called(node: ast.AST) -> str:
    """The called function's text ("range", "np.sum"), or "" when `node` is not a call."""
    return ast.unparse(node.func) if isinstance(node, ast.Call) else ""


def _unreversed(node: ast.AST) -> ast.AST:
    if _called(node) == "reversed" and isinstance(node, ast.Call) and len(node.args) == 1:
        return node.args[0]
    return node


def _numpy_call(node: ast.AST) -> str:
    """The numpy function a call names ("sum" for np.sum(...)), or ""."""
    name = _called(node)
    for prefix in ("np.", "numpy."):
        if name.startswith(prefix) and "." not in name[len(prefix) :]:
            return name[len(prefix) :]
    return ""


def _int(node: ast.AST) -> int | None:
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


def _short(node: ast.AST) -> str:
    """The node's text when it names a thing (`b`, `W.T`, `1 / m`, "relu") rather than spells a
    computation; "" otherwise, so that the words cannot quote the solution's right-hand side."""
    leaves = 0
    for part in ast.walk(node):
        if isinstance(
            part,
            (
                ast.Call,
                ast.Subscript,
                ast.Compare,
                ast.Lambda,
                ast.IfExp,
                ast.ListComp,
                ast.DictComp,
                ast.Dict,
                ast.List,
            ),
        ):
            return ""
        leaves += isinstance(part, (ast.Name, ast.Constant))
    text = ast.unparse(node)
    return text if leaves <= 2 and len(text) <= SHORT_TEXT else ""


def _statement(tree: _Tree, node: ast.AST) -> ast.stmt | None:
    while node is not None and not isinstance(node, ast.stmt):
        node = tree.parent(node)[0]
    return node


def _place(tree: _Tree, node: ast.AST) -> tuple[Site, str]:
    """The kind of statement holding `node`, and what it assigns ("Z"; "A, cache"), calls or loops over."""
    statement = _statement(tree, node)
    if isinstance(statement, ast.Assign):
        return Site.ASSIGNMENT, " = ".join(_text(tree, target) for target in statement.targets)
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        return Site.ASSIGNMENT, _text(tree, statement.target)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return Site.CALL, _called(statement.value)
    if isinstance(statement, ast.Return):
        return Site.RETURN, ""
    if isinstance(statement, ast.For):
        return Site.LOOP, _text(tree, statement.target)
    if isinstance(statement, (ast.If, ast.While)):
        return Site.TEST, ""
    return Site.OTHER, ""


def _text(tree: _Tree, node: ast.AST) -> str:
    """A target as written (a tuple without its parentheses)."""
    if isinstance(node, ast.Tuple):
        return ", ".join(_text(tree, item) for item in node.elts)
    return ast.get_source_segment(tree.source, node) or ast.unparse(node)


def _in_index(tree: _Tree, node: ast.AST) -> bool:
    """Inside a subscript's index, a range's arguments or a key's str(...): the shift rules' ground."""
    parent, name, _ = tree.parent(node)
    while parent is not None:
        if isinstance(parent, ast.Subscript) and name == "slice":
            return True
        if _called(parent) in ("range", "str") and name == "args":
            return True
        parent, name, _ = tree.parent(parent)
    return False


def _key_container(tree: _Tree, node: ast.Constant) -> str | None:
    """`grads` for the "dW" of grads["dW" + str(l)] or grads["dW1"]; None for any other string."""
    parent, name, _ = tree.parent(node)
    if isinstance(parent, ast.Subscript) and name == "slice":
        return ast.unparse(parent.value)
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add) and name == "left":
        above, above_name, _ = tree.parent(parent)
        if isinstance(above, ast.Subscript) and above_name == "slice":
            return ast.unparse(above.value)
    return None


def _string_role(tree: _Tree, node: ast.Constant) -> Role | None:
    parent, name, _ = tree.parent(node)
    if isinstance(parent, ast.Compare):
        return Role.COMPARISON
    if isinstance(parent, ast.Call) and name == "args":
        return Role.ARGUMENT
    return None


def _shifted(expr: ast.expr, delta: int) -> ast.expr:
    """expr + delta, written as a student would: l - 1 + 1 is l, L - 1 - 1 is L - 2."""
    if _int(expr) is not None:
        return ast.Constant(expr.value + delta)
    base, offset = expr, delta
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)) and _int(expr.right) is not None:
        base = expr.left
        offset = (expr.right.value if isinstance(expr.op, ast.Add) else -expr.right.value) + delta
    if offset == 0:
        return base
    return ast.BinOp(base, ast.Add() if offset > 0 else ast.Sub(), ast.Constant(abs(offset)))


def _scaled(value: int | float, factor: str) -> int | float:
    exact = Decimal(repr(value)) * Decimal(factor)
    return int(exact) if isinstance(value, int) and factor == "10" else float(exact)


# --- the rules: each yields (operator, the node's replacement or None to drop it, detail) -----------


def _range_bounds(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """RANGE_STOP and RANGE_START: the loop that runs one or two steps short, long, early or late."""
    if _called(node) != "range" or not 1 <= len(node.args) <= 2 or node.keywords:
        return
    start, stop = (ast.Constant(0), node.args[0]) if len(node.args) == 1 else node.args
    loop = _loop_variable(tree, node)

    def call(first: ast.expr, last: ast.expr) -> ast.Call:
        arguments = [last] if _int(first) == 0 else [first, last]
        return ast.Call(ast.Name("range", ast.Load()), arguments, [])

    for delta in DELTAS:
        yield Operator.RANGE_STOP, call(start, _shifted(stop, delta)), Detail(subject=loop, delta=delta)
    for delta in DELTAS:
        first = _shifted(start, delta)
        if _int(first) is None or _int(first) >= 0:
            yield Operator.RANGE_START, call(first, stop), Detail(subject=loop, delta=delta)


def _loop_variable(tree: _Tree, node: ast.AST) -> str:
    """The for loop's variable when `node` is its range (reversed or not), else ""."""
    parent, name, _ = tree.parent(node)
    if _called(parent) == "reversed":
        parent, name, _ = tree.parent(parent)
    if isinstance(parent, ast.For) and name == "iter" and isinstance(parent.target, ast.Name):
        return parent.target.id
    return ""


def _indices(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """INDEX_SWAP on a constant index (cache[0]); INDEX_SHIFT on a counted one (caches[l]) or a key's
    layer number ("W" + str(l)): another layer's, or another part's, value read."""
    if not isinstance(node, ast.Subscript):
        return
    container, index = ast.unparse(node.value), node.slice
    if _int(index) is not None:
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
        and _called(index.right) == "str"
        and len(index.right.args) == 1
    ):
        return index.right
    return None


def _counter(index: ast.expr, tree: _Tree) -> bool:
    """An int-valued local, or one plus or minus a constant: l, L - 1, l + 1."""
    if isinstance(index, ast.BinOp) and isinstance(index.op, (ast.Add, ast.Sub)) and _int(index.right) is not None:
        index = index.left
    return isinstance(index, ast.Name) and index.id in tree.integers


def _arithmetic(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """ARITH_SWAP, DROP_TERM and DROP_FACTOR on a binary operation outside indices and keys."""
    if not isinstance(node, ast.BinOp) or _in_index(tree, node) or _has_text(node):
        return
    swaps = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
    if type(node.op) in swaps:
        other = swaps[type(node.op)]()
        detail = Detail(old=_symbol(node.op), new=_symbol(other))
        yield Operator.ARITH_SWAP, ast.BinOp(node.left, other, node.right), detail
    symbol = _symbol(node.op)
    if isinstance(node.op, (ast.Add, ast.Sub)):
        yield Operator.DROP_TERM, node.left, Detail(old=_short(node.right), op=symbol)
        kept = node.right if isinstance(node.op, ast.Add) else ast.UnaryOp(ast.USub(), node.right)
        role = Role.NONE if isinstance(node.op, ast.Add) else Role.FIRST
        yield Operator.DROP_TERM, kept, Detail(old=_short(node.left), op=symbol, role=role)
    elif isinstance(node.op, ast.Mult):
        for kept, dropped in ((node.left, node.right), (node.right, node.left)):
            if not isinstance(kept, ast.Constant):
                yield Operator.DROP_FACTOR, kept, Detail(old=_short(dropped), op=symbol, role=Role.FACTOR)
    elif isinstance(node.op, (ast.Div, ast.FloorDiv)):
        yield Operator.DROP_FACTOR, node.left, Detail(old=_short(node.right), op=symbol, role=Role.DIVISOR)


def _has_text(node: ast.BinOp) -> bool:
    return any(isinstance(side, ast.Constant) and isinstance(side.value, str) for side in (node.left, node.right))


def _symbol(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.MatMult: "@"}.get(
        type(op), "?"
    )


def _axes(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """AXIS_SWAP, AXIS_DROP and DROP_KEEPDIMS on a call's axis= and keepdims=."""
    if not isinstance(node, ast.Call):
        return
    subject = _called(node)
    positional = _numpy_call(node) in REDUCERS and len(node.args) == 2 and _int(node.args[1]) is not None
    axis = node.args[1] if positional else next((k.value for k in node.keywords if k.arg == "axis"), None)
    swapped = {0: 1, 1: 0, -1: -2, -2: -1}
    if axis is not None and _int(axis) in swapped:
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
        yield Operator.AXIS_DROP, ast.Call(node.func, args, keywords), Detail(subject=subject, old=_short(axis))
    if any(k.arg == "keepdims" for k in node.keywords):
        keywords = [k for k in node.keywords if k.arg != "keepdims"]
        yield Operator.DROP_KEEPDIMS, ast.Call(node.func, node.args, keywords), Detail(subject=subject)


def _transposes(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """TRANSPOSE_DROP on any transpose; TRANSPOSE_ADD only on a matrix product's operands, where
    shapes make a transpose a likely slip (elsewhere it would be noise)."""
    inner = None
    if isinstance(node, ast.Attribute) and node.attr == "T":
        inner = node.value
    elif _numpy_call(node) == "transpose" and len(node.args) == 1 and not node.keywords:
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
        yield Operator.TRANSPOSE_DROP, inner, Detail(old=_short(inner))
    for operand, rebuild in _product_operands(node):
        if not _transposed(operand) and not isinstance(operand, ast.Constant):
            yield Operator.TRANSPOSE_ADD, rebuild(ast.Attribute(operand, "T", ast.Load())), Detail(old=_short(operand))


def _transposed(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "T") or _numpy_call(node) == "transpose"


def _product_operands(node: ast.AST) -> list[tuple[ast.expr, object]]:
    """(operand, rebuild(new operand) -> the product with it) for np.dot, np.matmul, @ and x.dot(y)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return [
            (node.left, lambda new: ast.BinOp(new, node.op, node.right)),
            (node.right, lambda new: ast.BinOp(node.left, node.op, new)),
        ]
    if _numpy_call(node) in ("dot", "matmul") and len(node.args) == 2 and not node.keywords:
        return [
            (node.args[0], lambda new: ast.Call(node.func, [new, node.args[1]], [])),
            (node.args[1], lambda new: ast.Call(node.func, [node.args[0], new], [])),
        ]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "dot"
        and not _numpy_call(node)
        and len(node.args) == 1
    ):
        method = node.func
        return [
            (method.value, lambda new: ast.Call(ast.Attribute(new, "dot", ast.Load()), node.args, [])),
            (node.args[0], lambda new: ast.Call(method, [new], [])),
        ]
    return []


def _products(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """DOT_TO_MUL on a matrix product, MUL_TO_DOT on an elementwise one of two arrays."""
    operands = [operand for operand, _ in _product_operands(node)]
    if operands:
        detail = Detail(old="@" if isinstance(node, ast.BinOp) else _called(node), new="*")
        yield Operator.DOT_TO_MUL, ast.BinOp(operands[0], ast.Mult(), operands[1]), detail
    elif (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mult)
        and not _in_index(tree, node)
        and not any(_scalar(side) for side in (node.left, node.right))
    ):
        dot = ast.Attribute(ast.Name("np", ast.Load()), "dot", ast.Load())
        yield Operator.MUL_TO_DOT, ast.Call(dot, [node.left, node.right], []), Detail(old="*", new="np.dot")


def _scalar(node: ast.AST) -> bool:
    """A number, or a number divided by something (1 / m): never a matrix."""
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.left, ast.Constant)


def _strings(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """STRING_SWAP: a compared or passed string by another of the function's, a key by another key
    read on the same container."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return
    container = _key_container(tree, node)
    role = Role.KEY if container is not None else _string_role(tree, node)
    pool = tree.keys.get(container, []) if container is not None else tree.strings
    if role is None or node.value not in pool:
        return
    for other in pool:
        if other != node.value:
            detail = Detail(subject=container or _called(tree.parent(node)[0]), old=node.value, new=other, role=role)
            yield Operator.STRING_SWAP, ast.Constant(other), detail


def _calls(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """CALL_REPLACE, DROP_CALL and ARGS_SWAP on one call."""
    if not isinstance(node, ast.Call):
        return
    name = _called(node)
    if isinstance(node.func, ast.Name) and name in tree.graded:
        for other, parameters in tree.graded.items():
            if other != name and parameters == tree.graded[name]:
                detail = Detail(subject=name, old=name, new=other)
                yield Operator.CALL_REPLACE, ast.Call(ast.Name(other, ast.Load()), node.args, node.keywords), detail
    unwrappable = (_numpy_call(node) and _numpy_call(node) not in CREATORS) or name == "reversed"
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
                    subject=name, old=_short(arguments[i]), new=_short(arguments[j]), delta=j - i, role=Role.ARGUMENT
                )
                yield Operator.ARGS_SWAP, ast.Call(node.func, swapped, node.keywords), detail


def _tuples(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
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
                detail = Detail(subject=subject, old=_short(node.elts[i]), new=_short(node.elts[j]), role=role)
                yield Operator.TUPLE_SWAP, ast.Tuple(items, node.ctx), detail


def _names(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
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


def _constants(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """CONSTANT_SCALE on numbers outside indices and keywords (those are shifts and axes)."""
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value != 0):
        return
    parent, _, _ = tree.parent(node)
    if _in_index(tree, node) or isinstance(parent, ast.keyword):
        return
    for factor in ("10", "0.1"):
        new = _scaled(node.value, factor)
        detail = Detail(old=repr(node.value), new=repr(new), op=factor)
        yield Operator.CONSTANT_SCALE, ast.Constant(new), detail


def _statements(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        yield Operator.DROP_STATEMENT, None, Detail()
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield Operator.DROP_STATEMENT, None, Detail()


def _signs(node: ast.AST, tree: _Tree) -> Iterator[Candidate]:
    """SIGN_FLIP: a unary minus dropped; an assigned value (arithmetic or a numpy call) negated."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
        yield Operator.SIGN_FLIP, node.operand, Detail(role=Role.MINUS)
    parent, name, _ = tree.parent(node)
    if not (isinstance(parent, ast.Assign) and name == "value"):
        return
    if isinstance(node, ast.BinOp) or (_numpy_call(node) and _numpy_call(node) not in CREATORS):
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


# --- making the mutants -----------------------------------------------------------------------------


@contextmanager
def _replaced(tree: _Tree, node: ast.AST, replacement: ast.AST | None) -> Iterator[None]:
    """The tree with `node` replaced (or, for None, its statement left out), restored afterwards."""
    parent, name, index = tree.parent(node)
    if index is None:
        setattr(parent, name, replacement)
        try:
            yield
        finally:
            setattr(parent, name, node)
        return
    items = getattr(parent, name)
    saved = list(items)
    if replacement is None:
        del items[index]
        if not items:
            items.append(ast.Pass())
    else:
        items[index] = replacement
    try:
        yield
    finally:
        items[:] = saved


def _compiles(text: str) -> bool:
    try:
        compile(text, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def generate(
    source: str, function: str, graded: dict[str, tuple[str, ...]] | None = None, limit: int = 400
) -> list[Mutant]:
    """Every one-point mutant of the function's body, deduplicated by mutated source (the operator
    listed first in Operator wins), that still compiles, in source order; at most `limit`.

    A one-point change to a part the function writes in several places is also made in all of them
    at once (a scale written for each layer, a key's layer number); and two calls may trade places
    (CALLS_SWAP) or arguments (ARGS_EXCHANGE). `graded` maps the functions a call may be replaced by
    to their parameter names (the graded functions, and helpers such as relu/sigmoid): CALL_REPLACE
    and CALLS_SWAP use those with the same ones.
    """
    tree = _build(source, function, graded)
    made = _Made(source, tree, ast.unparse(tree.function), _by_dump(tree))
    for node in list(_nodes(tree.function)):
        for rule in RULES:
            for operator, replacement, detail in rule(node, tree):
                number = made.number(operator, node)
                made.add(operator, [(node, replacement)], detail, str(number))
                every = made.everywhere(node, replacement) if operator not in LOCAL else []
                if every:
                    made.add(operator, every, replace(detail, places=len(every)), f"{number}*{len(every)}")
    for operator, changes, detail in _pairs(tree):
        made.add(operator, changes, detail, str(made.number(operator, changes[0][0])))
    ordered = sorted(made.best.values(), key=lambda m: (m.line, m.col, PRIORITY[m.operator], m.id))
    return ordered[:limit]


LOCAL = (Operator.RANGE_START, Operator.RANGE_STOP)  #: a loop's bounds: one place's, never made everywhere
Change = tuple[ast.AST, ast.AST | None]  #: a node of the function, and what stands in its place (None: left out)


@dataclass
class _Made:
    """The mutants made so far, one per mutated source."""

    source: str
    tree: _Tree
    original: str  #: the function unparsed
    by_dump: dict[str, list[ast.AST]]  #: the function's nodes by their dump: where a part is written
    best: dict[str, Mutant] = field(default_factory=dict)
    counts: dict[tuple[Operator, int, int], int] = field(default_factory=dict)

    def number(self, operator: Operator, node: ast.AST) -> int:
        """Two nodes may start at one place (1 / m * x, 1 / m): numbered apart in the ids."""
        place = (operator, getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
        number = self.counts[place] = self.counts.get(place, -1) + 1
        return number

    def add(self, operator: Operator, changes: list[Change], detail: Detail, number: str) -> None:
        with contextlib.ExitStack() as stack:
            for node, replacement in changes:
                stack.enter_context(_replaced(self.tree, node, replacement))
            text = ast.unparse(self.tree.function)
        if text == self.original or not _compiles(text):
            return
        mutant = _mutant(self.source, self.tree, changes[0], operator, detail, text, number)
        kept = self.best.get(text)
        if kept is None or PRIORITY[operator] < PRIORITY[kept.operator]:
            self.best[text] = mutant

    def everywhere(self, node: ast.AST, replacement: ast.AST | None) -> list[Change]:
        """The same change made in every place the changed part is written, when that is 2 or more."""
        if replacement is None:
            return []
        old, new = _smallest(node, replacement)
        same = self.by_dump.get(ast.dump(old), [])
        if len(same) < 2 or _int(old) is not None:  # a 1 means one thing in range(1, n), another in x[i - 1]
            return []
        return [(place, copy.deepcopy(new)) for place in same]


def _by_dump(tree: _Tree) -> dict[str, list[ast.AST]]:
    found: dict[str, list[ast.AST]] = {}
    for node in _nodes(tree.function):
        found.setdefault(ast.dump(node), []).append(node)
    return found


def _same(first: object, second: object) -> bool:
    if isinstance(first, list) and isinstance(second, list):
        return len(first) == len(second) and all(_same(a, b) for a, b in zip(first, second, strict=True))
    if isinstance(first, ast.AST) and isinstance(second, ast.AST):
        return ast.dump(first) == ast.dump(second)
    return first == second


def _smallest(old: ast.AST, new: ast.AST) -> tuple[ast.AST, ast.AST]:
    """The smallest part of `old` that the change to `new` rewrites: `l + 1` -> `l` for
    parameters["W" + str(l + 1)] -> parameters["W" + str(l)]."""
    if type(old) is not type(new):
        return old, new
    differing = [(name, value) for name, value in ast.iter_fields(old) if not _same(value, getattr(new, name, None))]
    if len(differing) != 1:
        return old, new
    name, value = differing[0]
    other = getattr(new, name)
    if isinstance(value, list) and isinstance(other, list) and len(value) == len(other):
        pairs = [(a, b) for a, b in zip(value, other, strict=True) if not _same(a, b)]
        value, other = pairs[0] if len(pairs) == 1 else (None, None)
    if isinstance(value, ast.AST) and isinstance(other, ast.AST) and _is_tracked(value):
        return _smallest(value, other)
    return old, new


def _pairs(tree: _Tree) -> Iterator[tuple[Operator, list[Change], Detail]]:
    calls = [node for node in _nodes(tree.function) if isinstance(node, ast.Call)]
    for index, first in enumerate(calls):
        for second in calls[index + 1 :]:
            if any(part is second for part in ast.walk(first)):
                continue  # one inside the other
            yield from _swapped_calls(tree, first, second)
            yield from _exchanged_arguments(tree, first, second)


def _swapped_calls(tree: _Tree, first: ast.Call, second: ast.Call) -> Iterator[tuple[Operator, list[Change], Detail]]:
    """CALLS_SWAP: two calls, in two statements, of functions with the same parameters, each in the
    other's place (relu and sigmoid, each in the other's branch)."""
    a, b = _called(first), _called(second)
    if not (isinstance(first.func, ast.Name) and isinstance(second.func, ast.Name)) or a == b:
        return
    if (
        a not in tree.graded
        or tree.graded.get(b) != tree.graded[a]
        or _statement(tree, first) is _statement(tree, second)
    ):
        return
    changes: list[Change] = [
        (first, ast.Call(ast.Name(b, ast.Load()), first.args, first.keywords)),
        (second, ast.Call(ast.Name(a, ast.Load()), second.args, second.keywords)),
    ]
    yield Operator.CALLS_SWAP, changes, Detail(old=a, new=b, places=2)


def _exchanged_arguments(
    tree: _Tree, first: ast.Call, second: ast.Call
) -> Iterator[tuple[Operator, list[Change], Detail]]:
    """ARGS_EXCHANGE: two calls of one function in one statement, each given the other's arguments
    (np.log(AL) and np.log(1 - AL))."""
    name = _called(first)
    if not name or name != _called(second) or _statement(tree, first) is not _statement(tree, second):
        return
    if _same(first.args, second.args) and _same(first.keywords, second.keywords):
        return
    changes: list[Change] = [
        (first, ast.Call(first.func, second.args, second.keywords)),
        (second, ast.Call(second.func, first.args, first.keywords)),
    ]
    yield Operator.ARGS_EXCHANGE, changes, Detail(subject=name, places=2)


def _mutant(
    source: str,
    tree: _Tree,
    change: Change,
    operator: Operator,
    detail: Detail,
    text: str,
    number: str,
) -> Mutant:
    """The record: where the (first) changed node was, its text before and after, and the detail
    with its place."""
    node, replacement = change
    before = ast.get_source_segment(source, node) or ast.unparse(node)
    after = ast.unparse(replacement) if replacement is not None else ""
    place, target = _place(tree, node)
    detail = replace(detail, place=place, target=target)
    line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
    return Mutant(
        function=tree.function.name,
        operator=operator,
        line=line,
        col=col,
        before=before,
        after=after,
        source=text,
        detail=detail,
        id=f"{tree.function.name}:{operator}:{line}:{col}:{number}",
    )


# --- the student's line -------------------------------------------------------------------------------


def student_line(student_source: str, mutant: Mutant, solution_source: str) -> int | None:
    """The 1-based line, in the student's cell, of the statement that holds the mutant's slip, found
    by comparing the trees (grader.judge.astdiff.mistake_line, the catalogue's wrong copies' finder):
    never a docstring, a comment or the `def` line; None when no statement of the student's is
    written as the mutant writes what it changed (written otherwise, or a statement left out)."""
    return mistake_line(student_source, solution_source, mutant.source)
