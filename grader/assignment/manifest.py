"""An assignment as data: its manifest, its cases and its expected values.

The grader knows nothing about any one assignment; everything comes from the assignment's folder
(`assignment.toml`, a cases module, an expected-values file). The same class serves a student's
release bundle, which holds only the public part: the manifest and the public tests' expectations.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from grader.errors import GraderError
from grader.records import Limits

MANIFEST = "assignment.toml"
DEFAULT_LIMITS = Limits().as_dict()  # the defaults live in grader.records.Limits


_MODULES: dict[tuple[str, int], ModuleType] = {}


def load_module(path: Path, label: str, import_paths: tuple[Path, ...] = ()) -> ModuleType:
    """An instructor-side module of an assignment folder (cases, mistakes), executed once per process
    and per version of the file, so that what its hooks build and cache survives between submissions.

    It is loaded by path; `import_paths` are the folders its manifest declares (`instructor_path`)
    for the modules it imports itself, put on sys.path for it. Nothing else is added.
    """
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _MODULES:
        for folder in import_paths:
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        spec = importlib.util.spec_from_file_location(label, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[key] = module
    return _MODULES[key]


class AssignmentError(GraderError):
    """The assignment folder is missing something or says something the grader cannot use."""


@dataclass(frozen=True)
class GradedFunction:
    name: str
    points: float
    signature: tuple[str, ...]


@dataclass
class Assignment:
    folder: Path
    name: str
    title: str
    version: str
    solution: str
    student_notebook: str
    support: list[str]
    cases_file: str
    expected_file: str
    mistakes_file: str  # the catalogue of known mistakes ("" when the assignment has none)
    mistakes_expected_file: str
    setup_marker: str
    functions: list[GradedFunction]
    data_variable: str  # the environment variable naming the dataset folder (for --execute all)
    rtol: float
    atol: float
    limits: dict = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    instructor_paths: tuple[Path, ...] = ()
    """Folders (from the manifest's `instructor_path`, relative to the assignment folder) that its
    cases and mistakes modules import from; the grader adds no other folder to sys.path."""

    @property
    def is_bundle(self) -> bool:
        """True for a student's release bundle: public cases only, no cases module."""
        return not (self.folder / self.cases_file).exists()

    def function(self, name: str) -> GradedFunction:
        for graded in self.functions:
            if graded.name == name:
                return graded
        raise KeyError(name)

    def cases_module(self) -> ModuleType:
        """The instructor's cases module (hidden cases included)."""
        path = self.folder / self.cases_file
        if not path.exists():
            raise AssignmentError(f"{path} is missing: hidden cases are only in the instructor's assignment folder")
        return load_module(path, f"_grader_cases_{self.name}", self.instructor_paths)

    def cases(self, public_only: bool = False) -> list[dict]:
        """Every grading case, or only the public ones (which a bundle can supply by itself)."""
        if self.is_bundle:
            return self.public_cases()
        cases = list(self.cases_module().CASES)
        return [c for c in cases if c["visibility"] == "visible"] if public_only else cases

    def public_cases(self) -> list[dict]:
        """Public cases with their expected values, from the public tests' JSON file."""
        path = self.folder / "public_tests_expected.json"
        if not path.exists():
            raise AssignmentError(f"{path} is missing: run `grader expected` in the assignment folder")
        document = json.loads(path.read_text())
        cases = []
        for function, entries in document.items():
            for entry in entries:
                cases.append({"id": entry["name"], "function": function, "visibility": "visible",
                              "description": entry.get("description", entry["name"]),
                              "recipe": entry["recipe"], "compare": entry.get("compare", ["parameters", "costs"]),
                              "public_expected": entry["expected"]})
        return cases

    def prepare_workdir(self, folder: Path) -> None:
        """Copy the support files into a kernel's folder, plus any input files the cases read."""
        import shutil

        for name in self.support:
            source = self.folder / name
            if source.is_dir():
                shutil.copytree(source, folder / name, dirs_exist_ok=True)
            elif source.exists():
                shutil.copy2(source, folder / name)
        if not self.is_bundle:
            hook = getattr(self.cases_module(), "prepare_workdir", None)
            if hook:
                hook(folder)


def _require(table: dict, key: str, where: str):
    if key not in table:
        raise AssignmentError(f"{where} lacks `{key}`")
    return table[key]


def load_assignment(folder: str | Path) -> Assignment:
    """Read an assignment folder (or a release bundle) and check its manifest."""
    folder = Path(folder).resolve()
    path = folder / MANIFEST
    if not path.is_file():
        raise AssignmentError(f"{folder} has no {MANIFEST}: pass the assignment folder (or the release bundle)")
    try:
        manifest = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise AssignmentError(f"{path} is not valid TOML: {error}") from None
    head = _require(manifest, "assignment", str(path))
    where = f"{path} [assignment]"
    functions = [
        GradedFunction(_require(f, "name", f"{path} [[function]]"), float(f.get("points", 1)),
                       tuple(f.get("signature", ())))
        for f in manifest.get("function", [])
    ]
    if not functions:
        raise AssignmentError(f"{path} declares no [[function]] to grade")
    limits = dict(DEFAULT_LIMITS)
    limits.update(manifest.get("limits", {}))
    tolerance = manifest.get("tolerance", {})
    return Assignment(
        folder=folder,
        name=_require(head, "name", where),
        title=head.get("title", head["name"]),
        version=str(head.get("version", "1")),
        solution=head.get("solution", ""),
        student_notebook=head.get("student_notebook", "notebook.ipynb"),
        support=list(head.get("support", [])),
        cases_file=head.get("cases", "cases.py"),
        expected_file=head.get("expected", "expected.npz"),
        mistakes_file=head.get("mistakes", ""),
        mistakes_expected_file=head.get("mistakes_expected", "mistakes_expected.npz"),
        setup_marker=head.get("setup_marker", "import"),
        data_variable=head.get("data_variable", "DATA_DIR"),
        functions=functions,
        rtol=float(tolerance.get("rtol", 1e-6)),
        atol=float(tolerance.get("atol", 1e-9)),
        limits=limits,
        instructor_paths=tuple((folder / entry).resolve() for entry in head.get("instructor_path", [])),
    )
