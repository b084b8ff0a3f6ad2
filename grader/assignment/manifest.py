"""An assignment as data: its manifest, its cases and its expected values.

The grader knows nothing about any one assignment; everything comes from the assignment's folder
(`assignment.toml`, a cases module, an expected-values file). The same class serves a student's
release bundle, which holds only the public part: the manifest and the public tests' expectations.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from grader.assignment.recipes import recipe_problem
from grader.assignment.schema import (
    AssignmentError,
    CaseTable,
    FunctionTable,
    Manifest,
    closest,
    validate_case,
    validate_manifest,
)
from grader.model import AuthoredMistake, Case, GradedFunction, Limits, ReleaseMarkers, Tolerance, Visibility
from grader.model.graded import CallerPolicy
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


RESERVED_PARTS = frozenset({"returned", "stdout", "inputs_unchanged"})  # what `compare` names besides parts


def _case(table: CaseTable, where: str, functions: dict[str, GradedFunction], own_recipes: bool) -> Case:
    """A validated case table as a Case, checked against the function it grades: what it compares
    must exist, and its recipe must be one the harness can build (unless the assignment builds its own)."""
    label = f"{where} '{table.id}'"
    graded = functions.get(table.function)
    if graded is None:
        raise AssignmentError(
            f"{label} names the function '{table.function}', which the manifest does not grade "
            f"(the [[function]] names: {', '.join(functions)})"
        )
    if not table.compare:
        raise AssignmentError(
            f'{label}: `compare` is empty, so the case would grade nothing: list what it compares, e.g. ["returned"]'
        )
    valid = [*graded.returns, *sorted(RESERVED_PARTS)]
    for name in table.compare:
        if name not in valid:
            raise AssignmentError(
                f"{label}: `compare` names '{name}'{closest(name, valid)}, which is no part of '{graded.name}': "
                f"a case may compare {', '.join(valid)} (the parts are the function's `returns`)"
            )
    problem = "" if own_recipes else recipe_problem(table.recipe)
    if problem:
        raise AssignmentError(f"{label}: {problem}")
    return Case(
        id=table.id,
        function=table.function,
        description=table.description,
        visibility=Visibility(table.visibility),
        recipe=table.recipe,
        compare=tuple(table.compare),
        rtol=table.rtol,
        atol=table.atol,
        misleading_globals=dict(table.misleading_globals),
        checks=tuple(table.checks),
        exact_shapes=table.exact_shapes,
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
    data_files: tuple[str, ...] = ()  #: the files the dataset folder holds (`grader bench` checks them)
    callers: CallerPolicy = CallerPolicy.ALONE  #: the manifest's [grading] callers: how a caller of failing ones scores
    mutants_expected_file: str = ""  #: the solution's one-point mutants' outcomes ("" = no mutants)

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
        cases = list(self.case_tables)
        if self.cases_file and (self.folder / self.cases_file).is_file():
            cases += self._module_cases()
        ids = [c.id for c in cases]
        if len(set(ids)) != len(ids):
            where = f"{self.folder / MANIFEST} and {self.cases_file}" if self.cases_file else self.folder / MANIFEST
            raise AssignmentError(f"{where}: two cases share the id '{next(i for i in ids if ids.count(i) > 1)}'")
        return [c for c in cases if c.visibility == "visible"] if public_only else cases

    def _module_cases(self) -> list[Case]:
        """The cases module's CASES, each through the same checks as a [[case]] table."""
        module_cases = getattr(self.cases_module(), "CASES", [])
        where = str(self.folder / self.cases_file)
        if not isinstance(module_cases, list | tuple):
            raise AssignmentError(f"{where}: CASES must be a list of dicts")
        functions = {f.name: f for f in self.functions}
        return [
            _case(validate_case(data, where), f"{where} case", functions, bool(self.inputs)) for data in module_cases
        ]

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


INSTRUCTOR_TABLES = ("case", "mistake")  #: the manifest's tables a release bundle must not carry
_HEADER = re.compile(r"""^\s*\[\[?\s*("?)([A-Za-z0-9_-]+)\1\s*[.\]]""")


def _instructor_lines(lines: list[str]) -> set[int]:
    """The lines of the [[case]] and [[mistake]] tables (their sub-tables and the comments just above
    their headers included): from such a header to the next header of another table."""
    cut: set[int] = set()
    inside = False
    for number, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            inside = header.group(2) in INSTRUCTOR_TABLES
            if inside:
                above = number - 1
                while above >= 0 and lines[above].lstrip().startswith("#") and above not in cut:
                    cut.add(above)
                    above -= 1
        if inside:
            cut.add(number)
    return cut


def public_manifest_text(text: str) -> str:
    """The manifest as a release bundle ships it: without its [[case]] and [[mistake]] tables (hidden
    recipes, mistake texts), everything else as the author wrote it, comments included. The result
    is parsed again and must equal the original minus exactly those tables, or release stops."""
    lines = text.splitlines(keepends=True)
    cut = _instructor_lines(lines)
    public = "".join(line for number, line in enumerate(lines) if number not in cut)
    try:
        wanted = {k: v for k, v in tomllib.loads(text).items() if k not in INSTRUCTOR_TABLES}
        same = tomllib.loads(public) == wanted
    except tomllib.TOMLDecodeError:
        same = False
    if not same:
        raise AssignmentError(
            f"the {MANIFEST} to release could not be cut to its public part (without the [[case]] and "
            "[[mistake]] tables): write each case and mistake as its own [[case]] / [[mistake]] table "
            "(not an inline `case = [...]` array, not inside a multi-line string), then release again"
        )
    return public


def _limits(manifest: Manifest, path: Path) -> Limits:
    """The manifest's [limits] (its keys are Limits' names, checked by the schema): a limit no kernel
    can run under is refused, naming the key, never replaced by a default."""
    limits = Limits(**manifest.limits.model_dump())
    refusal = limits.refusal(lambda name: f"[limits] {name}")
    if refusal:
        raise AssignmentError(f"{path}: {refusal}")
    return limits


def _graded_function(table: FunctionTable) -> GradedFunction:
    return GradedFunction(
        table.name,
        float(table.points),
        tuple(table.signature),
        tuple(table.returns),
        table.tolerance.rtol,
        table.tolerance.atol,
        tuple(table.labels.items()),
        tuple(table.calls),
        table.given,
    )


def _graded_functions(manifest: Manifest, path: Path) -> list[GradedFunction]:
    """The manifest's [[function]] tables, each checked on its own and against the others."""
    functions = [_graded_function(table) for table in manifest.function]
    if not functions:
        raise AssignmentError(f"{path} declares no [[function]] to grade: add one [[function]] table per function")
    names = [f.name for f in functions]
    for graded in functions:
        where = f"{path} [[function]] '{graded.name}'"
        if names.count(graded.name) > 1:
            raise AssignmentError(f"{where} is declared twice: give each graded function one [[function]] table")
        for template, label in graded.labels:
            problem = template_problem(template, label)
            if problem:
                raise AssignmentError(
                    f'{where}: the label for "{template}" ({label!r}) cannot be filled: {problem}. '
                    "Write e.g. {1}, {1+1}, {2-1} or {1*2+1}: the first number names a `*`"
                )
        taken = sorted(set(graded.returns) & RESERVED_PARTS)
        if taken:
            raise AssignmentError(
                f"{where} names a returned part {taken[0]!r}, which a case's "
                f"`compare` list already uses for the grader's own check "
                f"({', '.join(sorted(RESERVED_PARTS))}): rename that part in `returns`"
            )
        unknown = [name for name in graded.calls if name not in names]
        if unknown:
            raise AssignmentError(
                f"{where} calls {unknown}, which the manifest does not grade (calls lists other [[function]] names)"
            )
    _check_total(manifest, functions, path)
    return functions


def _check_total(manifest: Manifest, functions: list[GradedFunction], path: Path) -> None:
    """A stated total must be what the functions' points add up to: a slip in one weight is caught."""
    total = manifest.assignment.total_points
    points = sum(f.points for f in functions)
    if total is not None and abs(points - total) > 1e-9:
        shares = ", ".join(f"{f.name} {f.points:g}" for f in functions)
        raise AssignmentError(
            f"{path} [assignment] total_points = {total:g}, but the [[function]] points sum to {points:g} "
            f"({shares}): correct the points or the total"
        )


def _mistakes(manifest: Manifest, functions: list[GradedFunction], path: Path) -> tuple[AuthoredMistake, ...]:
    """The [[mistake]] tables: each names a graded function, and no two share an id."""
    names = [f.name for f in functions]
    seen: set[str] = set()
    for table in manifest.mistake:
        where = f"{path} [[mistake]] '{table.id}'"
        if table.function not in names:
            raise AssignmentError(
                f"{where} names the function '{table.function}'{closest(table.function, names)}, which the "
                f"manifest does not grade (the [[function]] names: {', '.join(names)})"
            )
        if table.id in seen:
            raise AssignmentError(f"{where} is declared twice: give each mistake its own id")
        seen.add(table.id)
    return tuple(AuthoredMistake(**table.model_dump()) for table in manifest.mistake)


def read_manifest(path: Path) -> Manifest:
    """The manifest file, parsed and validated (every slip named with its table and key)."""
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise AssignmentError(f"{path} is not valid TOML: {error}") from None
    return validate_manifest(data, str(path))


def _inputs_module(inputs: str, support: list[str], path: Path) -> str:
    """The `inputs` builder, which the harness imports from the kernel's folder: so a support file."""
    if inputs and f"{inputs}.py" not in support:
        raise AssignmentError(
            f'{path} [assignment]: inputs = "{inputs}" names a builder module the kernel imports from its '
            f'folder, so {inputs}.py must be a support file: add "{inputs}.py" to `support`'
        )
    return inputs


def load_assignment(folder: str | Path) -> Assignment:
    """Read an assignment folder (or a release bundle) and check its manifest."""
    folder = Path(folder).resolve()
    path = folder / MANIFEST
    if not path.is_file():
        raise AssignmentError(f"{folder} has no {MANIFEST}: pass the assignment folder (or the release bundle)")
    manifest = read_manifest(path)
    head = manifest.assignment
    functions = _graded_functions(manifest, path)
    by_name = {f.name: f for f in functions}
    assignment = Assignment(
        folder=folder,
        name=head.name,
        title=head.title or head.name,
        version=head.version,
        solution=head.solution,
        student_notebook=head.student_notebook,
        support=list(head.support),
        cases_file=head.cases,
        expected_file=head.expected,
        mistakes_file=head.mistakes,
        mistakes_expected_file=head.mistakes_expected,
        setup_marker=head.setup_marker,
        data_variable=head.data_variable,
        functions=functions,
        rtol=float(manifest.tolerance.rtol),
        atol=float(manifest.tolerance.atol),
        limits=_limits(manifest, path),
        instructor_paths=tuple((folder / entry).resolve() for entry in head.instructor_path),
        inputs=_inputs_module(head.inputs, head.support, path),
        reference=head.reference,
        curve=head.curve,
        case_tables=tuple(_case(t, f"{path} [[case]]", by_name, bool(head.inputs)) for t in manifest.case),
        authored_mistakes=_mistakes(manifest, functions, path),
        markers=ReleaseMarkers(**manifest.release.model_dump()),
        total_points=None if head.total_points is None else float(head.total_points),
        data_files=tuple(head.data_files),
        callers=CallerPolicy(manifest.grading.callers),
        mutants_expected_file=head.mutants_expected,
    )
    if not assignment.is_bundle:
        assignment.cases()  # a malformed case is named now, not halfway through a batch
    return assignment
