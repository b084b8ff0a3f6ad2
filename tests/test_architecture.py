"""The package's shape: imports point one way down the layers, with no cycle; `import grader` pulls
in nothing of an assignment or of the reference; only the CLI parses command lines with argparse.

Imports are read with ast from the source (function-level imports included), so a violation is
found whether or not the code path that imports it runs.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures import ROOT

PACKAGE = ROOT / "grader"

# Top to bottom: a module may import modules of its own unit or of a unit in a lower layer only.
LAYERS = [
    ("grader.__main__",),
    ("grader.cli", "grader.pytest_plugin"),
    ("grader.verbs",),
    ("grader.batch",),
    ("grader.render",),
    ("grader.store",),
    ("grader.grading",),
    ("grader.judge",),
    ("grader.kernel", "grader.assignment"),
    ("grader.model", "grader.errors"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str) -> set[str]:
    """The grader modules `name` imports (a package's name when the import names the package)."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES}
    return {m for m in found if m in MODULES and m != name}


def unit(name: str) -> tuple[int, str]:
    """(layer index, the unit: the subpackage or top-level module) of a grader module."""
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if name == prefix or name.startswith(prefix + "."):
                return index, prefix
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in {Path(__file__).name}")


GRAPH = {name: imported(name) for name in MODULES}


def test_every_module_has_a_layer():
    for name in MODULES:
        if name != "grader" and not name.endswith("__init__"):
            unit(name)


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module in the same or a higher layer, outside the importer's own unit."""
    wrong = []
    for name, targets in graph.items():
        if name == "grader" or name.endswith("__init__") or MODULES.get(name, Path("x.py")).name == "__init__.py":
            continue
        layer, own = unit(name)
        for target in targets:
            if target == "grader" or (MODULES[target].name == "__init__.py" and own.startswith(target)):
                continue
            target_layer, target_unit = unit(target)
            if target_unit != own and target_layer <= layer:
                wrong.append(f"{name} imports {target}")
    return wrong


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph.get(name, ())):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    return cycles


def test_imports_point_down_the_layers():
    assert layer_violations(GRAPH) == []


def test_no_import_cycle():
    assert import_cycles(GRAPH) == []


def test_the_checks_see_a_wrong_import_and_a_cycle():
    """Neither check is vacuous: one upward import added to the real graph is caught by both."""
    planted = {name: set(targets) for name, targets in GRAPH.items()}
    planted["grader.kernel.session"].add("grader.grading")
    assert layer_violations(planted) == ["grader.kernel.session imports grader.grading"]
    assert import_cycles(planted) != []


def test_only_the_cli_imports_argparse():
    users = [name for name, path in MODULES.items()
             if name != "grader.cli" and any(isinstance(node, ast.Import | ast.ImportFrom)
                                            and "argparse" in ([a.name for a in node.names] + [node.module or ""]
                                                               if isinstance(node, ast.ImportFrom)
                                                               else [a.name for a in node.names])
                                            for node in ast.walk(ast.parse(path.read_text())))]
    assert users == []


def test_importing_the_grader_pulls_in_no_assignment_or_reference(tmp_path):
    """Every grader module imported, in a fresh interpreter outside the checkout: none of the
    assignments' own modules, the reference or an instructor module loaded by path is among them."""
    assignment_modules = sorted({path.stem for path in (ROOT / "assignments").glob("*/*.py")})
    code = (
        "import importlib, json, sys\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    if name != 'grader.__main__': importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout)
    assert "grader.kernel.session" in loaded  # the import above really happened
    foreign = {"reference", *assignment_modules}
    assert [m for m in loaded if m.split(".")[0] in foreign or m.startswith("_grader_")] == []


def test_import_grader_is_cheap(tmp_path):
    """`import grader` loads only the package itself: its public names are imported on first use."""
    code = "import grader, sys; print(sorted(m for m in sys.modules if m.startswith('grader')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "['grader']", done.stderr[-2000:]
