"""What a zygote may import before any kernel starts: the installed modules the setup cell imports.

Read from the solution's setup cells (the cells holding the manifest's setup marker). A module the
assignment ships itself (a support file, its folder's own modules) is never preloaded: the kernel
must import that one from its own folder, as before. The zygote imports the rest from the Python
paths only, skipping any it cannot import; a module not preloaded is imported by the kernel as ever.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.assignment.manifest import Assignment
from grader.assignment.notebook import parse_notebook, read_notebook_text, read_regular
from grader.model.notebook import CodeCell


def setup_modules(assignment: Assignment) -> tuple[str, ...]:
    """The modules the solution's setup cells import (the released notebook's, in a release bundle),
    minus the assignment's own; empty without either notebook."""
    return modules_of(released_setup(assignment), assignment)


def released_setup(assignment: Assignment) -> list[CodeCell]:
    """The setup cells of the assignment's own notebook: the solution's in the instructor's folder,
    the released notebook's in a bundle; empty without either, or when it cannot be read."""
    names = [name for name in (assignment.solution, assignment.student_notebook) if name]
    path = next((assignment.folder / name for name in names if (assignment.folder / name).is_file()), None)
    if path is None:
        return []
    try:
        notebook = read_notebook_text(read_regular(path).decode("utf-8"), path.name)
        return parse_notebook(notebook, assignment.setup_marker, assignment.markers.mistake_marker).setup
    except Exception:  # noqa: BLE001 - loading the assignment says what is wrong with its notebook
        return []


def modules_of(cells: list[CodeCell], assignment: Assignment) -> tuple[str, ...]:
    """The installed modules these cells import (their line magics' included), minus the assignment's own."""
    own = _own_modules(assignment)
    found: list[str] = []
    for cell in cells:
        for name in (*imported(cell.source), *magic_modules(cell.source)):
            if name.split(".")[0] not in own and name not in found:
                found.append(name)
    return tuple(found)


# What a line magic of the setup cell makes IPython import: `%matplotlib inline` loads the inline backend.
MAGIC_MODULES = {
    "matplotlib": ("IPython.core.pylabtools", "IPython.core.magics.pylab", "matplotlib_inline.backend_inline"),
}


def magic_modules(source: str) -> list[str]:
    """The modules the line magics of a cell import when they run (see MAGIC_MODULES)."""
    names: list[str] = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("%") and not stripped.startswith("%%"):
            names += MAGIC_MODULES.get(stripped[1:].split(" ", 1)[0], ())
    return names


def imported(source: str) -> list[str]:
    """The absolute imports of a cell (IPython's magics and shell lines left out)."""
    tree = cell_tree(source)
    return tree_imports(tree) if tree is not None else []


def cell_tree(source: str) -> ast.Module | None:
    """A cell's code parsed, its line magics and shell lines read as `pass` (so every line keeps its
    number); None when it does not parse."""
    lines = ["pass" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def tree_imports(tree: ast.AST) -> list[str]:
    """Every module an absolute import anywhere in the code names (for `from m import x`, m and m.x)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"]
    return names


def _own_modules(assignment: Assignment) -> set[str]:
    """Top-level names the assignment's own files would provide in the kernel's folder."""
    own: set[str] = set()
    for folder in (assignment.folder, *[assignment.folder / name for name in assignment.support]):
        if folder.is_dir():
            own.update(_module_name(entry) for entry in folder.iterdir())
        own.add(_module_name(folder))
    return own


def _module_name(path: Path) -> str:
    return path.stem if path.suffix == ".py" else path.name
