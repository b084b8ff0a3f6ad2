"""Outcomes: what a function did on a case, compactly, and whether two such outcomes agree.

An outcome is built the same way for a catalogued variant (when `grader expected` runs it, or a
family's is re-run) and for the student's answer: the compared parts' signature (types, lengths,
keys, shapes) with a fingerprint of their numbers, the printed lines, whether an argument changed,
or the error raised. Two outcomes agree only when every quantity the case compares agrees within
the assignment's tolerance, so a correct solution (which passes) never looks like a mistake.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import ArrayLike

from grader.judge.compare import input_differences, part_of, same_line, split_numbers
from grader.kernel.untrusted import Array, Atom, KernelResult, Mapping, Node, Number, Seq, result_of_value
from grader.model import Case, Expected, Tolerance, python_value

FINGERPRINT_POINTS = 8


def fingerprint(array: ArrayLike) -> np.ndarray:
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
        inner = ",".join(
            f"{key!r}:{_walk(item, f'{path}[{key!r}]', leaves, exact)}"
            for key, item in zip(node.keys, node.items, strict=True)
        )
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


def outcome_of(result: KernelResult, case: Case, names: tuple[str, ...]) -> dict:
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
    return {
        "signature": ";".join(signature),
        "leaves": leaves,
        "stdout": meta.stdout.splitlines(),
        "inputs_changed": False,
    }


def variant_outcome(raw: dict, case: Case, names: tuple[str, ...]) -> dict:
    """A variant's raw result ({"returned", "stdout"} or {"error"}) as a comparable outcome."""
    if "error" in raw:
        return {"error": [str(raw["error"]["type"]), str(raw["error"]["message"])]}
    stdout = "\n".join(str(line) for line in raw.get("stdout", []))
    outcome = outcome_of(result_of_value(raw["returned"], stdout), case, names)
    # A variant that edits its arguments in place says so: that is a mistake of its own.
    outcome["inputs_changed"] = bool(raw.get("inputs_changed", False))
    return outcome


def student_outcome(
    result: KernelResult, expected: Expected, case: Case, names: tuple[str, ...], tol: Tolerance
) -> dict:
    """The same outcome, read from what the student's kernel sent back."""
    outcome = outcome_of(result, case, names)
    if "error" not in outcome and "inputs_unchanged" in case.compare:
        outcome["inputs_changed"] = bool(input_differences(expected.arguments, result.inputs, tol))
    return outcome


def plain_result(result: KernelResult) -> dict:
    """What the student's function did, in the form of a variant's raw output."""
    if result.meta.error is not None:
        return {"error": {"type": result.meta.error.type, "message": result.meta.error.message}}
    return {"returned": python_value(result.returned), "stdout": result.meta.stdout.splitlines()}


# --- comparing two outcomes ---------------------------------------------------------------------


def _close(a: ArrayLike, b: ArrayLike, rtol: float, atol: float) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)))


def _same_fingerprint(a: np.ndarray | None, b: np.ndarray | None, rtol: float, atol: float) -> bool:
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


def same_outcome(case: Case, a: dict, b: dict, rtol: float, atol: float) -> bool:
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
