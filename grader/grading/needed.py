"""What of the setup cells a self-check needs: the lines that bind or touch what its code can reach.

A notebook's setup cell imports what the whole notebook uses, the plotting and image libraries of
its exploration cells included; importing `matplotlib.pyplot` alone was about a third of a
`grader check`. The public cases run only the graded functions. So a self-check runs the setup
cells with some lines exactly as the released notebook's setup cell has them (a line the student
changed or added always runs) replaced by `pass`, so that every line keeps its number:

- an import of an installed module that the released setup cell imports, none of whose names the
  graded cells or any line that runs read;
- a statement (an expression or an assignment) that reads nothing but names bound by such an
  import, when no code that runs can reach that library otherwise (the graded cells' imports, the
  kept imports, and what the assignment's own modules import when loaded): `plt.rcParams[...] = ...`;
- a line magic that loads a library (`%matplotlib inline`) whose imports were all left out.

Everything else runs: any other statement, a star import, an import of one of the assignment's own
modules or of a module the released notebook does not import (that one may do anything), and the
whole cell as written when any code that runs reaches names by other means (eval, exec, globals,
`sys.modules`, a function's `__globals__`, importlib, ...), when a magic- or shell-looking line sits
inside a string, or when the cells cannot be read within bounds. The lines left out are reported
(SetupLinesSkipped). Grading never trims: there every setup module is imported once per worker
before any kernel starts, so a setup cell's imports cost nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.assignment.preload import MAGIC_MODULES, cell_tree, modules_of, released_setup, tree_imports
from grader.model.notebook import CodeCell, ParsedNotebook
from grader.model.notes import SetupLinesSkipped

# Names through which code can reach any global or module without naming it.
DYNAMIC_NAMES = frozenset({"eval", "exec", "globals", "vars", "locals", "__import__", "get_ipython", "__builtins__"})
DYNAMIC_MODULES = frozenset({"sys", "importlib", "inspect", "gc", "builtins", "__main__", "ctypes", "IPython"})
# Attributes through which code reaches a module's or a function's globals, or the loaded modules.
DYNAMIC_ATTRIBUTES = frozenset({"__globals__", "__dict__", "__builtins__", "f_globals", "modules", "__getattribute__"})
# Line magics a trimmed setup cell may hold (any other: the cells run as written).
KNOWN_MAGICS = frozenset({*MAGIC_MODULES, "config", "load_ext", "autoreload"})
MAX_STATEMENTS = 400  # setup cells of more top-level statements are run as written (the analysis is quadratic)
MAX_READ_CHARS = 500_000  # setup and graded cells longer than this together are run as written, unread
# Line ends other than "\n": a cell holding one is run as written (its line numbers are ambiguous).
ODD_LINE_ENDS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
TRIMMABLE = (ast.Import, ast.ImportFrom, ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)


@dataclass(frozen=True)
class _Statement:
    """One top-level statement of a setup cell."""

    cell: int  #: position in the setup cells
    node: ast.stmt | None  #: None: a line magic
    lines: range  #: the cell's lines (0-based) it occupies
    magic: str = ""  #: the line magic's name (`matplotlib`)
    as_released: bool = False  #: each of its lines is a line of the released notebook's setup cells


@dataclass(frozen=True)
class TrimmedSetup:
    """The setup cells a self-check runs, and what was left out of them."""

    cells: list[CodeCell]
    imports: tuple[str, ...]  #: the installed modules the kept lines import (a kernel started ahead may meanwhile)
    skipped: tuple[SetupLinesSkipped, ...]  #: per cell, the lines left out


def trimmed_setup(parsed: ParsedNotebook, assignment: Assignment) -> TrimmedSetup:
    """The setup cells with the statements no public case needs blanked. The cells as they are
    when anything that runs cannot be read or reaches names dynamically."""
    released = released_setup(assignment)
    installed = modules_of(released, assignment)
    untouched = TrimmedSetup(parsed.setup, installed, ())
    if sum(len(cell.source) for cell in (*parsed.setup, *parsed.graded.values())) > MAX_READ_CHARS:
        return untouched
    graded = [_parsed(cell.source, magics=False) for cell in parsed.graded.values()]
    statements = _statements(parsed.setup, {line.strip() for cell in released for line in cell.source.split("\n")})
    if statements is None or len(statements) > MAX_STATEMENTS or any(tree is None for tree in graded):
        return untouched
    graded_trees = [tree for tree in graded if tree is not None]
    reached = {_root(name) for tree in graded_trees for name in tree_imports(tree)} | _own_imports(assignment)
    read = set().union(*(_names(tree) for tree in graded_trees))
    kept = _kept(statements, set(installed), reached, read)
    kept_nodes = [s.node for s in kept if s.node is not None]
    if _dynamic(graded_trees, kept_nodes):
        return untouched
    cells, skipped = [], []
    for position, cell in enumerate(parsed.setup):
        ran = [s for s in kept if s.cell == position]
        gone = _gone_lines(cell, [s for s in statements if s.cell == position and s not in ran], ran)
        cells.append(_blanked(cell, gone))
        if gone:
            skipped.append(SetupLinesSkipped(cell.index + 1, tuple(number + 1 for number in sorted(gone))))
    # What a batch's zygote would have loaded of the libraries the code that runs reaches, so that a
    # submodule present there (matplotlib.pyplot after `import matplotlib`) is present here too.
    roots = reached | {_root(name) for node in kept_nodes for name in tree_imports(node)}
    roots |= {_root(name) for s in kept if s.magic for name in MAGIC_MODULES.get(s.magic, ())}
    imports = tuple(name for name in installed if _root(name) in roots)
    return TrimmedSetup(cells, imports, tuple(skipped))


def _kept(statements: list[_Statement], installed: set[str], reached: set[str], read: set[str]) -> list[_Statement]:
    """The statements to run: grown from what the graded cells read until nothing more is needed."""
    needed = set(read)
    while True:
        dropped_imports = [s for s in statements if _droppable_import(s, installed, needed)]
        bindings = [pair for s in dropped_imports for pair in _bindings(s.node)]  # type: ignore[arg-type]
        everything = "*" in reached  # an own module that cannot be read may import anything
        unreached = {name for name, module in bindings if _root(module) not in reached and not everything}
        libraries = {_root(module) for name, module in bindings if name in unreached}
        dropped = set(map(id, dropped_imports))
        for s in statements:
            if id(s) not in dropped and _only_touches(s, unreached, libraries):
                dropped.add(id(s))
        kept = [s for s in statements if id(s) not in dropped]
        grown = needed.union(*(_names(s.node) for s in kept if s.node is not None))
        kept_roots = {_root(name) for s in kept if s.node is not None for name in tree_imports(s.node)}
        if grown == needed and not (kept_roots - reached):
            return kept
        needed, reached = grown, reached | kept_roots


def _droppable_import(statement: _Statement, installed: set[str], needed: set[str]) -> bool:
    node = statement.node
    if not statement.as_released:
        return False
    if not isinstance(node, ast.Import | ast.ImportFrom) or (isinstance(node, ast.ImportFrom) and node.level):
        return False
    bindings = _bindings(node)
    return bool(bindings) and all(module in installed and name not in needed for name, module in bindings)


def _only_touches(statement: _Statement, unreached: set[str], libraries: set[str]) -> bool:
    """A statement whose only effect is on libraries no kept code reaches (through names bound by
    the blanked imports), or the line magic loading one of them."""
    if not statement.as_released:
        return False
    if statement.magic:
        return statement.magic in MAGIC_MODULES and statement.magic in libraries
    node = statement.node
    if not isinstance(node, TRIMMABLE) or isinstance(node, ast.Import | ast.ImportFrom):
        return False
    names = _names(node)
    return bool(names) and names <= unreached and _assigned(node) <= unreached


def _statements(cells: list[CodeCell], released: set[str]) -> list[_Statement] | None:
    """The top-level statements and line magics of the setup cells, each marked when all its lines
    are lines of the released setup cells (`released`, stripped); None when one cannot be read."""
    found: list[_Statement] = []
    for position, cell in enumerate(cells):
        if any(mark in cell.source for mark in ODD_LINE_ENDS):
            return None
        lines = cell.source.split("\n")
        if any(line.lstrip().startswith("%%") for line in lines[:1]):
            return None
        tree = _parsed(cell.source)
        if tree is None:
            return None
        magics = {number: line.strip()[1:].split(" ", 1)[0] for number, line in enumerate(lines) if line[:1] == "%"}
        if any(magic not in KNOWN_MAGICS for magic in magics.values()) or _escapes_inside(tree, lines):
            return None
        found += [_statement(position, lines, released, None, number, magic) for number, magic in magics.items()]
        found += [
            _statement(position, lines, released, node, node.lineno - 1)
            for node in tree.body
            if node.lineno - 1 not in magics  # the `pass` a magic was read as
        ]
    return found


def _escapes_inside(tree: ast.Module, lines: list[str]) -> bool:
    """A line read as a magic or shell line lies within a statement of several lines (inside a
    string, most likely, where it is no magic): the cell as parsed is not the cell IPython runs."""
    escapes = {number for number, line in enumerate(lines) if line.lstrip().startswith(("%", "!"))}
    return any(
        number in escapes
        for node in tree.body
        if (node.end_lineno or node.lineno) > node.lineno
        for number in range(node.lineno - 1, node.end_lineno or node.lineno)
    )


def _statement(
    position: int, lines: list[str], released: set[str], node: ast.stmt | None, first: int, magic: str = ""
) -> _Statement:
    """One statement (or line magic, `node` None) of a setup cell starting on line `first` (0-based)."""
    span = range(first, (node.end_lineno or node.lineno) if node is not None else first + 1)
    as_released = all(not lines[n].strip() or lines[n].strip() in released for n in span if n < len(lines))
    return _Statement(position, node, span, magic, as_released)


def _parsed(source: str, magics: bool = True) -> ast.Module | None:
    """A cell's code, its line magics and shell lines read as `pass` (`magics`; else refused); None
    when it does not parse."""
    if not magics and any(line.lstrip().startswith(("%", "!")) for line in source.split("\n")):
        return None
    return cell_tree(source)


def _gone_lines(cell: CodeCell, dropped: list[_Statement], kept: list[_Statement]) -> set[int]:
    """The lines (0-based) with code on them that the dropped statements occupy and no kept one shares."""
    lines = cell.source.split("\n")
    gone = {number for s in dropped for number in s.lines} - {number for s in kept for number in s.lines}
    return {number for number in gone if number < len(lines) and lines[number].strip()}


def _blanked(cell: CodeCell, gone: set[int]) -> CodeCell:
    """The cell with those lines replaced by `pass` (not emptied: IPython drops a cell's leading
    empty lines, which would renumber the rest): every other line keeps its number."""
    if not gone:
        return cell
    lines = cell.source.split("\n")
    return replace(cell, source="\n".join("pass" if number in gone else line for number, line in enumerate(lines)))


def _bindings(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(name bound, module imported) of an import; empty for a star import (it binds what it likes)."""
    if isinstance(node, ast.Import):
        return [(alias.asname or alias.name.split(".")[0], alias.name) for alias in node.names]
    if any(alias.name == "*" for alias in node.names) or not node.module:
        return []
    return [(alias.asname or alias.name, node.module) for alias in node.names]


def _names(tree: ast.AST) -> set[str]:
    """Every name the code reads, binds or declares anywhere (a superset of what it reads)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.update(node.names)
    return found


def _assigned(node: ast.stmt) -> set[str]:
    """The plain names a statement binds (`x = ...`; not `x.y = ...` or `x[i] = ...`)."""
    targets: Iterable[ast.expr] = ()
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    return {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name) and n is target}


def _dynamic(graded: list[ast.Module], kept: list[ast.stmt]) -> bool:
    """Code that can reach a global or a module without naming it."""
    trees: list[ast.AST] = [*graded, *kept]
    names = set().union(*(_names(tree) for tree in trees))
    roots = {_root(name) for tree in trees for name in tree_imports(tree)}
    attributes = {node.attr for tree in trees for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return bool(names & DYNAMIC_NAMES or roots & DYNAMIC_MODULES or names & DYNAMIC_MODULES) or bool(
        attributes & DYNAMIC_ATTRIBUTES
    )


def _own_imports(assignment: Assignment) -> set[str]:
    """The top-level packages the assignment's own modules import when loaded (not in functions)."""
    roots: set[str] = set()
    for name in assignment.support:
        path = assignment.folder / name
        for module in [path] if path.suffix == ".py" else sorted(path.rglob("*.py")) if path.is_dir() else []:
            roots |= _loaded_imports(module)
    return roots


def _loaded_imports(module: Path) -> set[str]:
    """The top-level packages a module imports as it loads: its body and class bodies, not its functions'."""
    try:
        tree = ast.parse(module.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return {"*"}  # unreadable: assume it reaches everything
    roots: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        roots.update(_root(name) for name in tree_imports(node) if isinstance(node, ast.Import | ast.ImportFrom))
        pending.extend(ast.iter_child_nodes(node))
    return roots


def _root(module: str) -> str:
    return module.split(".")[0]
