"""The manifest's schema: every table and key an author may write in `assignment.toml`, typed.

Validation is the one place where a slip is caught: an unknown key or table is an error (with the
closest allowed name), a value of the wrong type is refused, and nothing is replaced by a default
except a key left out. The same case model checks a cases module's CASES dicts. The manifest's
documentation (docs/manifest.md) is generated from the descriptions here:
`python -m grader.assignment.schema` prints it.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import sys
import typing
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, create_model

from grader.errors import GraderError
from grader.model import Limits, ReleaseMarkers


class AssignmentError(GraderError):
    """The assignment folder is missing something or says something the grader cannot use."""


def _number(value: object) -> int | float:
    """An int or a float as written (a limit keeps its int), never a bool or a text such as "10"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("give a number, e.g. 10 or 0.5 (without quotes)")
    return value


def _version(value: object) -> str:
    """The version as text: "2" and 2 both read as "2"."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('give a text or a whole number, e.g. "2"')
    return str(value)


Number = Annotated[Any, AfterValidator(_number)]
Version = Annotated[Any, AfterValidator(_version)]
Text = StrictStr
Flag = StrictBool


class Table(BaseModel):
    """A table of the manifest: unknown keys are errors, and the validated table never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AssignmentTable(Table):
    """[assignment]: the assignment's name and the files of its folder."""

    name: Text = Field(description="The assignment's name (the gradebook and the release bundle use it).")
    title: Text = Field(default="", description="The title the feedback shows (default: the name).")
    version: Version = Field(default="1", description="Bump when cases, points or expected values change.")
    solution: Text = Field(
        default="", description="The solution notebook (instructor-only; `grader release` reads it)."
    )
    student_notebook: Text = Field(
        default="notebook.ipynb", description="The notebook the release bundle gives students."
    )
    support: list[Text] = Field(default=[], description="Files and folders copied beside the student's notebook.")
    cases: Text = Field(default="", description='The cases module defining CASES (instructor-only; "" = none).')
    expected: Text = Field(default="expected.npz", description="The expected values `grader expected` writes.")
    mistakes: Text = Field(default="", description='The catalogue module of known mistakes ("" = none).')
    mistakes_expected: Text = Field(
        default="mistakes_expected.npz", description="What each catalogued mistake produces."
    )
    mutants_expected: Text = Field(
        default="",
        description="What each one-point mutant of the solution produces, to name uncatalogued slips "
        '(instructor-only; "" = no mutants).',
    )
    inputs: Text = Field(default="", description="A support module whose build_inputs(recipe) builds the arguments.")
    reference: Text = Field(default="", description='Module of reference versions ("" = the solution notebook is it).')
    curve: Text = Field(default="", description='A returned part drawn as a curve in the feedback ("" = none).')
    setup_marker: Text = Field(
        default="import", description="Cells whose code contains this text run before graded ones."
    )
    data_variable: Text = Field(default="DATA_DIR", description="The environment variable naming the dataset folder.")
    data_files: list[Text] = Field(default=[], description="The files that dataset folder holds (`grader bench`).")
    instructor_path: list[Text] = Field(default=[], description="Folders the cases and mistakes modules import from.")
    total_points: Number | None = Field(default=None, description="When given, the [[function]] points must sum to it.")


class ToleranceTable(Table):
    """[tolerance]: how close numbers must be, np.isclose(rtol, atol), unless a function or case says."""

    rtol: Number = Field(default=1e-6, description="Relative tolerance.")
    atol: Number = Field(default=1e-9, description="Absolute tolerance.")


class FunctionTolerance(Table):
    """A [[function]]'s own `tolerance = { rtol = ..., atol = ... }`."""

    rtol: Number | None = Field(default=None, description="Relative tolerance (default: the assignment's).")
    atol: Number | None = Field(default=None, description="Absolute tolerance (default: the assignment's).")


class FunctionTable(Table):
    """[[function]]: one graded function."""

    name: Text = Field(description="The function's name in the notebook.")
    points: Number = Field(default=1, description="Its share of the grade, split over its cases.")
    signature: list[Text] = Field(default=[], description="The argument names, in the order of the call.")
    returns: list[Text] = Field(default=[], description="Names of the returned tuple's parts (a case compares them).")
    tolerance: FunctionTolerance = Field(
        default_factory=FunctionTolerance, description="This function's own rtol/atol."
    )
    labels: dict[str, Text] = Field(default={}, description='Words for nested parts: "caches[*][0]" = "layer {1+1}".')
    calls: list[Text] = Field(
        default=[], description="Other graded functions it calls (their failures are named first)."
    )
    given: Flag = Field(
        default=False, description="Its graded cell has no learner region: release keeps it as written."
    )


class CaseTable(Table):
    """[[case]] (or a dict of a cases module's CASES): one grading case."""

    id: Text = Field(description='Unique across the assignment, e.g. "fit_line/public".')
    function: Text = Field(description="The graded function it calls.")
    description: Text = Field(description="One line: all a student sees of a hidden case.")
    visibility: Literal["visible", "hidden"] = Field(description="visible (public) or hidden.")
    recipe: dict[str, Any] = Field(description="How the inputs are built: {seed = 0, args = {x = {normal = [3]}}}.")
    compare: list[Text] = Field(
        default=["returned"], description="What is compared: returned, `returns` parts, stdout, ..."
    )
    rtol: Number | None = Field(default=None, description="This case's relative tolerance (default: its function's).")
    atol: Number | None = Field(default=None, description="This case's absolute tolerance (default: its function's).")
    misleading_globals: dict[str, Any] = Field(default={}, description="Names set in the notebook during the call.")
    checks: list[Text] = Field(default=["equality"], description="The public tests' checks (public cases).")
    exact_shapes: Flag = Field(default=False, description="A number must come back as a number, not a 1-value array.")


class MistakeTable(Table):
    """[[mistake]]: a known mistake, written as a wrong copy in a `# MISTAKE: id` cell of the solution."""

    id: Text = Field(description="Unique; the solution's `# MISTAKE: <id>` cell holds the wrong copy.")
    function: Text = Field(description="The graded function the wrong copy replaces.")
    title: Text = Field(description="What is wrong, in a few words.")
    explanation: Text = Field(description="Why it is wrong.")
    fix: Text = Field(description="What to do (it must not quote the solution).")


class GradingTable(Table):
    """[grading]: how points are given where graded functions call one another."""

    callers: Literal["alone", "as-written"] = Field(
        default="alone",
        description='A function whose graded callees (`calls`) fail: "alone" scores it as if they were correct '
        '(its failing cases rerun with the solution\'s callees, reporting pass or fail only); "as-written" '
        "scores it as written, and the feedback says to fix the callees first.",
    )


_MARKERS = ReleaseMarkers()


class ReleaseTable(Table):
    """[release]: the comment texts release looks for."""

    region_start: Text = Field(default=_MARKERS.region_start, min_length=1, description="Opens a learner region.")
    region_end: Text = Field(default=_MARKERS.region_end, min_length=1, description="Closes a learner region.")
    mistake_marker: Text = Field(default=_MARKERS.mistake_marker, min_length=1, description="Marks a mistake's cell.")


def _attribute_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (Limits documents its limits there, once)."""
    body = ast.parse(inspect.getsource(cls)).body[0].body  # type: ignore[attr-defined]
    docs = {}
    for field, after in zip(body, body[1:], strict=False):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name):
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                docs[field.target.id] = " ".join(str(after.value.value).split())
    return docs


def _limits_table() -> type[Table]:
    """[limits]: Limits' own names, defaults and words, so that the two never differ."""
    defaults, docs = Limits(), _attribute_docs(Limits)
    fields: dict[str, Any] = {
        name: (Number, Field(getattr(defaults, name), description=docs.get(name, ""))) for name in Limits.names()
    }
    model = create_model("LimitsTable", __base__=Table, **fields)
    model.__doc__ = "[limits]: what one submission and its kernel may use (the command line may lower them)."
    return model


if typing.TYPE_CHECKING:
    LimitsTable = Table
else:
    LimitsTable = _limits_table()


class Manifest(Table):
    """The whole `assignment.toml`."""

    assignment: AssignmentTable = Field(description="The assignment and its files.")
    tolerance: ToleranceTable = Field(default_factory=ToleranceTable, description="The assignment's tolerance.")
    limits: LimitsTable = Field(default_factory=LimitsTable, description="Limits per case and submission.")
    function: list[FunctionTable] = Field(default=[], description="The graded functions.")
    case: list[CaseTable] = Field(default=[], description="Grading cases.")
    mistake: list[MistakeTable] = Field(default=[], description="Known mistakes.")
    release: ReleaseTable = Field(default_factory=ReleaseTable, description="Release markers.")
    grading: GradingTable = Field(default_factory=GradingTable, description="How callers are scored.")


TABLES: dict[str, type[Table]] = {
    "[assignment]": AssignmentTable,
    "[tolerance]": ToleranceTable,
    "[limits]": LimitsTable,
    "[[function]]": FunctionTable,
    "[[function]] tolerance": FunctionTolerance,
    "[[case]]": CaseTable,
    "[[mistake]]": MistakeTable,
    "[release]": ReleaseTable,
    "[grading]": GradingTable,
}


# --- errors, in the author's words ------------------------------------------------------------------


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The table model that holds the key at the end of `loc` (None past a free-form table)."""
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        inner = typing.get_args(annotation)
        candidates = [annotation, *inner]
        found = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not found:
            return None
        model = found[0]
    return model


def _where(loc: tuple[int | str, ...], data: object) -> tuple[str, tuple[int | str, ...]]:
    """`[[function]] 'init_weights'` and the key's path inside it, from an error's location."""
    head = str(loc[0])
    if head in ("function", "case", "mistake") and len(loc) > 1 and isinstance(loc[1], int):
        entries = data.get(head, []) if isinstance(data, dict) else []
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else {}
        label = entry.get("name" if head == "function" else "id") if isinstance(entry, dict) else None
        named = f"'{label}'" if isinstance(label, str) else f"number {loc[1] + 1}"
        return f"[[{head}]] {named}", loc[2:]
    if len(loc) == 1:
        return "", loc
    return f"[{head}]", loc[1:]


def _key_name(path: tuple[int | str, ...]) -> str:
    """A key's path as the author writes it: `tolerance.rtol`, `signature[2]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def closest(name: str, allowed: typing.Iterable[str]) -> str:
    """ " (did you mean 'points'?)" for the allowed name closest to a slip, or "" when none is close."""
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_key_hint(key: str, allowed: typing.Iterable[str], kind: str = "key") -> str:
    """'unknown key 'point' (did you mean 'points'?); the keys allowed here: ...'."""
    allowed = sorted(allowed)
    return f"unknown {kind} '{key}'{closest(key, allowed)}; the {kind}s allowed here: {', '.join(allowed)}"


def _problem(error: Any, root: type[BaseModel], data: object, top: bool) -> str:
    """One validation error as `[[function]] 'x': unknown key 'point' (did you mean 'points'?); ...`."""
    loc = tuple(error["loc"])
    table, path = _where(loc, data) if top else ("", loc)
    key = _key_name(path)
    if error["type"] == "extra_forbidden":
        model = _model_at(root, loc)
        if top and len(loc) == 1:
            text = unknown_key_hint(str(loc[0]), root.model_fields, "table")
        else:
            text = unknown_key_hint(str(loc[-1]), model.model_fields if model else (), "key")
    elif error["type"] == "missing":
        text = f"lacks the key '{key}', which is required: add it"
    else:
        shown = repr(error.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        message = str(error["msg"]).removeprefix("Value error, ")
        text = f"{key} = {shown}: {message[0].lower() + message[1:]}"
    return f"{table}: {text}" if table else text


def describe(error: ValidationError, root: type[BaseModel], data: object, where: str, top: bool = True) -> str:
    """A ValidationError as the author's message: the file, then each slip on its own line."""
    problems = [_problem(item, root, data, top) for item in error.errors()]
    shown = problems[:8] + ([f"... and {len(problems) - 8} more"] if len(problems) > 8 else [])
    if len(shown) == 1:
        return f"{where} {shown[0]}" if shown[0].startswith("[") else f"{where}: {shown[0]}"
    return f"{where}:\n" + "\n".join(f"  {line}" for line in shown)


def validate_manifest(data: dict[str, Any], where: str) -> Manifest:
    """The parsed TOML as a Manifest, or one AssignmentError naming each slip (file, table, key, fix)."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        raise AssignmentError(describe(error, Manifest, data, where)) from None


def validate_case(data: object, where: str) -> CaseTable:
    """A cases module's CASES dict, through the same model as a [[case]] table."""
    if not isinstance(data, dict):
        raise AssignmentError(f"{where}: a case must be a dict, not {type(data).__name__}")
    label = data.get("id")
    named = f"{where} case '{label}'" if isinstance(label, str) else f"{where} a case"
    try:
        return CaseTable.model_validate(data)
    except ValidationError as error:
        raise AssignmentError(describe(error, CaseTable, data, named, top=False)) from None


# --- documentation ------------------------------------------------------------------------------------


def _type_name(annotation: Any, metadata: list[Any]) -> str:
    """A field's type in the manifest's words: text, number, list of texts, table, ..."""
    validators = [getattr(m, "func", None) for m in metadata]
    if _number in validators:
        return "number"
    if _version in validators:
        return "text or integer"
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _type_name(arguments[0], [*metadata, *annotation.__metadata__])
    if origin is Literal:
        return " or ".join(f'"{a}"' for a in arguments)
    if origin is list:
        return f"list of {_type_name(arguments[0], [])}s"
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "table"
    if arguments and type(None) in arguments:
        inner = [a for a in arguments if a is not type(None)]
        return _type_name(inner[0], metadata) if len(inner) == 1 else "number"
    return {str: "text", bool: "boolean", int: "integer", float: "number", typing.Any: "number"}.get(annotation, "any")


def _default_text(field: Any) -> str:
    """A field's default as TOML would write it, or `required`."""
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory else field.default
    if value is None:
        return "none"
    if isinstance(value, BaseModel):
        return "see below" if type(value).model_fields else "`{}`"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list):
        return "`[" + ", ".join(f'"{v}"' for v in value) + "]`"
    return f"`{value}`"


def _table_doc(title: str, model: type[BaseModel]) -> list[str]:
    """One table's section of docs/manifest.md: its purpose, then a row per key."""
    doc = (model.__doc__ or "").strip()
    doc = doc.split(": ", 1)[1] if doc.startswith("[") else doc
    lines = [f"## `{title}`", "", doc[:1].upper() + doc[1:], ""]
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        kind = _type_name(field.annotation, field.metadata)
        lines.append(f"| `{name}` | {kind} | {_default_text(field)} | {field.description or ''} |")
    return [*lines, ""]


def manifest_docs() -> str:
    """docs/manifest.md: every table and key, with its type, default and meaning, from this schema."""
    lines = [
        "# The manifest, key by key",
        "",
        "<!-- Generated by `python -m grader.assignment.schema > docs/manifest.md`: edit the schema. -->",
        "",
        "`assignment.toml` is validated when the assignment loads: an unknown table or key is an error",
        "naming the closest allowed one, a value of the wrong type is refused, and a key left out takes",
        "the default below. Cases may also come from a cases module's `CASES` dicts, checked by the same",
        "`[[case]]` table.",
        "",
    ]
    for title, model in TABLES.items():
        lines += _table_doc(title, model)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(manifest_docs())
