"""Which line of a student's cell holds a catalogued mistake, found with `ast` instead of a regex.

A mistake is written as a wrong copy of a graded function. Comparing that copy with the solution
gives the statements where it differs (and, inside a statement, the smallest differing part); the
student's line is the statement that, in the same place of the function, is written as the
mistake's copy writes it. Statements are compared as `ast` dumps, so spacing, comments, quotes and
docstrings never matter; a docstring and the graded function's `def` line are never answered.

The helpers are exported for the authors of mistake families (grader.judge.families): the same
parse, statement keys and alignment the engine uses.
"""

from __future__ import annotations

import ast
import copy
import difflib
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "Pair",
    "align",
    "body_of",
    "differing_statements",
    "function_def",
    "mistake_line",
    "parse_cell",
    "statement_key",
    "walk_statements",
]

BLOCK_FIELDS = ("body", "orelse", "finalbody")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def parse_cell(source: str) -> ast.Module | None:
    """A notebook cell as a module; IPython's magics are read as IPython reads them (their lines
    kept). None when the cell is not Python."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # noqa: BLE001 - anything IPython cannot read is not Python either
        return None


def function_def(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The module-level definition of `name` (the last one, as Python would keep)."""
    found = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            found = node
    return found


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def body_of(node: ast.Module | ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """A function's (or a module's) statements without its docstring."""
    body = list(node.body)
    return body[1:] if body and _is_docstring(body[0]) else body


def _blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists a compound statement holds (an except clause's and a match case's too)."""
    blocks = [getattr(node, name) for name in BLOCK_FIELDS if isinstance(getattr(node, name, None), list)]
    blocks += [handler.body for handler in getattr(node, "handlers", [])]
    blocks += [case.body for case in getattr(node, "cases", [])]
    return blocks


def _header(node: ast.stmt) -> ast.stmt:
    """A compound statement without its blocks: `for l in range(1, L):` alone."""
    clone = copy.copy(node)
    for name in (*BLOCK_FIELDS, "handlers", "cases"):
        if isinstance(getattr(clone, name, None), list):
            setattr(clone, name, [])
    return clone


def statement_key(node: ast.stmt, header_only: bool = False) -> str:
    """What two statements must share to be the same statement: the ast dump, without positions
    (so spacing and comments do not count); of its header alone when `header_only`."""
    return ast.dump(_header(node) if header_only else node, annotate_fields=False)


@dataclass(frozen=True)
class Pair:
    """Two statements in the same place of two versions of a function (`first` None: `second` was
    added), `depth` blocks deep."""

    first: ast.stmt | None
    second: ast.stmt
    depth: int


def align(first: list[ast.stmt], second: list[ast.stmt], depth: int = 0) -> Iterator[Pair]:
    """Pair the statements of two versions, block by block: equal runs by position, a replaced run
    position by position, and into compound statements of the same kind and shape."""
    matcher = difflib.SequenceMatcher(
        None, [statement_key(n) for n in first], [statement_key(n) for n in second], autojunk=False
    )
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset, node in enumerate(second[j1:j2]):
            other = first[i1 + offset] if i1 + offset < i2 else None
            yield Pair(other, node, depth)
            if other is not None and type(other) is type(node) and not isinstance(node, DEFINITIONS):
                inner_first, inner_second = _blocks(other), _blocks(node)
                if len(inner_first) == len(inner_second):
                    for a, b in zip(inner_first, inner_second, strict=True):
                        yield from align(a, b, depth + 1)


def _compound(pair: Pair) -> bool:
    return pair.first is not None and type(pair.first) is type(pair.second) and bool(_blocks(pair.second))


def _same(pair: Pair) -> bool:
    """Whether the pair's statements agree where they are compared: a compound's header, else whole."""
    if pair.first is None:
        return False
    header = _compound(pair)
    return statement_key(pair.first, header) == statement_key(pair.second, header)


@dataclass(frozen=True)
class Difference:
    """A statement of the mistake's copy that the solution does not have in that place."""

    statement: ast.stmt
    header_only: bool  #: a compound statement whose header differs (its blocks are compared on their own)
    path: tuple[tuple[str, int | None], ...]  #: the way down to the smallest differing part


def _path(a: ast.AST, b: ast.AST) -> tuple[tuple[str, int | None], ...]:
    """Fields to follow from `b` down to its smallest part that differs from `a`'s (stops where more
    than one part differs, or where the kinds differ)."""
    if type(a) is not type(b):
        return ()
    differing: list[tuple[tuple[str, int | None], ast.AST, ast.AST]] = []
    for name in b._fields:
        mine, theirs = getattr(a, name, None), getattr(b, name, None)
        if isinstance(theirs, ast.AST) and isinstance(mine, ast.AST):
            if ast.dump(mine) != ast.dump(theirs):
                differing.append(((name, None), mine, theirs))
        elif isinstance(theirs, list) and isinstance(mine, list) and len(mine) == len(theirs):
            for index, (x, y) in enumerate(zip(mine, theirs, strict=True)):
                if isinstance(y, ast.AST) and isinstance(x, ast.AST) and ast.dump(x) != ast.dump(y):
                    differing.append(((name, index), x, y))
        elif (ast.dump(mine) if isinstance(mine, ast.AST) else repr(mine)) != (
            ast.dump(theirs) if isinstance(theirs, ast.AST) else repr(theirs)
        ):
            return ()
    if len(differing) != 1:
        return ()
    step, mine, theirs = differing[0]
    return (step, *_path(mine, theirs))


def differing_statements(solution: list[ast.stmt], mistake: list[ast.stmt]) -> dict[int, Difference]:
    """{id of the mistake's statement: its difference} for every statement the mistake's copy wrote
    otherwise than the solution, in the same place (innermost statements: a compound's blocks are
    compared on their own)."""
    found = {}
    for pair in align(solution, mistake):
        if _same(pair):
            continue
        header = _compound(pair)
        path = () if pair.first is None else _path(*(_header(n) if header else n for n in (pair.first, pair.second)))
        if header and isinstance(pair.second, DEFINITIONS):
            continue  # a changed def line is no line to point at
        found[id(pair.second)] = Difference(pair.second, header, path)
    return found


def walk_statements(body: list[ast.stmt], depth: int = 0) -> Iterator[tuple[ast.stmt, int]]:
    """Every statement of a body, blocks included, with how many blocks deep it is."""
    for node in body:
        yield node, depth
        if not isinstance(node, DEFINITIONS):
            for block in _blocks(node):
                yield from walk_statements(block, depth + 1)


def _line(node: ast.stmt, path: tuple[tuple[str, int | None], ...]) -> int:
    """The line of the part of `node` that `path` leads to (the statement's own line without one)."""
    part: ast.AST = node
    line = node.lineno
    for name, index in path:
        value = getattr(part, name, None)
        value = value[index] if index is not None and isinstance(value, list) and index < len(value) else value
        if not isinstance(value, ast.AST):
            break
        part = value
        line = getattr(part, "lineno", line)  # an operator has no line: its expression's counts
    return int(line)


def _bodies(sources: tuple[str, str, str]) -> tuple[list[ast.stmt], list[ast.stmt], list[ast.stmt]] | None:
    """The graded function's statements in each cell (named by the mistake's copy), or the cells'."""
    trees = [parse_cell(source) for source in sources]
    if any(tree is None for tree in trees):
        return None
    student, solution, mistake = trees
    assert student is not None and solution is not None and mistake is not None  # for mypy
    name = next((n.name for n in mistake.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    functions = [function_def(tree, name) if name else None for tree in (student, solution, mistake)]
    if all(functions):
        return body_of(functions[0]), body_of(functions[1]), body_of(functions[2])  # type: ignore[arg-type]
    return body_of(student), body_of(solution), body_of(mistake)


def mistake_line(student_source: str, solution_source: str, mistake_source: str) -> int | None:
    """The 1-based line of the student's cell that most likely holds the mistake (None: no line of
    the student's is written as the mistake's copy writes what it changed)."""
    bodies = _bodies((student_source, solution_source, mistake_source))
    if bodies is None:
        return None
    student, solution, mistake = bodies
    differences = differing_statements(solution, mistake)
    if not differences:
        return None
    found = []  # (depth, line)
    for pair in align(mistake, student):
        difference = differences.get(id(pair.first)) if pair.first is not None else None
        if difference is not None and _key(pair.second, difference) == _key(difference.statement, difference):
            found.append((pair.depth, _line(pair.second, difference.path)))
    if not found:
        found = _anywhere(student, solution, differences)
    if not found:
        return None
    deepest = max(depth for depth, _ in found)
    return min(line for depth, line in found if depth == deepest)


def _key(node: ast.stmt, difference: Difference) -> str:
    return statement_key(node, difference.header_only)


def _anywhere(
    student: list[ast.stmt], solution: list[ast.stmt], differences: dict[int, Difference]
) -> list[tuple[int, int]]:
    """The student's statements written as a difference of the mistake's that the solution never
    writes anywhere (so that wherever the student put it, it is the mistake, not a right line)."""
    in_solution = {statement_key(n, header) for n, _ in walk_statements(solution) for header in (False, True)}
    wanted = {_key(d.statement, d): d for d in differences.values()}
    wanted = {key: d for key, d in wanted.items() if key not in in_solution}
    found = []
    for node, depth in walk_statements(student):
        for key, difference in wanted.items():
            if _key(node, difference) == key:
                found.append((depth, _line(node, difference.path)))
    return found
