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

import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from grader.assignment.manifest import Assignment, load_assignment, load_module
from grader.judge.compare import Comparison, input_changed, same_line, shown_type, split_numbers
from grader.kernel.untrusted import KernelResult

FINGERPRINT_POINTS = 8
MAX_CODE_CHARS = 100
# Patterns look at ordinary code: a line or a cell far longer than any real one is skipped, so a
# crafted submission cannot make a regex or the parser spend minutes on it.
MAX_PATTERN_LINE = 1000
MAX_PATTERN_SOURCE = 200_000


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

def fingerprint(array) -> np.ndarray:
    """Sum, sum of magnitudes and a few evenly spaced entries: enough to tell two results apart."""
    flat = np.asarray(array, dtype=np.float64).ravel()
    if flat.size == 0:
        return np.zeros(2)
    picks = flat[np.linspace(0, flat.size - 1, min(FINGERPRINT_POINTS, flat.size)).astype(int)]
    with np.errstate(all="ignore"):
        return np.concatenate([[flat.sum(), np.abs(flat).sum()], picks])


def _describe_return(value) -> str:
    name = type(value).__name__
    return f"{name} of {len(value)}" if isinstance(value, tuple) else name


def variant_outcome(raw: dict) -> dict:
    """A variant's raw result ({"returned", "stdout"} or {"error"}) as a comparable outcome."""
    if "error" in raw:
        return {"error": [str(raw["error"]["type"]), str(raw["error"]["message"])]}
    value = raw["returned"]
    if not (isinstance(value, tuple) and len(value) == 2):
        return {"returned": _describe_return(value)}
    if not isinstance(value[0], dict):
        return {"returned": f"tuple with {type(value[0]).__name__} parameters"}
    parameters, costs = value
    outcome = {"stdout": [str(line) for line in raw.get("stdout", [])], "parameters": {}, "shapes": {}}
    if isinstance(costs, (list, tuple)):
        outcome["costs"] = np.array([float(np.squeeze(np.asarray(c, dtype=np.float64))) for c in costs])
    for key, array in parameters.items():
        outcome["parameters"][str(key)] = fingerprint(array)
        outcome["shapes"][str(key)] = tuple(np.shape(array))
    return outcome


def student_outcome(result: KernelResult, expected: dict, rtol: float = 1e-6, atol: float = 1e-9) -> dict:
    """The same outcome, read from what the student's kernel sent back."""
    meta = result.meta
    if meta.error is not None:
        return {"error": [meta.error.type, meta.error.message]}
    if meta.returned != "tuple" or meta.length != 2 or meta.parameters_type != "dict":
        returned = meta.returned
        if returned == "tuple" and meta.length == 2:
            return {"returned": f"tuple with {meta.parameters_type} parameters"}
        return {"returned": f"{returned} of {meta.length}" if returned == "tuple" else str(returned)}
    outcome = {"stdout": meta.stdout.splitlines(), "parameters": {}, "shapes": {}}
    if meta.costs_type in ("list", "tuple") and not meta.costs_problem:
        outcome["costs"] = result.arrays.get("costs", np.zeros(0))
    unreadable = meta.parameter_problems
    for key in meta.parameter_keys:
        array = result.arrays.get("parameter:" + key)
        outcome["parameters"][key] = None if key in unreadable or array is None else fingerprint(array)
        outcome["shapes"][key] = None if array is None else tuple(array.shape)
    outcome["inputs_changed"] = any(input_changed(result.arrays.get("input:" + name), before, rtol, atol)
                                    for name, before in expected.get("inputs", {}).items())
    return outcome


# --- comparing two outcomes ---------------------------------------------------------------------

def _close(a, b, rtol: float, atol: float) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)))


def _same_fingerprint(a, b, size: int, rtol: float, atol: float) -> bool:
    if a is None or b is None or a.shape != b.shape:
        return False
    total_a, total_b = a[0], b[0]
    if np.isnan(total_a) or np.isnan(total_b):
        sums_agree = bool(np.isnan(total_a) and np.isnan(total_b))
    else:  # a sum may cancel to almost nothing: judge it against the magnitudes summed
        sums_agree = abs(total_a - total_b) <= atol * max(size, 1) + rtol * max(abs(a[1]), abs(b[1]))
    return sums_agree and _close(a[1:], b[1:], rtol, atol)


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


def same_outcome(case: dict, a: dict, b: dict, rtol: float, atol: float) -> bool:
    """Do two outcomes agree on everything the case compares?"""
    if "error" in a or "error" in b:
        return "error" in a and "error" in b and same_error(a["error"], b["error"])
    if "returned" in a or "returned" in b:
        return a.get("returned") == b.get("returned")
    compared = case["compare"]
    if "costs" in compared:
        if a.get("costs") is None or b.get("costs") is None or not _close(a["costs"], b["costs"], rtol, atol):
            return False
    if "parameters" in compared:
        if set(a["parameters"]) != set(b["parameters"]):
            return False
        for key in a["parameters"]:
            if a["shapes"].get(key) != b["shapes"].get(key):
                return False
            size = int(np.prod(a["shapes"][key])) if a["shapes"][key] is not None else 0
            if not _same_fingerprint(a["parameters"][key], b["parameters"][key], size, rtol, atol):
                return False
    if "stdout" in compared and not _same_lines(a["stdout"], b["stdout"], rtol, atol):
        return False
    if "inputs_unchanged" in compared and a.get("inputs_changed", False) != b.get("inputs_changed", False):
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


def _line_text(cell, number: int) -> str:
    lines = cell.source.splitlines()
    code = lines[number - 1].strip() if number <= len(lines) else ""
    code = re.sub(r"\s{2,}#.*$", "", code)  # an inline comment is not the code pointed at
    if len(code) > MAX_CODE_CHARS:
        code = code[: MAX_CODE_CHARS - 3] + "..."
    return f"cell {cell.index + 1}, line {number}: {code}"


# --- the diagnosis ------------------------------------------------------------------------------

def match_mistakes(case: dict, expected: dict, result: KernelResult, rtol: float, atol: float) -> list[str]:
    """Ids of the catalogued variants whose outcome on this case the student's outcome matches."""
    variants = expected.get("variants") or {}
    if not variants:
        return []
    mine = student_outcome(result, expected, rtol, atol)
    return [mistake_id for mistake_id, outcome in variants.items()
            if same_outcome(case, outcome, mine, rtol, atol)]


def diagnose(assignment, case: dict, expected: dict, result: KernelResult, comparison: Comparison,
             cell=None) -> dict | None:
    """The likely mistake behind a failing case (None when it passed); never raises."""
    if comparison.passed:
        return None
    try:
        named = _named_mistake(assignment, case, expected, result, cell)
        if named:
            return named
    except Exception:  # noqa: BLE001 - a diagnosis is a bonus; grading goes on without it
        pass
    try:
        return localise(case, expected, result, comparison, assignment.rtol, assignment.atol)
    except Exception:  # noqa: BLE001
        return None


def _named_mistake(assignment, case, expected, result, cell) -> dict | None:
    matched = match_mistakes(case, expected, result, assignment.rtol, assignment.atol)
    if not matched:
        return None
    catalogue = load_catalogue(assignment)
    known = [m for m in (catalogue.mistakes if catalogue is not None else ()) if m in matched]  # catalogue order
    if not known:
        return None
    # Variants can behave alike (a flipped dA and a flipped update give the same numbers): prefer
    # the one whose usual line is actually in the student's code.
    lines = {m: locate(catalogue.mistakes[m].get("pattern"), cell.source) if cell is not None else None
             for m in known}
    chosen = next((m for m in known if lines[m]), known[0])
    mistake = catalogue.mistakes[chosen]
    diagnosis = {"mistake": chosen, "title": mistake["title"], "explanation": mistake["explanation"],
                 "fix": mistake["fix"]}
    if lines[chosen]:
        diagnosis["line"] = _line_text(cell, lines[chosen])
    others = [m for m in known if m != chosen]
    if others:
        diagnosis["also_possible"] = others
    return diagnosis


# --- when no catalogued mistake matches: where the numbers first go wrong ------------------------

LOCALISED = {
    "error": ("the function raised an error",
              "The call stopped with an exception, so nothing could be compared. The message above names it; "
              "run the function on the public test's inputs in the notebook to see the line it comes from."),
    "returned": ("the function does not return the pair (parameters, costs)",
                 "Whatever the body computes, the caller expects exactly two values back: the dictionary of "
                 "trained parameters and the list of recorded costs."),
    "parameters:type": ("parameters is not a dictionary",
                        "The first returned value must be the dictionary of arrays W1, b1, ... as the "
                        "initialiser and the update build it."),
    "cost0": ("the very first cost already differs: initialisation, forward pass or cost",
              "Nothing has been learnt when the first cost is recorded, so the difference comes from the "
              "parameters training starts from (which initialiser, its arguments, the random seed) or from "
              "the forward pass and the cost (the activation of each layer, the cost formula, which arrays "
              "are passed in)."),
    "costs_length": ("costs holds the wrong number of entries: when the cost is recorded",
                     "The values may be right, but a cost must be appended exactly when the template does it "
                     "(every 100 iterations), and the loop must run exactly as many times as asked."),
    "costs": ("the first cost agrees but later ones drift: backward pass or update",
              "Initialisation and the forward pass are right, since the first cost matches; what goes wrong "
              "happens in the training step: the gradients (the backward pass, the caches and dA each step "
              "receives), the update (its sign, the learning rate used, keeping its result), or the "
              "parameters the next forward pass reads."),
    "stdout": ("the printed cost lines differ",
               "The returned values agree, so training is right; the lines printed are not the ones expected: "
               "check which iterations print and the exact format 'Cost after iteration i: cost'."),
    "inputs": ("the function changes the X or Y it was given",
               "The caller's arrays must come back untouched. An in-place operation (X /= ..., X -= ..., "
               "Y[...] = ...) on an argument changes the caller's data; compute on a new array instead."),
}


def _differing_parameters(expected: dict, result: KernelResult, rtol: float, atol: float) -> list[str]:
    keys = []
    for key, want in expected.get("parameters", {}).items():
        got = result.arrays.get("parameter:" + key)
        if got is None or got.shape != want.shape or not _close(got, want, rtol, atol):
            keys.append(key)
    return keys


def _layer(key: str) -> int | None:
    match = re.fullmatch(r"[A-Za-z]+(\d+)", key)
    return int(match.group(1)) if match else None


def _parameters_advice(expected: dict, result: KernelResult, first: str, rtol: float,
                       atol: float) -> tuple[str, str]:
    keys = _differing_parameters(expected, result, rtol, atol) or [first.split(":", 1)[1]]
    all_keys = list(expected.get("parameters", {}))
    layers = sorted({_layer(k) for k in keys if _layer(k) is not None})
    every = set(keys) == set(all_keys)
    title = f"the costs agree but the returned {', '.join(keys)} differ"
    if every:
        explanation = ("Every recorded cost is right, yet every parameter returned differs: the training "
                       "went right while costs were recorded, so look at what happens after the last recorded "
                       "cost (the number of iterations the loop runs, the last update) and at which dictionary "
                       "is returned.")
    elif layers:
        which = ", ".join(str(layer) for layer in layers)
        explanation = (f"Only layer {which} ends up different. The forward pass and the cost are right; look "
                       "at that layer's part of the backward pass (the cache and dA its step receives, the "
                       "activation named) and at its update.")
    else:
        explanation = ("Only some parameters end up different: look at how those entries are computed in the "
                       "backward pass and updated.")
    return title, explanation


ERROR_ADVICE = {
    "NameError": "A name is read before anything was assigned to it: a YOUR CODE region still empty, a "
                 "variable spelled differently where it is set and where it is used, or a notebook variable "
                 "(the grader runs only the imports and the graded cells, so the notebook's other variables "
                 "do not exist). Assign every name the function uses inside the function.",
    "TypeError": "A function received arguments it does not take, or a value of the wrong kind: compare each "
                 "helper call with the helper's signature (for example initialize_parameters(n_x, n_h, n_y) "
                 "takes three sizes, initialize_parameters_deep(layers_dims) one list).",
    "ValueError": "Arrays of incompatible shapes met, usually in a matrix product: check that each layer's W "
                  "is multiplied with the previous layer's activations, and which cache each step receives.",
    "KeyError": "A dictionary was asked for a key it lacks: check the names of the parameters (W1, b1, ...) "
                "and of the gradients (dW1, db1, ...) that update_parameters reads.",
}


def localise(case: dict, expected: dict, result: KernelResult, comparison: Comparison, rtol: float = 1e-6,
             atol: float = 1e-9) -> dict | None:
    """Where the student's numbers first depart from the reference, and what that usually means."""
    first = comparison.first_difference
    if first is None:
        return None
    if first.startswith("parameters:") and first != "parameters:type":
        title, explanation = _parameters_advice(expected, result, first, rtol, atol)
    else:
        title, explanation = LOCALISED.get(first, LOCALISED["costs"] if first.startswith("cost") else (None, None))
        if title is None:
            return None
        if first == "error" and result.meta.error is not None:
            kind = result.meta.error.type
            title = f"the function raised {shown_type(kind, case['visibility'] == 'visible')}"
            explanation = ERROR_ADVICE.get(kind, explanation)
    return {"mistake": None, "title": title, "explanation": explanation, "where": first}
