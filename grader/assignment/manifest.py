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
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from grader.errors import GraderError
from grader.model import AuthoredMistake, Case, GradedFunction, Limits, ReleaseMarkers, Tolerance, Visibility
from grader.model.labels import template_problem

MANIFEST = "assignment.toml"
RELEASE_MARKER_FILE = ".grader-release.json"  #: written by `grader release` into every bundle


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
        if spec is None or spec.loader is None:
            raise AssignmentError(f"{path} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except ModuleNotFoundError as error:
            raise AssignmentError(_not_importable(path, error, import_paths)) from None
        except Exception as error:  # noqa: BLE001 - the instructor's module: say which file fails, and where
            raise AssignmentError(f"{path} could not be loaded: {_failure(path, error)}") from None
        _MODULES[key] = module
    return _MODULES[key]


def _not_importable(path: Path, error: ModuleNotFoundError, import_paths: tuple[Path, ...]) -> str:
    """What to do when an instructor's module imports one the grader cannot find (e.g. its sibling)."""
    name = error.name or str(error)
    top = name.split(".")[0]
    sibling = path.parent / f"{top}.py"
    searched = ", ".join(str(p) for p in import_paths) or "none"
    if (sibling.is_file() or (path.parent / top).is_dir()) and path.parent.resolve() not in {
        p.resolve() for p in import_paths
    }:
        fix = (
            f'{top} sits beside it in the assignment folder: add instructor_path = ["."] to [assignment] in '
            f"{path.parent / 'assignment.toml'} (it puts the assignment's own folder on the path of its "
            "instructor modules)"
        )
    else:
        fix = (
            f"install {top}, or name the folder that holds it in [assignment] instructor_path (relative to "
            f'the assignment folder, e.g. instructor_path = ["."] or ["../.."]; searched now: {searched})'
        )
    return f"{path} imports {name}, which could not be found: {fix}"


def _failure(path: Path, error: Exception) -> str:
    """An exception raised while executing a module, with the module's line it came from."""
    line = next(
        (frame.lineno for frame in reversed(traceback.extract_tb(error.__traceback__)) if frame.filename == str(path)),
        getattr(error, "lineno", None),
    )
    where = f" (line {line})" if line else ""
    return f"{type(error).__name__}{where}: {error}"


class AssignmentError(GraderError):
    """The assignment folder is missing something or says something the grader cannot use."""


def _labels(function: dict, where: str) -> tuple[tuple[str, str], ...]:
    """A function's `labels` table (path template -> words), checked."""
    table = function.get("labels", {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise AssignmentError(
            f"{where}: the labels of '{function.get('name', '?')}' must be a table of texts, "
            'e.g. labels = { "caches[*][0][1]" = "the W of layer {1+1}\'s linear cache" }'
        )
    for template, label in table.items():
        problem = template_problem(str(template), label)
        if problem:
            raise AssignmentError(
                f"{where}: the label of '{function.get('name', '?')}' for \"{template}\" ({label!r}) cannot be "
                f"filled: {problem}. Write e.g. {{1}}, {{1+1}}, {{2-1}} or {{1*2+1}}: the first number names a `*`"
            )
    return tuple((str(key), value) for key, value in table.items())


RESERVED_PARTS = frozenset({"returned", "stdout", "inputs_unchanged"})  # what `compare` names besides parts
CASE_KEYS = {
    "id",
    "function",
    "description",
    "visibility",
    "recipe",
    "compare",
    "rtol",
    "atol",
    "misleading_globals",
    "checks",
    "public_expected",
    "exact_shapes",
}


def case_from_dict(data: object, where: str, functions: set[str]) -> Case:
    """A case from cases.py, with a clear message naming what is wrong."""
    if not isinstance(data, dict):
        raise AssignmentError(f"{where}: a case is not a dict")
    label = f"case '{data.get('id', '?')}'"
    for key in ("id", "function", "description", "visibility", "recipe"):
        if key not in data:
            raise AssignmentError(f"{where}: {label} lacks '{key}'")
    unknown = set(data) - CASE_KEYS
    if unknown:
        raise AssignmentError(f"{where}: {label} has unknown keys {sorted(unknown)}")
    if data["function"] not in functions:
        raise AssignmentError(
            f"{where}: {label} names the function '{data['function']}', which the manifest does not grade"
        )
    if data["visibility"] not in ("visible", "hidden"):
        raise AssignmentError(f"{where}: {label} has visibility '{data['visibility']}' (visible or hidden)")
    if not isinstance(data["recipe"], dict):
        raise AssignmentError(f"{where}: {label}'s recipe is not a dict")
    return Case(
        id=str(data["id"]),
        function=data["function"],
        description=str(data["description"]),
        visibility=Visibility(data["visibility"]),
        recipe=data["recipe"],
        compare=tuple(data.get("compare", ("returned",))),
        rtol=data.get("rtol"),
        atol=data.get("atol"),
        misleading_globals=dict(data.get("misleading_globals", {})),
        checks=tuple(data.get("checks", ("equality",))),
        public_expected=data.get("public_expected"),
        exact_shapes=bool(data.get("exact_shapes", False)),
    )


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
    limits: Limits = field(default_factory=Limits)  #: the defaults with the manifest's [limits] in their place
    instructor_paths: tuple[Path, ...] = ()
    """Folders (from the manifest's `instructor_path`, relative to the assignment folder) that its
    cases and mistakes modules import from; the grader adds no other folder to sys.path."""
    inputs: str = ""  # a builder module of the support files (build_inputs(recipe)); "" = the harness's recipes
    reference: str = ""  # instructor-only module defining the graded functions' reference versions
    curve: str = ""  # the returned part drawn as a curve in the feedback ("" = none)
    case_tables: tuple[Case, ...] = ()  #: the manifest's [[case]] tables, validated
    authored_mistakes: tuple[AuthoredMistake, ...] = ()  #: the manifest's [[mistake]] tables
    markers: ReleaseMarkers = field(default_factory=ReleaseMarkers)  #: the manifest's [release] table
    total_points: float | None = None  #: the manifest's stated total, when it states one

    def tolerance(self, function: str, case: Case | None = None):
        """The tolerance of a case: its own, else its function's, else the assignment's."""
        graded = self.function(function)
        rtol = next(v for v in (getattr(case, "rtol", None), graded.rtol, self.rtol) if v is not None)
        atol = next(v for v in (getattr(case, "atol", None), graded.atol, self.atol) if v is not None)
        return Tolerance(float(rtol), float(atol), bool(getattr(case, "exact_shapes", False)))

    @property
    def is_bundle(self) -> bool:
        """True for a student's release bundle: public cases only, no cases module and no [[case]] tables."""
        if (self.folder / RELEASE_MARKER_FILE).is_file():
            return True
        return not self.case_tables and not (self.cases_file and (self.folder / self.cases_file).is_file())

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
        return load_module(path, f"_grader_cases_{self.name}", self.instructor_paths)  # AssignmentError says why

    def cases(self, public_only: bool = False) -> list[Case]:
        """Every grading case, or only the public ones (which a bundle can supply by itself)."""
        if self.is_bundle:
            return self.public_cases()
        where = self.cases_file or MANIFEST
        functions = {f.name for f in self.functions}
        cases = list(self.case_tables)
        if self.cases_file and (self.folder / self.cases_file).is_file():
            module_cases = getattr(self.cases_module(), "CASES", [])
            cases += [case_from_dict(c, self.cases_file, functions) for c in module_cases]
        ids = [c.id for c in cases]
        if len(set(ids)) != len(ids):
            raise AssignmentError(f"{where}: two cases share the id '{next(i for i in ids if ids.count(i) > 1)}'")
        return [c for c in cases if c.visibility == "visible"] if public_only else cases

    def public_cases(self) -> list[Case]:
        """Public cases with their expected values, from the public tests' JSON file."""
        path = self.folder / "public_tests_expected.json"
        if not path.exists():
            raise AssignmentError(f"{path} is missing: run `grader expected` in the assignment folder")
        document = json.loads(path.read_text())
        cases = []
        for function, entries in document.items():
            for entry in entries:
                cases.append(
                    Case(
                        id=entry["name"],
                        function=function,
                        visibility=Visibility.VISIBLE,
                        description=entry.get("description", entry["name"]),
                        recipe=entry["recipe"],
                        compare=tuple(entry.get("compare", ("returned",))),
                        rtol=entry.get("rtol"),
                        atol=entry.get("atol"),
                        exact_shapes=bool(entry.get("exact_shapes", False)),
                        public_expected=entry["graded"],
                    )
                )
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
        if not self.is_bundle and self.cases_file and (self.folder / self.cases_file).is_file():
            hook = getattr(self.cases_module(), "prepare_workdir", None)
            if hook:
                hook(folder)
        _readable_by_all(folder)


def _readable_by_all(folder: Path) -> None:
    """The kernel runs as another uid: its files must be readable whatever their source's modes (an
    assignment folder private to root, as on Gradescope). The folder is fresh and no kernel has
    touched it yet, so changing modes by path follows nothing a student made."""
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def _limits(table: object, path: Path) -> Limits:
    """The manifest's [limits] over the defaults: an unknown name or a limit no kernel can run under
    is refused, naming the key, never replaced by a default."""
    if not isinstance(table, dict):
        raise AssignmentError(f"{path}: [limits] must be a table of numbers")
    try:
        limits = Limits().overridden(table)
    except KeyError as error:
        raise AssignmentError(
            f"{path}: [limits] has no limit named {error.args[0]} (the limits are {', '.join(Limits.names())})"
        ) from None
    refusal = limits.refusal(lambda name: f"[limits] {name}")
    if refusal:
        raise AssignmentError(f"{path}: {refusal}")
    return limits


def _require(table: dict, key: str, where: str):
    if key not in table:
        raise AssignmentError(f"{where} lacks `{key}`")
    return table[key]


def _graded_functions(manifest: dict, path: Path) -> list[GradedFunction]:
    """The manifest's [[function]] tables, each checked on its own and against the others."""
    functions = [
        GradedFunction(
            _require(f, "name", f"{path} [[function]]"),
            float(f.get("points", 1)),
            tuple(f.get("signature", ())),
            tuple(f.get("returns", ())),
            f.get("tolerance", {}).get("rtol"),
            f.get("tolerance", {}).get("atol"),
            _labels(f, str(path)),
            tuple(f.get("calls", ())),
            bool(f.get("given", False)),
        )
        for f in manifest.get("function", [])
    ]
    if not functions:
        raise AssignmentError(f"{path} declares no [[function]] to grade")
    graded_names = {f.name for f in functions}
    for graded in functions:
        taken = sorted(set(graded.returns) & RESERVED_PARTS)
        if taken:
            raise AssignmentError(
                f"{path}: '{graded.name}' names a returned part {taken[0]!r}, which a case's "
                f"`compare` list already uses for the grader's own check "
                f"({', '.join(sorted(RESERVED_PARTS))}): rename that part in `returns`"
            )
        unknown = [name for name in graded.calls if name not in graded_names]
        if unknown:
            raise AssignmentError(
                f"{path}: '{graded.name}' calls {unknown}, which the manifest does not grade "
                "(calls lists other [[function]] names)"
            )
    return functions


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
    functions = _graded_functions(manifest, path)
    limits = _limits(manifest.get("limits", {}), path)
    tolerance = manifest.get("tolerance", {})
    assignment = Assignment(
        folder=folder,
        name=_require(head, "name", where),
        title=head.get("title", head["name"]),
        version=str(head.get("version", "1")),
        solution=head.get("solution", ""),
        student_notebook=head.get("student_notebook", "notebook.ipynb"),
        support=list(head.get("support", [])),
        cases_file=head.get("cases", ""),
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
        inputs=head.get("inputs", ""),
        reference=head.get("reference", ""),
        curve=head.get("curve", ""),
        case_tables=tuple(
            case_from_dict(table, f"{MANIFEST} [[case]]", {f.name for f in functions})
            for table in manifest.get("case", [])
        ),
        authored_mistakes=tuple(AuthoredMistake(**table) for table in manifest.get("mistake", [])),
        markers=ReleaseMarkers(**manifest.get("release", {})),
        total_points=manifest["assignment"].get("total_points"),
    )
    if not assignment.is_bundle:
        assignment.cases()  # a malformed case is named now, not halfway through a batch
    return assignment
