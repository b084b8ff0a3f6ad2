"""One-point mutants of a graded function, made from the solution's ast.

A student's wrong function is often the solution with one small slip: a loop one step short, a sum
over the wrong axis, a term left out. `generate` makes every such variant of a function, each a
`Mutant` that says which operator made it, where, and what the words for it need, so that a student
whose outputs match exactly one of them can be told which slip it is without a catalogue entry.
`student_line` finds the student's own line that holds the slip, by comparing statements' trees.

The function's tree and its readers are grader.judge.mutant_tree's, the operators' rules at one
node grader.judge.mutant_rules'; this module makes the changes, in one place, in every place a part
is written, or in two calls at once, and keeps the mutants that compile.

Pure stdlib: running the mutants and comparing their outcomes belongs to the rest of the judge.
"""

from __future__ import annotations

import ast
import contextlib
import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from grader.judge.astdiff import mistake_line
from grader.judge.mutant_rules import RULES, related
from grader.judge.mutant_tree import (
    Tree,
    build_tree,
    called,
    find_function,
    int_constant,
    is_tracked,
    nodes,
    place_of,
    signatures,
    statement_of,
)
from grader.model.mutation import Detail, Operator, Slip

__all__ = ["Mutant", "find_function", "generate", "related", "signatures", "student_line"]

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


# --- making the mutants -----------------------------------------------------------------------------


@contextmanager
def _replaced(tree: Tree, node: ast.AST, replacement: ast.AST | None) -> Iterator[None]:
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
    tree = build_tree(source, function, graded)
    made = _Made(source, tree, ast.unparse(tree.function), _by_dump(tree))
    for node in list(nodes(tree.function)):
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
    tree: Tree
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
        if len(same) < 2 or int_constant(old) is not None:  # a 1 means one thing in range(1, n), another in x[i - 1]
            return []
        return [(place, copy.deepcopy(new)) for place in same]


def _by_dump(tree: Tree) -> dict[str, list[ast.AST]]:
    found: dict[str, list[ast.AST]] = {}
    for node in nodes(tree.function):
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
    if isinstance(value, ast.AST) and isinstance(other, ast.AST) and is_tracked(value):
        return _smallest(value, other)
    return old, new


def _pairs(tree: Tree) -> Iterator[tuple[Operator, list[Change], Detail]]:
    calls = [node for node in nodes(tree.function) if isinstance(node, ast.Call)]
    for index, first in enumerate(calls):
        for second in calls[index + 1 :]:
            if any(part is second for part in ast.walk(first)):
                continue  # one inside the other
            yield from _swapped_calls(tree, first, second)
            yield from _exchanged_arguments(tree, first, second)


def _swapped_calls(tree: Tree, first: ast.Call, second: ast.Call) -> Iterator[tuple[Operator, list[Change], Detail]]:
    """CALLS_SWAP: two calls, in two statements, of functions with the same parameters, each in the
    other's place (relu and sigmoid, each in the other's branch)."""
    a, b = called(first), called(second)
    if not (isinstance(first.func, ast.Name) and isinstance(second.func, ast.Name)) or a == b:
        return
    if (
        a not in tree.graded
        or tree.graded.get(b) != tree.graded[a]
        or statement_of(tree, first) is statement_of(tree, second)
    ):
        return
    changes: list[Change] = [
        (first, ast.Call(ast.Name(b, ast.Load()), first.args, first.keywords)),
        (second, ast.Call(ast.Name(a, ast.Load()), second.args, second.keywords)),
    ]
    yield Operator.CALLS_SWAP, changes, Detail(old=a, new=b, places=2)


def _exchanged_arguments(
    tree: Tree, first: ast.Call, second: ast.Call
) -> Iterator[tuple[Operator, list[Change], Detail]]:
    """ARGS_EXCHANGE: two calls of one function in one statement, each given the other's arguments
    (np.log(AL) and np.log(1 - AL))."""
    name = called(first)
    if not name or name != called(second) or statement_of(tree, first) is not statement_of(tree, second):
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
    tree: Tree,
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
    place, target = place_of(tree, node)
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
