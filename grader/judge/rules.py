"""The course's submission rules, checked statically and explained in plain words.

The original course warns that extra print statements, extra code cells, changed function
parameters, global variables inside graded functions and edits outside the learner's regions make
its grader fail with an opaque "Grader feedback not found". Here each is found with `ast` and a
line diff against the released notebook, and reported with its cell and line and what to do.
Nothing here runs the student's code, and nothing here stops grading: findings are warnings.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import functools
import io
import itertools
import re
import time
import tokenize
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader.assignment.manifest import Assignment
from grader.assignment.notebook import graded_name
from grader.assignment.released import empty_regions, is_region_marker, region_spans, released_code_cells
from grader.model import Finding, ReleaseMarkers
from grader.model.notebook import CodeCell, ParsedNotebook
from grader.model.report import FindingRule

BUILTIN_NAMES = frozenset(dir(builtins)) | {"__name__", "__file__", "get_ipython", "display"}
MATCH_THRESHOLD = 0.5  # how alike an edited cell must stay to count as the released one
SIMILARITY_LINES = 200  # cells are compared on their first lines only: big cells stay cheap
SHORT_CELL_LINES, SHORT_CELL_CHARS = 4, 400  # cells this short are also compared character by character
MAX_EDIT_FINDINGS = 5  # per cell; beyond that one finding sums up the rest
# Bounds: the rules are advice, so on absurd input they give up (and say so) rather than cost the
# grader gigabytes and minutes (a 4 MB cell made ast, tokenize and difflib take 1.5 GB and 84 s).
MAX_RULES_CELL_CHARS = 200_000  # a graded cell larger than this is not analysed (as grader.judge.patterns)
MAX_RULES_TOTAL_CHARS = 2_000_000  # all the cells read for the notebook's variables
MAX_RULES_CELLS = 500  # submitted code cells matched against the released ones
RULES_SECONDS = 20.0  # after this, the remaining rules are not checked
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
SCOPE_NODES = (*FUNCTION_NODES, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _parse(source: str) -> ast.Module:
    """Parse a cell, with IPython's %magics and !commands turned into the calls IPython makes."""
    try:
        return ast.parse(source)
    except SyntaxError as error:
        original = error
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        transformed = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - without IPython, or on input it cannot read, the error stands
        raise original from None
    if transformed == source:
        raise original
    try:
        return ast.parse(transformed)
    except SyntaxError:
        raise original from None  # its line numbers are the cell's own


@dataclass
class _Cell:
    """A graded cell of the submission with what the rules need to know about it."""

    name: str
    cell: CodeCell
    tree: ast.Module | None
    function: ast.FunctionDef | ast.AsyncFunctionDef | None

    @property
    def number(self) -> int:
        return self.cell.index + 1

    def finding(self, rule: FindingRule, line: int | None = None, **facts: Any) -> Finding:
        return Finding(rule, self.number, line, function=self.name, **facts)


def _function_def(tree: ast.Module | None, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    found: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    if tree is not None:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found = node
    return found


# --- rule: extra print statements --------------------------------------------------------------


def _print_calls(tree: ast.Module) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    ]


@functools.lru_cache(maxsize=64)
def _released_tree(released_source: str) -> ast.Module | None:
    """A released cell's tree, parsed once per process (only read, never changed)."""
    try:
        return _parse(released_source)
    except (SyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def _released_prints(released_source: str) -> tuple[str, ...] | None:
    """The print calls of a released cell, as written (read once per process: every submission asks)."""
    tree = _released_tree(released_source)
    return None if tree is None else tuple(ast.unparse(call) for call in _print_calls(tree))


def _extra_prints(graded: _Cell, released_source: str | None) -> list[Finding]:
    released = _released_prints(released_source) if released_source is not None else None
    if graded.tree is None or released is None:
        return []
    allowed = Counter(released)
    findings = []
    for call in sorted(_print_calls(graded.tree), key=lambda c: (c.lineno, c.col_offset)):
        text = ast.unparse(call)
        if allowed[text] > 0:
            allowed[text] -= 1
            continue
        function = graded.function
        inside = function is not None and function.lineno <= call.lineno <= (function.end_lineno or function.lineno)
        findings.append(graded.finding(FindingRule.EXTRA_PRINT, call.lineno, code=_short(text, 50), inside=inside))
    return findings


# --- rule: changed function parameters ---------------------------------------------------------


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Each parameter as written, with its default: ['X', 'learning_rate=0.0075', '*args', ...]."""
    args = function.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    shown = [
        arg.arg + (f"={ast.unparse(default)}" if default is not None else "")
        for arg, default in zip(positional, defaults, strict=True)
    ]
    if args.vararg:
        shown.append("*" + args.vararg.arg)
    elif args.kwonlyargs:
        shown.append("*")
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        shown.append(arg.arg + (f"={ast.unparse(default)}" if default is not None else ""))
    if args.kwarg:
        shown.append("**" + args.kwarg.arg)
    return shown


def _positional_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [arg.arg for arg in function.args.posonlyargs + function.args.args]


def _changed_parameters(
    graded: _Cell, released_function: ast.FunctionDef | ast.AsyncFunctionDef | None, assignment: Assignment
) -> list[Finding]:
    if graded.tree is None:
        return []
    if graded.function is None:
        return [graded.finding(FindingRule.NO_FUNCTION, 1)]
    try:
        expected = tuple(assignment.function(graded.name).signature)
    except KeyError:
        expected = ()
    names = tuple(_positional_names(graded.function))
    line = graded.function.lineno
    if expected and names[: len(expected)] != expected:
        return [graded.finding(FindingRule.PARAMETER_ORDER, line, names=names, expected=expected)]
    if released_function is None:
        return []
    return [
        graded.finding(rule, line, **facts)
        for rule, facts in _parameter_differences(_parameters(graded.function), _parameters(released_function))
    ]


def _parameter_differences(mine: list[str], theirs: list[str]) -> list[tuple[FindingRule, dict]]:
    """What differs between two parameter lists: the names first, else each changed default."""

    def split(shown: str) -> tuple[str, str]:
        name, _, default = shown.partition("=")
        return name, default

    my_names, their_names = tuple(split(p)[0] for p in mine), tuple(split(p)[0] for p in theirs)
    if my_names != their_names:
        return [(FindingRule.PARAMETER_NAMES, {"names": my_names, "expected": their_names})]
    changes = tuple(
        (name, my_default, their_default)
        for (name, my_default), (_, their_default) in zip(map(split, mine), map(split, theirs), strict=True)
        if my_default != their_default
    )
    return [(FindingRule.PARAMETER_DEFAULTS, {"changes": changes})] if changes else []


# --- rule: global variables inside graded functions --------------------------------------------


def _bound_at_top_level(tree: ast.Module) -> dict[str, int]:
    """Names a cell assigns at notebook level (not imports, not inside defs), with the first line."""
    found: dict[str, int] = {}

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, SCOPE_NODES):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                found.setdefault(child.id, child.lineno)
            visit(child)

    visit(tree)
    return found


def _parse_for_bindings(source: str) -> ast.Module:
    """A cell parsed for the names it binds. A line magic or shell escape starting a line (the usual
    `%matplotlib inline`) binds nothing, as IPython's own rewriting of it does: read as `pass`, it
    spares importing IPython (a fifth of a second of every check). Where `pass` cannot stand (inside
    an expression) the parse fails and IPython rewrites the cell; a `%%` cell magic goes to it too."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    escaped = ("%", "!")
    lines = ["pass" if line.startswith(escaped) and not line.startswith("%%") else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return _parse(source)


def _notebook_variables(parsed: ParsedNotebook) -> dict[str, int]:
    """Every notebook-level variable of the submission, with the 1-based cell that first sets it.

    Cells past the size bounds are not read (their variables are then not known to the rules).
    """
    variables: dict[str, int] = {}
    budget = MAX_RULES_TOTAL_CHARS
    for cell in parsed.cells:
        if len(cell.source) > min(MAX_RULES_CELL_CHARS, budget):
            continue
        budget -= len(cell.source)
        try:
            tree = _parse_for_bindings(cell.source)
        except (SyntaxError, ValueError):
            continue
        for name in _bound_at_top_level(tree):
            variables.setdefault(name, cell.index + 1)
    return variables


def _reads_of_outside_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[dict[str, int], list[int]]:
    """Names the function reads without binding them itself (first line each), and its `global` lines."""
    bound: set[str] = {arg.arg for arg in ast.walk(function.args) if isinstance(arg, ast.arg)}
    declared_global: set[str] = set()
    global_lines: list[int] = []
    nodes = [node for statement in function.body for node in ast.walk(statement)]
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global.update(node.names)
            global_lines.append(node.lineno)
    bound -= declared_global
    reads: dict[str, int] = {}
    for node in nodes:
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id not in bound
            and node.id not in BUILTIN_NAMES
        ):
            reads[node.id] = min(reads.get(node.id, node.lineno), node.lineno)
    return reads, global_lines


def _global_variables(graded: _Cell, variables: dict[str, int], markers: ReleaseMarkers) -> list[Finding]:
    """`global` lines, and reads of notebook variables; none of the reads while a learner region is
    still empty, as released: the name read is then most likely one that region is meant to set."""
    if graded.function is None:
        return []
    reads, global_lines = _reads_of_outside_names(graded.function)
    findings = [graded.finding(FindingRule.GLOBAL_DECLARED, line) for line in global_lines]
    if empty_regions(graded.cell.source, markers):
        return findings
    for name, line in sorted(reads.items(), key=lambda item: item[1]):
        if name in variables:
            findings.append(graded.finding(FindingRule.GLOBAL_READ, line, name=name, set_in=variables[name]))
    return findings


# --- rule: edits outside the learner's regions -------------------------------------------------


def _without_comments(lines: list[str]) -> list[str]:
    """The lines with their comments cut off (by the tokenizer, so a '#' inside a string stays)."""
    cuts: dict[int, int] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if token.type == tokenize.COMMENT:
                cuts[token.start[0] - 1] = token.start[1]
    except (tokenize.TokenError, SyntaxError):  # a cell that does not parse: line by line, roughly
        return [_cut_comment(line) for line in lines]
    return [line[: cuts[i]] if i in cuts else line for i, line in enumerate(lines)]


def _cut_comment(line: str) -> str:
    """The line without its comment, reading quotes within the line only."""
    quote = None
    for position, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:position]
    return line


def _unspaced(line: str) -> str:
    return "".join(line.split())


def _outside_lines(source: str, markers: ReleaseMarkers) -> list[tuple[int, str]]:
    """(line number, code) outside the learner's regions; blank lines and comments do not count.

    The region markers themselves are kept, so that a removed or altered marker shows as an edit.
    """
    lines = source.split("\n")
    inside = {i for start, end in region_spans(lines, markers) for i in range(start + 1, end)}
    code = _without_comments(lines)
    kept = []
    for i, line in enumerate(lines):
        if i in inside:
            continue
        if is_region_marker(line, markers):
            kept.append((i + 1, line.strip()))
        elif code[i].strip():
            kept.append((i + 1, code[i].rstrip()))
    return kept


@functools.lru_cache(maxsize=64)
def _released_outside_lines(source: str, markers: ReleaseMarkers) -> tuple[tuple[int, str], ...]:
    """_outside_lines of a released cell, read once per process (every submission compares with it)."""
    return tuple(_outside_lines(source, markers))


def _edits_outside_regions(
    graded: _Cell, released_source: str | None, explained: set[int], markers: ReleaseMarkers
) -> list[Finding]:
    if released_source is None:
        return []
    theirs = list(_released_outside_lines(released_source, markers))
    mine = _outside_lines(graded.cell.source, markers)
    # Spacing is not an edit (a formatter's `x=1` for `x = 1`): lines are compared without white space.
    matcher = difflib.SequenceMatcher(
        None, [_unspaced(t) for _, t in theirs], [_unspaced(t) for _, t in mine], autojunk=False
    )
    findings = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        added = mine[j1:j2]
        if added and all(number in explained for number, _ in added):
            continue  # already reported as an extra print or a changed def line
        findings.append(_edit_finding(graded, tag, (theirs[i1:i2], added), mine, j1, markers))
    if len(findings) > MAX_EDIT_FINDINGS:
        rest = len(findings) - MAX_EDIT_FINDINGS
        findings = findings[:MAX_EDIT_FINDINGS] + [
            graded.finding(FindingRule.EDITS_MORE, findings[MAX_EDIT_FINDINGS].line, more=rest)
        ]
    return findings


def _edit_finding(
    graded: _Cell, tag: str, change: tuple[list, list], mine: list, at: int, markers: ReleaseMarkers
) -> Finding:
    """One edit outside the learner's regions: a marker lost, a line replaced, added or removed."""
    removed, added = change
    lost_markers = [text for _, text in removed if is_region_marker(text, markers)]
    if lost_markers and not any(is_region_marker(text, markers) for _, text in added):
        line = added[0][0] if added else (mine[at][0] if at < len(mine) else None)
        return graded.finding(FindingRule.MARKER_CHANGED, line, code=lost_markers[0])
    if tag == "replace":
        return graded.finding(
            FindingRule.EDIT_REPLACED,
            added[0][0],
            code=_short(added[0][1]),
            released=_short(removed[0][1]),
            more=len(added) - 1,
        )
    if tag == "insert":
        return graded.finding(FindingRule.EDIT_ADDED, added[0][0], code=_short(added[0][1]), more=len(added) - 1)
    line = mine[at][0] if at < len(mine) else (mine[-1][0] if mine else None)
    return graded.finding(FindingRule.EDIT_REMOVED, line, released=_short(removed[0][1]), more=len(removed) - 1)


# --- rule: extra code cells --------------------------------------------------------------------


def _normalized(source: str) -> list[str]:
    """The first SIMILARITY_LINES non-blank lines, stripped; read lazily, so a huge cell costs no copy."""
    lines = (match.group().strip() for match in re.finditer(r"[^\n]+", source))
    return list(itertools.islice((line for line in lines if line), SIMILARITY_LINES))


def _ratio(a: Sequence[str] | str, b: Sequence[str] | str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < MATCH_THRESHOLD or matcher.quick_ratio() < MATCH_THRESHOLD:
        return 0.0
    return matcher.ratio()


def _similarity(released: str, submitted: CodeCell, parsed: ParsedNotebook) -> float:
    """How alike two cells are, in [0, 1]; the graded cell of a function matches its released cell.

    Cells are compared line by line; short cells, where one edited line is most of the cell, also
    character by character.
    """
    released_name, submitted_name = graded_name(released), graded_name(submitted.source)
    if released_name or submitted_name:
        graded = submitted_name is not None and parsed.graded.get(submitted_name) is submitted
        return 2.0 if graded and released_name == submitted_name else 0.0
    a, b = _normalized(released), _normalized(submitted.source)
    if a == b:
        return 1.0
    ratio = _ratio(a, b)
    if ratio < MATCH_THRESHOLD and max(len(a), len(b)) <= SHORT_CELL_LINES:
        ratio = _ratio("\n".join(a)[:SHORT_CELL_CHARS], "\n".join(b)[:SHORT_CELL_CHARS])
    return ratio if ratio >= MATCH_THRESHOLD else 0.0


def _unmatched_cells(released: list[str], submitted: list[CodeCell], parsed: ParsedNotebook) -> list[CodeCell]:
    """Submitted cells left over by the best order-preserving match with the released cells."""
    n, m = len(released), len(submitted)
    # A cell found unchanged pairs only with its copies: the costly similarity is for edited cells.
    released_keys = [_normalized(r) for r in released]
    submitted_keys = [_normalized(s.source) for s in submitted]
    unchanged_r = {i for i, key in enumerate(released_keys) if key in submitted_keys}
    unchanged_s = {j for j, key in enumerate(submitted_keys) if key in released_keys}

    def pair(i: int, j: int) -> float:
        if (i in unchanged_r or j in unchanged_s) and not (
            graded_name(released[i]) or graded_name(submitted[j].source)
        ):
            return 1.0 if released_keys[i] == submitted_keys[j] else 0.0
        return _similarity(released[i], submitted[j], parsed)

    score = [[pair(i, j) for j in range(m)] for i in range(n)]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = best[i + 1][j + 1] + score[i][j] if score[i][j] > 0 else 0.0
            best[i][j] = max(best[i + 1][j], best[i][j + 1], take)
    matched, i, j = set(), 0, 0
    while i < n and j < m:
        if score[i][j] > 0 and best[i][j] == best[i + 1][j + 1] + score[i][j]:
            matched.add(j)
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return [cell for j, cell in enumerate(submitted) if j not in matched]


SELF_CHECK_LINES = {
    "from grader import check",
    "check()",
    "from grader import check; check()",
    "import grader",
    "grader.check()",
    "%grader check",
}


def is_self_check(source: str) -> bool:
    """The cell the released notebook's last cell tells students to add: `from grader import check;
    check()`. It is no extra cell: it only runs the self-check."""
    lines = [line.split("#")[0].strip() for line in source.splitlines()]
    lines = [line for line in lines if line]
    return bool(lines) and all(re.sub(r"\s+", " ", line) in SELF_CHECK_LINES for line in lines)


def _extra_cells(parsed: ParsedNotebook, released: list[str]) -> list[Finding]:
    submitted = [
        cell for cell in parsed.cells if cell.source and not cell.source.isspace() and not is_self_check(cell.source)
    ]
    released = [source for source in released if source.strip()]
    findings = []
    for cell in _unmatched_cells(released, submitted, parsed):
        name = graded_name(cell.source)
        if name and parsed.graded.get(name) is not cell:
            findings.append(Finding(FindingRule.SECOND_GRADED_CELL, cell.index + 1, function=name))
        else:
            findings.append(Finding(FindingRule.EXTRA_CELL, cell.index + 1))
    return findings


# --- all rules ---------------------------------------------------------------------------------


def _syntax_finding(graded: _Cell, error: SyntaxError) -> Finding:
    return graded.finding(FindingRule.SYNTAX_ERROR, error.lineno, detail=error.msg or "invalid syntax")


def _graded_cell_rules(
    name: str, cell: CodeCell, released_source: str | None, assignment: Assignment, variables: dict[str, int]
) -> list[Finding]:
    try:
        tree, error = _parse(cell.source), None
    except (SyntaxError, ValueError) as problem:
        tree, error = None, problem
    graded = _Cell(name, cell, tree, _function_def(tree, name))
    released_tree = _released_tree(released_source) if released_source is not None else None
    found = []
    if isinstance(error, SyntaxError):
        found.append(_syntax_finding(graded, error))
    elif error is not None:
        found.append(graded.finding(FindingRule.NOT_PYTHON, detail=str(error)))
    found += _extra_prints(graded, released_source)
    found += _changed_parameters(graded, _function_def(released_tree, name), assignment)
    found += _global_variables(graded, variables, assignment.markers)
    explained = {f.line for f in found if f.rule == FindingRule.EXTRA_PRINT and f.line}
    changed = (FindingRule.PARAMETER_ORDER, FindingRule.PARAMETER_NAMES, FindingRule.PARAMETER_DEFAULTS)
    if any(f.rule in changed for f in found) and graded.function is not None:
        body_start = graded.function.body[0].lineno if graded.function.body else graded.function.lineno + 1
        explained.update(range(graded.function.lineno, body_start))
    return found + _edits_outside_regions(graded, released_source, explained, assignment.markers)


def _unchecked(what: str, error: Exception, cell: int | None = None, function: str = "") -> Finding:
    return Finding(FindingRule.UNCHECKED, cell, what=what, function=function, detail=type(error).__name__)


def _not_checked(what: str, why: str, cell: int | None = None, function: str = "", **facts: Any) -> Finding:
    return Finding(FindingRule.NOT_CHECKED, cell, what=what, function=function, why=why, **facts)


def _extra_cell_findings(parsed: ParsedNotebook, released: list[str], deadline: float) -> list[Finding]:
    """The extra-cells rule, within the bounds: it matches every submitted cell with every released one."""
    cells = sum(1 for cell in parsed.cells if cell.source and not cell.source.isspace())
    if cells > MAX_RULES_CELLS:
        return [_not_checked("cells", "too_many_cells", count=cells)]
    if time.monotonic() > deadline:
        return [_not_checked("cells", "too_slow")]
    try:
        return _extra_cells(parsed, released)
    except Exception as error:  # noqa: BLE001 - a rule that trips is reported as not checked
        return [_unchecked("cells", error)]


def check(parsed: ParsedNotebook, assignment: Assignment) -> list[Finding]:
    """Every broken submission rule of a parsed notebook, ordered by cell and line; never raises."""
    try:
        released = released_code_cells(assignment)
    except Exception as error:  # noqa: BLE001 - without the released notebook, fewer rules apply
        released = None
        findings = [_unchecked("released", error)]
    else:
        findings = []
    released_graded = {graded_name(source): source for source in released or [] if graded_name(source)}
    try:
        variables = _notebook_variables(parsed)
    except Exception as error:  # noqa: BLE001 - e.g. RecursionError on absurdly nested code
        variables = {}
        findings.append(_unchecked("variables", error))
    deadline = time.monotonic() + RULES_SECONDS
    for name, cell in parsed.graded.items():
        if time.monotonic() > deadline:
            findings.append(_not_checked("cell", "too_slow", cell.index + 1, name))
        elif len(cell.source) > MAX_RULES_CELL_CHARS:
            findings.append(
                _not_checked(
                    "cell",
                    "too_large",
                    cell.index + 1,
                    name,
                    size=f"{len(cell.source) // 1000}:{cell.source.count(chr(10)) + 1}",
                )
            )
        else:
            try:
                findings += _graded_cell_rules(name, cell, released_graded.get(name), assignment, variables)
            except Exception as error:  # noqa: BLE001 - a rule that trips is reported as not checked
                findings.append(_unchecked("cell", error, cell.index + 1, name))
    if released is not None:
        findings += _extra_cell_findings(parsed, released, deadline)
    findings.sort(key=lambda f: (f.cell or 0, f.line or 0))
    return findings
