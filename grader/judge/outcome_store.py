"""The variants' outcomes as stored: one table, each part of an outcome under its `OutcomeKey`.

In memory a table is keyed by `OutcomeKey` records (mistake, case, part, leaf). The files spell a
key `mistake|case|part` (`mistake|case|leaf|path` for a number fingerprint): that text is made only
when a table is saved (`as_text`) and read back into records once, when a file is loaded
(`parse_key`); nothing else takes a key apart. The instructor's file is one JSON table in one npz
member; the bundle's public copy holds the same text keys in its JSON document.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from grader.model.diagnosis import OutcomeKey

SEPARATOR = "|"  # between a key's fields in the files


def key_text(key: OutcomeKey) -> str:
    """The key as the files spell it: `mistake|case|part`, then `|path` for a leaf."""
    return SEPARATOR.join(field for field in key if field is not None)


def parse_key(text: str) -> OutcomeKey:
    """A stored key read back (ValueError when the text is none): the inverse of `key_text`."""
    fields = text.split(SEPARATOR, 3)
    if len(fields) < 3:
        raise ValueError(f"not a stored outcome's key: {text!r}")
    return OutcomeKey(*fields)


def holds_error(text: str) -> bool:
    """Whether a stored document's key (text, as in a file) is an outcome's `error` part."""
    try:
        return parse_key(text).part == "error"
    except ValueError:
        return False


def stored_variant_table(prefix: tuple[str, str], outcome: dict) -> dict[OutcomeKey, np.ndarray]:
    """One outcome as table entries under (mistake, case): its error, or its signature, printed lines,
    number fingerprints (one per leaf path) and, when set, that it changed its arguments."""
    mistake, case = prefix

    def key(part: str, leaf: str | None = None) -> OutcomeKey:
        return OutcomeKey(mistake, case, part, leaf)

    if "error" in outcome:
        return {key("error"): np.array(outcome["error"], dtype=str)}
    flat = {
        key("signature"): np.array([outcome["signature"]], dtype=str),
        key("stdout"): np.array(outcome["stdout"], dtype=str),
    }
    for path, marks in outcome["leaves"].items():
        flat[key("leaf", path)] = marks
    if outcome.get("inputs_changed"):
        flat[key("inputs_changed")] = np.array(["yes"], dtype=str)
    return flat


def as_text(flat: dict[OutcomeKey, np.ndarray]) -> dict[str, list]:
    """A table as the files hold it: each key spelt out, each value a (nested) list."""
    return {key_text(key): value.tolist() for key, value in flat.items()}


def parsed_table(table: dict[str, list]) -> dict[OutcomeKey, np.ndarray]:
    """A table as a file holds it, read back: keys as records, fingerprints float64, the rest texts."""
    keys = {text: parse_key(text) for text in table}
    return {key: np.array(table[text], dtype=np.float64 if key.part == "leaf" else str) for text, key in keys.items()}


def save_variant_values(path: Path, flat: dict[OutcomeKey, np.ndarray]) -> None:
    """One JSON table in one npz member: thousands of tiny arrays would be mostly archive overhead."""
    table = json.dumps(dict(sorted(as_text(flat).items())), separators=(",", ":"))
    np.savez_compressed(path, table=np.array(table))


def read_variant_table(path: Path) -> dict[OutcomeKey, np.ndarray]:
    """The stored table of an instructor's outcomes file."""
    with np.load(path, allow_pickle=False) as stored:
        table = json.loads(str(stored["table"]))
    return parsed_table(table)


def read_variant_values(path: Path) -> dict[str, dict[str, dict]]:
    """Stored variant outcomes as {case_id: {mistake_id: outcome}} (empty when the file is absent)."""
    return outcomes_by_case(read_variant_table(path) if path.exists() else {})


def public_outcomes(document: dict) -> dict[str, dict[str, dict]]:
    """A bundle's public mistakes document's outcomes by case ({} when malformed: a student may have
    edited the file)."""
    try:
        return outcomes_by_case(parsed_table(document.get("outcomes", {})))
    except Exception:  # noqa: BLE001 - diagnosis is a bonus
        return {}


def outcomes_by_case(table: dict[OutcomeKey, np.ndarray]) -> dict[str, dict[str, dict]]:
    """A table's entries gathered again into outcomes: {case_id: {mistake_id: outcome}}."""
    by_case: dict[str, dict[str, dict]] = {}
    for key, value in table.items():
        outcome = by_case.setdefault(key.case, {}).setdefault(key.mistake, {})
        if key.part == "error":
            outcome["error"] = [str(v) for v in value]
            continue
        outcome.setdefault("leaves", {})
        outcome.setdefault("inputs_changed", False)
        if key.part == "signature":
            outcome["signature"] = str(value[0])
        elif key.part == "stdout":
            outcome["stdout"] = [str(line) for line in value]
        elif key.part == "leaf":
            outcome["leaves"][key.leaf or ""] = value
        elif key.part == "inputs_changed":
            outcome["inputs_changed"] = True
    return by_case
