"""Saying what a failing case most likely got wrong, not only which number differs.

An assignment may ship a catalogue of known mistakes: a module named by the `mistakes` key of its
manifest, defining `MISTAKES` (dicts with id, title, explanation, fix, functions, pattern and
`variants`, one runnable wrong version per function) and `variant_outputs(mistake_id, case,
folder)`. `grader expected` runs every variant on every case and stores a compact outcome of each
(costs, printed lines, parameter fingerprints, or the error raised) in the file named by
`mistakes_expected`. Both stay in the instructor's folder.

When a case fails, the student's outcome is compared with the variants' outcomes on that case.
A variant matches only when every quantity the case compares agrees within the assignment's
tolerance, so a correct solution (which passes) is never diagnosed, and a wrong one is named only
when it behaves exactly like the catalogued mistake. When nothing matches, the diagnosis still
says where the numbers first go wrong and what that usually points to.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from grader.assignment.manifest import Assignment, load_assignment, load_module
from grader.judge.compare import Comparison, input_differences, part_of, same_line, split_numbers
from grader.kernel.untrusted import Array, Atom, KernelResult, Mapping, Node, Number, Seq, result_of_value
from grader.model import Difference, Expected, Kind, Limits, Tolerance, python_value
from grader.model.diagnosis import Diagnosis, DiagnosisKind, Evidence, Place
from grader.model.paths import display_path

FINGERPRINT_POINTS = 8
MAX_CODE_CHARS = 100
# Patterns look at ordinary code: a line or a cell far longer than any real one is skipped, so a
# crafted submission cannot make a regex or the parser spend minutes on it.
MAX_PATTERN_LINE = 1000
MAX_PATTERN_SOURCE = 200_000
# A family's fit may propose a few values; each costs one confirming run.
MAX_FIT_CANDIDATES = 4


# --- the catalogue ------------------------------------------------------------------------------

@dataclass
class Catalogue:
    module: ModuleType
    mistakes: dict[str, dict]  # id -> the module's entry (id, title, explanation, fix, functions, pattern)
    values_path: Path  # where the variants' outcomes are stored


def catalogue_files(assignment: Assignment) -> tuple[Path, Path] | None:
    """(mistakes module, stored outcomes) named by the manifest, or None when there is no catalogue."""
    if not assignment.mistakes_file or not (assignment.folder / assignment.mistakes_file).is_file():
        return None
    return assignment.folder / assignment.mistakes_file, assignment.folder / assignment.mistakes_expected_file


def load_catalogue(assignment: Assignment | Path) -> Catalogue | None:
    """The assignment's catalogue of known mistakes (given the assignment or its folder), or None."""
    if not isinstance(assignment, Assignment):
        assignment = load_assignment(assignment)
    files = catalogue_files(assignment)
    if files is None:
        return None
    module_path, values_path = files
    module = load_module(module_path, f"_grader_mistakes_{assignment.name}", assignment.instructor_paths)
    return Catalogue(module, {m["id"]: m for m in module.MISTAKES}, values_path)


# --- outcomes: what a function did on a case, compactly ------------------------------------------

SEPARATOR = "|"


def fingerprint(array) -> np.ndarray:
    """Size, sum, sum of magnitudes and a few evenly spaced entries: enough to tell two results apart."""
    flat = np.asarray(array, dtype=np.float64).ravel()
    if flat.size == 0:
        return np.zeros(3)
    picks = flat[np.linspace(0, flat.size - 1, min(FINGERPRINT_POINTS, flat.size)).astype(int)]
    with np.errstate(all="ignore"):
        return np.concatenate([[flat.size, flat.sum(), np.abs(flat).sum()], picks])


def _walk(node: Node, path: str, leaves: dict[str, np.ndarray], exact: bool = False) -> str:
    """The node's shape as a signature text (types, lengths, keys, shapes); its numbers go to `leaves`.
    With `exact` (the case's exact_shapes), a one-value array of shape (1, 1) is not a number."""
    if isinstance(node, Seq):
        inner = ",".join(_walk(item, f"{path}[{i}]", leaves, exact) for i, item in enumerate(node.items))
        return f"{node.kind}{node.length}({inner})"
    if isinstance(node, Mapping):
        inner = ",".join(f"{key!r}:{_walk(item, f'{path}[{key!r}]', leaves, exact)}"
                         for key, item in zip(node.keys, node.items, strict=True))
        return "{" + inner + "}"
    if isinstance(node, Array) and (node.values.size != 1 or (exact and node.values.ndim > 0)):
        leaves[path] = fingerprint(node.values)
        return f"a{tuple(node.values.shape)}"
    if isinstance(node, (Array, Number)):  # a number and a one-value array compare alike
        leaves[path] = fingerprint(node.values if isinstance(node, Array) else node.value)
        return "n"
    if isinstance(node, Atom):
        return repr(node.value)
    return f"o:{getattr(node, 'type', None)}"


def outcome_of(result: KernelResult, case, names: tuple[str, ...]) -> dict:
    """What an answer did on a case, compactly: the compared parts' signature and number fingerprints,
    the printed lines, whether an argument changed. Built the same way for a variant and a student."""
    meta = result.meta
    if meta.error is not None:
        return {"error": [meta.error.type, meta.error.message]}
    leaves: dict[str, np.ndarray] = {}
    signature = []
    for item in case.compare:
        if item == "returned" or item in names:
            index = None if item == "returned" else names.index(item)
            part = part_of(result.returned, index)
            if index is not None and not (isinstance(result.returned, Seq) and result.returned.length == len(names)):
                part = None
            exact = bool(getattr(case, "exact_shapes", False))
            walked = _walk(part, item, leaves, exact) if part is not None else "missing"
            signature.append(f"{item}={walked}")
    return {"signature": ";".join(signature), "leaves": leaves, "stdout": meta.stdout.splitlines(),
            "inputs_changed": False}


def variant_outcome(raw: dict, case, names: tuple[str, ...]) -> dict:
    """A variant's raw result ({"returned", "stdout"} or {"error"}) as a comparable outcome."""
    if "error" in raw:
        return {"error": [str(raw["error"]["type"]), str(raw["error"]["message"])]}
    stdout = "\n".join(str(line) for line in raw.get("stdout", []))
    outcome = outcome_of(result_of_value(raw["returned"], stdout), case, names)
    # A variant that edits its arguments in place says so: that is a mistake of its own.
    outcome["inputs_changed"] = bool(raw.get("inputs_changed", False))
    return outcome


def student_outcome(result: KernelResult, expected: Expected, case, names: tuple[str, ...], tol: Tolerance) -> dict:
    """The same outcome, read from what the student's kernel sent back."""
    outcome = outcome_of(result, case, names)
    if "error" not in outcome and "inputs_unchanged" in case.compare:
        outcome["inputs_changed"] = bool(input_differences(expected.arguments, result.inputs, tol))
    return outcome


def stored_variant_table(prefix: tuple[str, str], outcome: dict) -> dict[str, np.ndarray]:
    """`mistake|case|error`, `|signature`, `|stdout`, `|leaf|<path>` (a fingerprint)."""
    def key(*parts):
        return SEPARATOR.join(prefix + parts)

    if "error" in outcome:
        return {key("error"): np.array(outcome["error"], dtype=str)}
    flat = {key("signature"): np.array([outcome["signature"]], dtype=str),
            key("stdout"): np.array(outcome["stdout"], dtype=str)}
    for path, marks in outcome["leaves"].items():
        flat[key("leaf", path)] = marks
    if outcome.get("inputs_changed"):
        flat[key("inputs_changed")] = np.array(["yes"], dtype=str)
    return flat


def save_variant_values(path: Path, flat: dict[str, np.ndarray]) -> None:
    """One JSON table in one npz member: thousands of tiny arrays would be mostly archive overhead."""
    table = json.dumps({key: value.tolist() for key, value in sorted(flat.items())}, separators=(",", ":"))
    np.savez_compressed(path, table=np.array(table))


def read_variant_table(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as stored:
        table = json.loads(str(stored["table"]))
    return {key: np.array(value, dtype=np.float64 if key.split(SEPARATOR)[2] == "leaf" else str)
            for key, value in table.items()}


def read_variant_values(path: Path) -> dict[str, dict[str, dict]]:
    """Stored variant outcomes as {case_id: {mistake_id: outcome}} (empty when the file is absent)."""
    return outcomes_by_case(read_variant_table(path) if path.exists() else {})


# --- the public part, shipped in the student's bundle ---------------------------------------------

PUBLIC_MISTAKES_FILE = "public_mistakes.json"
TEXT_KEYS = ("title", "explanation", "fix")


def public_mistakes_document(catalogue: Catalogue, flat: dict[str, np.ndarray], public_ids: set[str]) -> dict:
    """What the self-check may know: the mistakes' texts (and regex patterns), and the variants'
    outcomes on the PUBLIC cases only, whose inputs and correct outputs the bundle holds already."""
    mistakes = {}
    for mistake_id, mistake in catalogue.mistakes.items():
        pattern = mistake.get("pattern")
        mistakes[mistake_id] = {**{key: str(mistake[key]) for key in TEXT_KEYS},
                                "pattern": pattern if isinstance(pattern, str) else None}
    table = {key: value.tolist() for key, value in sorted(flat.items()) if key.split(SEPARATOR)[1] in public_ids}
    return {"mistakes": mistakes, "outcomes": table}


def read_public_mistakes(folder: Path) -> dict:
    """The bundle's public mistakes document ({} when absent or unreadable: diagnosis is a bonus)."""
    path = folder / PUBLIC_MISTAKES_FILE
    try:
        document = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def public_outcomes(document: dict) -> dict[str, dict[str, dict]]:
    """The document's outcomes by case ({} when malformed: a student may have edited the file)."""
    try:
        table = {key: np.array(value, dtype=np.float64 if key.split(SEPARATOR)[2] == "leaf" else str)
                 for key, value in document.get("outcomes", {}).items()}
        return outcomes_by_case(table)
    except Exception:  # noqa: BLE001 - diagnosis is a bonus
        return {}


def mistake_texts(assignment) -> dict[str, dict]:
    """{id: entry with title, explanation, fix, pattern}: the catalogue's, or in a bundle its public copy."""
    catalogue = load_catalogue(assignment)
    if catalogue is not None:
        return catalogue.mistakes
    if getattr(assignment, "is_bundle", False):
        return read_public_mistakes(assignment.folder).get("mistakes", {})
    return {}


def outcomes_by_case(table: dict[str, np.ndarray]) -> dict[str, dict[str, dict]]:
    by_case: dict[str, dict[str, dict]] = {}
    for name, value in table.items():
        mistake_id, case_id, kind, *rest = name.split(SEPARATOR)
        outcome = by_case.setdefault(case_id, {}).setdefault(mistake_id, {})
        if kind == "error":
            outcome["error"] = [str(v) for v in value]
            continue
        outcome.setdefault("leaves", {})
        outcome.setdefault("inputs_changed", False)
        if kind == "signature":
            outcome["signature"] = str(value[0])
        elif kind == "stdout":
            outcome["stdout"] = [str(line) for line in value]
        elif kind == "leaf":
            outcome["leaves"][SEPARATOR.join(rest)] = value
        elif kind == "inputs_changed":
            outcome["inputs_changed"] = True
    return by_case


# --- comparing two outcomes ---------------------------------------------------------------------

def _close(a, b, rtol: float, atol: float) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)))


def _same_fingerprint(a, b, rtol: float, atol: float) -> bool:
    if a is None or b is None or a.shape != b.shape or a.size < 3 or a[0] != b[0]:
        return False
    total_a, total_b = a[1], b[1]
    if np.isnan(total_a) or np.isnan(total_b):
        sums_agree = bool(np.isnan(total_a) and np.isnan(total_b))
    else:  # a sum may cancel to almost nothing: judge it against the magnitudes summed
        sums_agree = abs(total_a - total_b) <= atol * max(a[0], 1) + rtol * max(abs(a[2]), abs(b[2]))
    return sums_agree and _close(a[2:], b[2:], rtol, atol)


def _same_lines(a: list[str], b: list[str], rtol: float, atol: float) -> bool:
    a = [line for line in a if line.strip()]
    b = [line for line in b if line.strip()]
    return len(a) == len(b) and all(same_line(x, y, rtol, atol) for x, y in zip(a, b, strict=True))


def _quoted(message: str) -> list[str]:
    return re.findall(r"'([^']*)'", message)


def same_error(a: list[str], b: list[str]) -> bool:
    """The same exception, however this Python or NumPy words it.

    Messages change wording between versions ("along axis 0; size of axis is 4" became "along
    dimension 0; dimension is 4"), but not the names they quote, nor the numbers they hold.
    """
    if a[0] != b[0]:
        return False
    if a[1] == b[1]:
        return True
    if _quoted(a[1]) or _quoted(b[1]):
        return _quoted(a[1]) == _quoted(b[1])
    numbers = split_numbers(a[1]).numbers
    return bool(numbers) and numbers == split_numbers(b[1]).numbers


def same_outcome(case, a: dict, b: dict, rtol: float, atol: float) -> bool:
    """Do two outcomes agree on everything the case compares?"""
    if "error" in a or "error" in b:
        return "error" in a and "error" in b and same_error(a["error"], b["error"])
    if a.get("signature") != b.get("signature") or set(a["leaves"]) != set(b["leaves"]):
        return False
    if not all(_same_fingerprint(a["leaves"][k], b["leaves"][k], rtol, atol) for k in a["leaves"]):
        return False
    if "stdout" in case.compare and not _same_lines(a["stdout"], b["stdout"], rtol, atol):
        return False
    if "inputs_unchanged" in case.compare and a.get("inputs_changed", False) != b.get("inputs_changed", False):
        return False
    return True


# --- locating the line --------------------------------------------------------------------------

def locate(pattern, source: str) -> int | None:
    """1-based line of the student's cell where a mistake's pattern is found (comments skipped)."""
    if pattern is None or len(source) > MAX_PATTERN_SOURCE:
        return None
    if callable(pattern):
        try:
            line = pattern(source)
        except Exception:  # noqa: BLE001 - a pattern that trips on odd code finds nothing
            return None
        return line if isinstance(line, int) and line > 0 else None
    for number, text in enumerate(source.splitlines(), 1):
        if text.strip().startswith("#") or len(text) > MAX_PATTERN_LINE:
            continue
        if re.search(pattern, text):
            return number
    return None


# --- the diagnosis ------------------------------------------------------------------------------

def match_mistakes(assignment, case, expected: Expected, result: KernelResult) -> list[str]:
    """Ids of the catalogued variants whose outcome on this case the student's outcome matches."""
    variants = expected.variants
    if not variants:
        return []
    tol = assignment.tolerance(case.function, case)
    mine = student_outcome(result, expected, case, assignment.function(case.function).returns, tol)
    return [mistake_id for mistake_id, outcome in variants.items()
            if same_outcome(case, outcome, mine, tol.rtol, tol.atol)]


def diagnose(assignment, case, expected: Expected, result: KernelResult, comparison: Comparison,
             cell=None, budget: DiagnosisBudget | None = None) -> Diagnosis | None:
    """The likely mistake behind a failing case (None when it passed); never raises.

    `budget` is what the submission may still spend re-running variants (one per submission,
    shared by its cases); without one, this case gets the limits' whole budget to itself."""
    if comparison.passed:
        return None
    stored = None
    try:
        stored = _named_mistake(assignment, case, expected, result, cell)
        if stored is not None and stored.place is not None:
            return stored
    except Exception:  # noqa: BLE001 - a diagnosis is a bonus; grading goes on without it
        pass
    try:  # a family read in the cell and confirmed beats a stored variant whose line is not there;
        # a value merely fitted from the numbers does not beat a stored variant that gives them exactly
        named = family_mistake(assignment, case, expected, result, cell, budget, fit=stored is None)
        if named:
            return named
    except Exception:  # noqa: BLE001
        pass
    if stored:
        return stored
    try:
        return localise(assignment, case, comparison)
    except Exception:  # noqa: BLE001
        return None


def _named_mistake(assignment, case, expected, result, cell) -> Diagnosis | None:
    matched = match_mistakes(assignment, case, expected, result)
    if not matched:
        return None
    texts = mistake_texts(assignment)
    known = [m for m in texts if m in matched]  # catalogue order
    if not known:
        return None
    # Variants can behave alike (a flipped sign in two places gives the same numbers): prefer
    # the one whose usual line is actually in the student's code.
    lines = {m: locate(texts[m].get("pattern"), cell.source) if cell is not None else None for m in known}
    chosen = next((m for m in known if lines[m]), known[0])
    mistake = texts[chosen]
    return Diagnosis(DiagnosisKind.MISTAKE, chosen, str(mistake["title"]), str(mistake["explanation"]),
                     str(mistake.get("fix") or ""), place=_place(cell, lines[chosen]) if lines[chosen] else None,
                     also_possible=tuple(m for m in known if m != chosen))


# --- families: a mistake with a free parameter, found in the cell or fitted, confirmed by re-running

@dataclass
class DiagnosisBudget:
    """What one submission's family confirmations and fits may spend re-running variants in the
    grader process: seconds and runs (Limits.diagnosis_seconds and diagnosis_runs, which the
    manifest's [limits] may override). It is checked before each run; a run already started
    finishes, and each is one call of the instructor's variant on one case's inputs."""

    seconds: float  #: seconds the submission's runs may take together
    runs: int  #: how many runs it may make
    spent_seconds: float = 0.0  #: seconds spent so far
    spent_runs: int = 0  #: runs made so far
    confirmed: dict[str, list] = field(default_factory=dict)  #: family id -> values confirmed on earlier cases

    @classmethod
    def from_limits(cls, limits: Limits) -> DiagnosisBudget:
        return cls(float(limits.diagnosis_seconds), int(limits.diagnosis_runs))

    @property
    def exhausted(self) -> bool:
        return self.spent_runs >= self.runs or self.spent_seconds >= self.seconds

    def run(self, call: Callable[[], dict]) -> dict | None:
        """call()'s result, or None (nothing run) once the budget is spent."""
        if self.exhausted:
            return None
        started = time.monotonic()
        try:
            return call()
        finally:
            self.spent_runs += 1
            self.spent_seconds += time.monotonic() - started


@dataclass
class _Trial:
    """One failing case, and how to run and judge a family's variant on it within the budget."""

    module: ModuleType
    case: object
    folder: Path
    names: tuple[str, ...]
    mine: dict  #: the student's outcome
    tol: Tolerance
    budget: DiagnosisBudget

    def runner(self, family: dict) -> Callable[[object], dict | None]:
        """run(value): the variant's raw output with that value on this case, None once the budget is spent."""
        return lambda value: self.budget.run(
            lambda: self.module.family_outputs(family["id"], value, self.case, self.folder))

    def confirms(self, family: dict, value) -> bool:
        try:
            raw = self.runner(family)(value)
        except Exception:  # noqa: BLE001 - a variant that cannot run on this case confirms nothing
            return False
        return raw is not None and same_outcome(self.case, variant_outcome(raw, self.case, self.names), self.mine,
                                                self.tol.rtol, self.tol.atol)


def family_mistake(assignment, case, expected: Expected, result: KernelResult, cell,
                   budget: DiagnosisBudget | None = None, fit: bool = True) -> Diagnosis | None:
    """A catalogued family (the module's FAMILIES) whose parameter the student's cell states, or
    that a value fitted from the student's outputs reproduces.

    Each family's `evidence(source, function)` reads the cell (bounded in size, like the patterns)
    and returns (line, value) or None. When it finds nothing, the family's optional
    `fit(mine, case, run)` proposes values from the student's outputs: `mine` is what the function
    returned and printed as plain values ({"returned", "stdout"} or {"error"}), `run(value)` the
    variant's output with that value (None once the budget is spent); it returns a list of values or
    None. Values confirmed on an earlier case of the submission are tried first. The module's
    `family_outputs(family_id, value, case, folder)` runs the variant, here in the grader process,
    within the submission's budget. A family is named only when a run with the value gives the
    student's outcome on everything the case compares, so a correct cell written differently (whose
    outcome is the reference's) is never named, whatever the evidence or the fit said. With
    `fit=False` only the cell's own evidence counts.
    """
    if cell is None or len(cell.source) > MAX_PATTERN_SOURCE:
        return None
    catalogue = load_catalogue(assignment)
    families = [f for f in (getattr(catalogue.module, "FAMILIES", []) if catalogue is not None else [])
                if case.function in f["functions"]]
    budget = budget if budget is not None else DiagnosisBudget.from_limits(assignment.limits)
    if not families or budget.exhausted:
        return None
    names = assignment.function(case.function).returns
    tol = assignment.tolerance(case.function, case)
    trial = _Trial(catalogue.module, case, assignment.folder, names,
                   student_outcome(result, expected, case, names, tol), tol, budget)
    stated = set()
    for family in families:
        try:
            found = family["evidence"](cell.source, case.function)
        except Exception:  # noqa: BLE001 - evidence that trips on odd code states nothing; the others still look
            found = None
        if found is None:
            continue
        stated.add(family["id"])
        line, value = found
        if trial.confirms(family, value):
            return _family_diagnosis(family, value, cell, line, fitted=False)
    for family in families if fit else []:
        if family["id"] in stated:
            continue
        for value in _fitted_values(family, trial, result):
            if trial.confirms(family, value):
                known = budget.confirmed.setdefault(family["id"], [])
                if value not in known:
                    known.append(value)
                return _family_diagnosis(family, value, cell, locate(family.get("where"), cell.source), fitted=True,
                                         hidden=case.visibility != "visible")
    return None


def _fitted_values(family: dict, trial: _Trial, result: KernelResult) -> Iterator:
    """Values worth confirming: those confirmed on earlier cases, then the family's fit's."""
    tried = list(trial.budget.confirmed.get(family["id"], []))
    yield from tried
    fit = family.get("fit")
    if fit is None or trial.budget.exhausted or not _all_finite(trial.mine):
        return
    try:
        found = fit(plain_result(result), trial.case, trial.runner(family))
    except Exception:  # noqa: BLE001 - a fit that trips on odd outputs proposes nothing
        return
    for value in list(found or [])[:MAX_FIT_CANDIDATES]:
        if value not in tried:
            tried.append(value)
            yield value


def _all_finite(outcome: dict) -> bool:
    """Every number of an outcome is finite. NaN agrees with NaN in a comparison, so outputs holding
    NaN or inf agree with any variant that also ends there: no value can be fitted from them."""
    return all(bool(np.all(np.isfinite(leaf))) for leaf in outcome.get("leaves", {}).values())


def plain_result(result: KernelResult) -> dict:
    """What the student's function did, in the form of a variant's raw output."""
    if result.meta.error is not None:
        return {"error": {"type": result.meta.error.type, "message": result.meta.error.message}}
    return {"returned": python_value(result.returned), "stdout": result.meta.stdout.splitlines()}


def family_member(family: dict, value) -> dict:
    """One member of a family as a plain catalogue entry: id `family=value`, texts filled in."""
    shown = family.get("show", str)(value)
    member = {key: str(family[key]).replace("{value}", shown) for key in TEXT_KEYS}
    pattern = family.get("pattern")
    return {"id": f"{family['id']}={shown}", "shown": shown, "pattern": pattern if isinstance(pattern, str) else None,
            **member}


def _family_diagnosis(family: dict, value, cell, line: int | None, fitted: bool, hidden: bool = False) -> Diagnosis:
    """The family's texts (their {value} left for grader.render to fill), the value, the evidence and
    the line: stated in the cell, or fitted from the student's returned values. A value fitted on a
    hidden case is not put in words: the code could have chosen it."""
    shown = family.get("show", str)(value)
    return Diagnosis(DiagnosisKind.FAMILY, str(family["id"]), str(family["title"]),
                     str(family["explanation"]), str(family.get("fix") or ""),
                     place=_place(cell, line) if line else None,
                     evidence=Evidence.FITTED if fitted else Evidence.STATED, parameter=shown,
                     parameter_name=str(family.get("parameter", "this value")), value_shown=not (fitted and hidden))


def _place(cell, number: int) -> Place:
    """Where a pattern was found: the cell and line, and the code there (cut)."""
    lines = cell.source.splitlines()
    code = lines[number - 1].strip() if number <= len(lines) else ""
    code = re.sub(r"\s{2,}#.*$", "", code)  # an inline comment is not the code pointed at
    if len(code) > MAX_CODE_CHARS:
        code = code[: MAX_CODE_CHARS - 3] + "..."
    return Place(cell.index + 1, number, code)


# --- when no catalogued mistake matches: where the numbers first go wrong ------------------------

# The grader's own advice, by the part that differs and the difference's kind: each rule's key names
# its words in grader.render.diagnosis. An assignment's catalogue module may put its own entries, in
# its course's words, before these (ADVICE, see advice_for).
DEFAULT_ADVICE = [
    {"part": "raised", "key": "raised"},
    {"part": "returned", "kind": ["type", "length"], "key": "returned-form"},
    {"part": "stdout", "key": "printed"},
    {"part": "inputs", "key": "inputs-changed"},
    {"kind": ["missing_key", "extra_key"], "key": "keys"},
    {"kind": ["type", "length", "shape"], "key": "form"},
    {"key": "numbers"},
]


def _advice_part(difference: Difference, names: tuple[str, ...]) -> str:
    if difference.kind == Kind.RAISED:
        return "raised"
    if difference.kind in (Kind.PRINTED, Kind.PRINTED_LENGTH):
        return "stdout"
    if difference.kind == Kind.INPUT_CHANGED:
        return "inputs"
    head = difference.path[0] if difference.path else None
    return names[head] if isinstance(head, int) and head < len(names) else "returned"


def _matches(entry: dict, difference: Difference, part: str) -> bool:
    kinds = entry.get("kind")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    index = difference.path[1] if len(difference.path) > 1 else None
    return ((entry.get("part") in (None, part)) and (kinds is None or difference.kind.value in kinds)
            and ("index" not in entry or entry["index"] == index)
            and (entry.get("raised") in (None, difference.what)))


def advice_for(assignment, difference: Difference, names: tuple[str, ...]) -> dict:
    """The first advice entry (the assignment's ADVICE, then DEFAULT_ADVICE) that fits the difference.

    An entry may name `part` (a name of the manifest's `returns`, "returned", "stdout", "inputs" or
    "raised"), `kind` (a Difference kind or a list of them), `index` (the first index inside the
    part) and `raised` (an exception type); `title` and `explanation` may hold {names} (the
    differing values) and {exception}; `explanation` may also be a callable(differing, all_names).
    """
    catalogue = load_catalogue(assignment) if catalogue_files(assignment) else None
    table = list(getattr(catalogue.module, "ADVICE", []) if catalogue is not None else []) + DEFAULT_ADVICE
    part = _advice_part(difference, names)
    return next(entry for entry in table if _matches(entry, difference, part))


def localise(assignment, case, comparison: Comparison) -> Diagnosis | None:
    """Where the student's answer first departs from the reference, and what that usually means: the
    advice entry that fits the first difference, with the parts that differ like it."""
    first = comparison.first
    if first is None:
        return None
    names = assignment.function(case.function).returns
    entry = advice_for(assignment, first, names)
    same_part = [d for d in comparison.differences if d.kind == first.kind and d.path[:1] == first.path[:1]]
    differing = tuple(dict.fromkeys(display_path(d.path, names) for d in same_part))
    everything = tuple(display_path(d.path, names) for d in comparison.differences)
    exception = first.what if first.kind == Kind.RAISED else ""
    if "key" in entry:  # the grader's own words (grader.render.diagnosis)
        return Diagnosis(DiagnosisKind.ADVICE, advice=entry["key"], differing=differing, everything=everything,
                         exception=exception, first=first)
    explanation = entry["explanation"]
    if callable(explanation):  # the author's own function of the parts that differ
        explanation = explanation(list(differing), list(everything))
    return Diagnosis(DiagnosisKind.ADVICE, title=str(entry["title"]), explanation=str(explanation),
                     differing=differing, everything=everything, exception=exception, first=first)
