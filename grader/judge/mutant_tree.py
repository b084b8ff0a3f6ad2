# The readers look at ast nodes whose kind a helper predicate (called, int_constant) has checked,
# which mypy cannot follow: these codes are off for this module only.
# mypy: disable-error-code="attr-defined,union-attr,arg-type,assignment"
"""The graded function's tree, for the mutation rules: each node's parent, the facts gathered once
(its locals, the int-valued ones, the strings it compares or passes, the keys it reads), and the
small readers the rules ask of a node (what it calls, whether it is an index, its statement and
where that statement puts it).

Pure stdlib, like grader.judge.mutants, which makes the mutants from it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from grader.judge.astdiff import body_of, function_def, parse_cell
from grader.model.mutation import Role, Site

SHORT_TEXT = 20


# --- the function and what the rules need to know of it ------------------------------------------


@dataclass
class Tree:
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
        """(parent, the field holding `node`, its index in a list field); (None, "", None) for the def."""
        return self.parents.get(id(node), (None, "", None))


def is_tracked(node: ast.AST) -> bool:
    """Expressions, statements and keywords: operator and context nodes are shared singletons."""
    return isinstance(node, (ast.expr, ast.stmt, ast.keyword, ast.comprehension, ast.arg, ast.arguments))


def _link(tree: Tree, node: ast.AST) -> None:
    for name, value in ast.iter_fields(node):
        items = value if isinstance(value, list) else [value]
        for index, child in enumerate(items):
            if isinstance(child, ast.AST) and is_tracked(child):
                tree.parents[id(child)] = (node, name, index if isinstance(value, list) else None)
                _link(tree, child)


def _preorder(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    for child in ast.iter_child_nodes(node):
        if is_tracked(child):
            yield from _preorder(child)


def nodes(function: ast.FunctionDef) -> Iterator[ast.AST]:
    """The body's tracked nodes in source order (preorder): every place a rule may change."""
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


def _gather(tree: Tree) -> None:
    """The locals, the int-valued ones, the strings and keys: what the rules draw alternatives from."""
    function = tree.function
    for argument in function.args.posonlyargs + function.args.args + function.args.kwonlyargs:
        tree.defined_at.setdefault(argument.arg, function.lineno)
    for node in nodes(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and not _in_comprehension(tree, node):
            tree.defined_at.setdefault(node.id, node.lineno)
        counted = isinstance(node, ast.For) and called(_unreversed(node.iter)) == "range"
        if counted and isinstance(node.target, ast.Name):
            tree.integers.add(node.target.id)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if _int_valued(node.value):
                tree.integers.add(node.targets[0].id)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            _gather_string(tree, node)


def _gather_string(tree: Tree, node: ast.Constant) -> None:
    container = key_container(tree, node)
    if container is not None:
        known = tree.keys.setdefault(container, [])
        if node.value not in known:
            known.append(node.value)
    elif string_role(tree, node) is not None and node.value.isidentifier() and node.value not in tree.strings:
        tree.strings.append(node.value)


def _int_valued(node: ast.AST) -> bool:
    """len(...), x.shape[k], an int, or arithmetic of these: a value an index or a range may use."""
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.Call):
        return called(node) == "len"
    if isinstance(node, ast.Subscript):
        return isinstance(node.value, ast.Attribute) and node.value.attr == "shape"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.FloorDiv, ast.Mult)):
        return _int_valued(node.left) and _int_valued(node.right)
    return False


def _in_comprehension(tree: Tree, node: ast.AST) -> bool:
    parent, _, _ = tree.parent(node)
    while parent is not None:
        if isinstance(parent, ast.comprehension):
            return True
        parent, _, _ = tree.parent(parent)
    return False


def build_tree(source: str, function: str, graded: dict[str, tuple[str, ...]] | None) -> Tree:
    """The named function of `source` linked and gathered; ValueError when it is not defined there."""
    definition = find_function(source, function)
    if definition is None:
        raise ValueError(f"the source defines no function named {function}")
    tree = Tree(source, definition, dict(graded or {}))
    _link(tree, definition)
    _gather(tree)
    return tree


# --- small readers --------------------------------------------------------------------------------


def called(node: ast.AST) -> str:
    """The called function's text ("range", "np.sum"), or "" when `node` is not a call."""
    return ast.unparse(node.func) if isinstance(node, ast.Call) else ""


def _unreversed(node: ast.AST) -> ast.AST:
    if called(node) == "reversed" and isinstance(node, ast.Call) and len(node.args) == 1:
        return node.args[0]
    return node


def numpy_call(node: ast.AST) -> str:
    """The numpy function a call names ("sum" for np.sum(...)), or ""."""
    name = called(node)
    for prefix in ("np.", "numpy."):
        if name.startswith(prefix) and "." not in name[len(prefix) :]:
            return name[len(prefix) :]
    return ""


def int_constant(node: ast.AST) -> int | None:
    """The int a constant node holds (never a bool), or None."""
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


def short(node: ast.AST) -> str:
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


def statement_of(tree: Tree, node: ast.AST) -> ast.stmt | None:
    """The statement that holds `node` (the node itself when it is one)."""
    while node is not None and not isinstance(node, ast.stmt):
        node = tree.parent(node)[0]
    return node


def place_of(tree: Tree, node: ast.AST) -> tuple[Site, str]:
    """The kind of statement holding `node`, and what it assigns ("Z"; "A, cache"), calls or loops over."""
    statement = statement_of(tree, node)
    if isinstance(statement, ast.Assign):
        return Site.ASSIGNMENT, " = ".join(_text(tree, target) for target in statement.targets)
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        return Site.ASSIGNMENT, _text(tree, statement.target)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return Site.CALL, called(statement.value)
    if isinstance(statement, ast.Return):
        return Site.RETURN, ""
    if isinstance(statement, ast.For):
        return Site.LOOP, _text(tree, statement.target)
    if isinstance(statement, (ast.If, ast.While)):
        return Site.TEST, ""
    return Site.OTHER, ""


def _text(tree: Tree, node: ast.AST) -> str:
    """A target as written (a tuple without its parentheses)."""
    if isinstance(node, ast.Tuple):
        return ", ".join(_text(tree, item) for item in node.elts)
    return ast.get_source_segment(tree.source, node) or ast.unparse(node)


def in_index(tree: Tree, node: ast.AST) -> bool:
    """Inside a subscript's index, a range's arguments or a key's str(...): the shift rules' ground."""
    parent, name, _ = tree.parent(node)
    while parent is not None:
        if isinstance(parent, ast.Subscript) and name == "slice":
            return True
        if called(parent) in ("range", "str") and name == "args":
            return True
        parent, name, _ = tree.parent(parent)
    return False


def key_container(tree: Tree, node: ast.Constant) -> str | None:
    """`grads` for the "dW" of grads["dW" + str(l)] or grads["dW1"]; None for any other string."""
    parent, name, _ = tree.parent(node)
    if isinstance(parent, ast.Subscript) and name == "slice":
        return ast.unparse(parent.value)
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add) and name == "left":
        above, above_name, _ = tree.parent(parent)
        if isinstance(above, ast.Subscript) and above_name == "slice":
            return ast.unparse(above.value)
    return None


def string_role(tree: Tree, node: ast.Constant) -> Role | None:
    """A string compared or passed to a call (one STRING_SWAP may trade); None for any other."""
    parent, name, _ = tree.parent(node)
    if isinstance(parent, ast.Compare):
        return Role.COMPARISON
    if isinstance(parent, ast.Call) and name == "args":
        return Role.ARGUMENT
    return None
