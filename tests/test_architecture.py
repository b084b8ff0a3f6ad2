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
                cycles.append(path[path.index(target) :] + [target])
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
    users = [
        name
        for name, path in MODULES.items()
        if name != "grader.cli"
        and any(
            isinstance(node, ast.Import | ast.ImportFrom)
            and "argparse"
            in (
                [a.name for a in node.names] + [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
            )
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
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
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout)
    assert "grader.kernel.session" in loaded  # the import above really happened
    foreign = {"reference", *assignment_modules}
    assert [m for m in loaded if m.split(".")[0] in foreign or m.startswith("_grader_")] == []


def test_import_grader_is_cheap(tmp_path):
    """`import grader` loads only the package itself: its public names are imported on first use."""
    code = "import grader, sys; print(sorted(m for m in sys.modules if m.startswith('grader')))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip() == "['grader']", done.stderr[-2000:]


# --- records and words -----------------------------------------------------------------------------

SERIALIZERS = {"to_dict", "from_dict", "to_json", "from_json"}
RENDER = "grader.render"
BELOW_RENDER = ("grader.store", "grader.grading", "grader.judge", "grader.kernel", "grader.assignment", "grader.model")


def _decorated_as_record(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ("dataclass", "_record"):
            return True
    return any(getattr(base, "id", "") == "NamedTuple" for base in node.bases)


def _only_data(node: ast.ClassDef) -> bool:
    """A record holds data: its methods are private, properties, or (de)serializers only."""
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in item.decorator_list}
            if not (item.name.startswith("_") or item.name in SERIALIZERS or "property" in decorators):
                return False
    return True


def records_by_module(sources: dict[str, str]) -> dict[str, set[str]]:
    """The records (dataclasses that only hold data) each module defines."""
    found: dict[str, set[str]] = {}
    for name, source in sources.items():
        for node in ast.parse(source).body:
            if isinstance(node, ast.ClassDef) and _decorated_as_record(node) and _only_data(node):
                found.setdefault(name, set()).add(node.name)
    return found


def records_outside_the_model(sources: dict[str, str]) -> list[str]:
    """Each record that another unit imports but that is defined outside grader.model."""
    records = records_by_module(sources)
    wrong = []
    for name, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.ImportFrom) or node.module not in records:
                continue
            if name == "grader" or unit(node.module)[1] == unit(name)[1]:
                continue
            for alias in node.names:
                if alias.name in records[node.module] and not node.module.startswith("grader.model"):
                    wrong.append(f"{name} imports the record {node.module}.{alias.name}")
    return wrong


SOURCES = {name: path.read_text() for name, path in MODULES.items()}


def test_records_that_cross_units_live_in_the_model():
    assert records_outside_the_model(SOURCES) == []


def test_the_record_check_sees_a_record_defined_elsewhere():
    planted = dict(SOURCES)
    planted["grader.judge.planted"] = "from dataclasses import dataclass\n@dataclass\nclass Verdict:\n    ok: bool\n"
    planted["grader.render.planted"] = "from grader.judge.planted import Verdict\n"
    found = set(records_outside_the_model(planted)) - set(records_outside_the_model(SOURCES))
    assert found == {"grader.render.planted imports the record grader.judge.planted.Verdict"}


def test_no_record_is_read_like_a_dict():
    """Records are read by attribute: none defines __getitem__ (the dict shim the model replaced)."""
    shims = [
        f"{name}.{node.name}"
        for name, source in SOURCES.items()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(item, ast.FunctionDef) and item.name == "__getitem__" for item in node.body)
    ]
    assert shims == []


def test_nothing_below_the_rendering_package_imports_it():
    """The judge, grading, the kernel layer, the gradebook and the model make no sentences: they
    import nothing from grader.render (which words their records)."""
    wrong = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name.startswith(BELOW_RENDER)
        for target in targets
        if target.startswith(RENDER)
    ]
    assert wrong == []
