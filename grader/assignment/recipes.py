"""The harness's recipe language (grader/kernel/harness.py), checked when the assignment loads.

The harness builds a case's inputs inside the kernel, where a slip would only show as an error
halfway through grading. Here every recipe is read once, outside the kernel, and a slip (a tag
typo, a shape that is no list of sizes, a key no tag reads) is named with its case and argument.
"""

from __future__ import annotations

import difflib
from typing import Any

#: The tags `__grader_inputs__` knows (tests/test_manifest_schema.py checks the two lists agree).
TAGS = ("normal", "uniform", "bernoulli", "array", "file", "tuple", "dict", "literal")
#: The keys each tag reads besides itself.
TAG_KEYS = {
    "normal": set(),
    "uniform": {"low", "high"},
    "bernoulli": {"p"},
    "array": set(),
    "file": {"key", "rows"},
    "tuple": set(),
    "dict": set(),
    "literal": set(),
}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shape(value: object) -> str:
    """'' when `value` is a shape (a list of whole numbers >= 0), else what is wrong."""
    if isinstance(value, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value):
        return ""
    return f"the shape {value!r} is not a list of whole numbers, e.g. [3, 4]"


def _tagged(spec: dict[str, Any], path: str) -> str:
    """What is wrong with an object that should carry one tag ('' when nothing is)."""
    tags = [key for key in spec if key in TAGS]
    if len(tags) != 1:
        unknown = [str(key) for key in spec if key not in TAGS]
        close = difflib.get_close_matches(unknown[0], TAGS, n=1) if unknown and not tags else []
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        found = f"the tags {tags}" if tags else f"no known tag in {sorted(map(str, spec))}{guess}"
        return f"{path} has {found}: give exactly one of {', '.join(TAGS)}"
    tag = tags[0]
    extra = sorted(set(spec) - {tag} - TAG_KEYS[tag])
    if extra:
        allowed = ", ".join(sorted(TAG_KEYS[tag])) or "none"
        return f"{path}: the tag '{tag}' reads no key {extra[0]!r} (its other keys: {allowed})"
    value = spec[tag]
    if tag in ("normal", "bernoulli") or (tag == "uniform" and not isinstance(value, int)):
        return f"{path}: {_shape(value)}" if _shape(value) else ""
    if tag == "file" and not (isinstance(value, str) and isinstance(spec.get("key"), str)):
        return f'{path}: a file needs a file name and a key, e.g. {{"file": "data.h5", "key": "x"}}'
    if tag == "tuple":
        return _value(value, f"{path}.tuple") if isinstance(value, list) else f"{path}: a tuple takes a list"
    if tag == "dict":
        if not isinstance(value, dict):
            return f"{path}: a dict takes a table of values"
        return next((p for k, v in value.items() if (p := _value(v, f"{path}.dict.{k}"))), "")
    if tag == "array" and not isinstance(value, list | int | float):
        return f"{path}: an array takes a list of numbers"
    return ""


def _value(spec: object, path: str) -> str:
    """What is wrong with one recipe value ('' when nothing is)."""
    if spec is None or isinstance(spec, bool | str) or _is_number(spec):
        return ""
    if isinstance(spec, list):
        return next((p for i, v in enumerate(spec) if (p := _value(v, f"{path}[{i}]"))), "")
    if isinstance(spec, dict):
        return _tagged(spec, path)
    return f"{path} is a {type(spec).__name__}, which a recipe cannot hold"


def recipe_problem(recipe: dict[str, Any]) -> str:
    """What is wrong with a case's recipe, naming the argument ('' when nothing is)."""
    extra = sorted(set(recipe) - {"seed", "args"})
    if extra:
        return f"the recipe has the key {extra[0]!r}; a recipe holds only `seed` and `args`"
    if "seed" in recipe and not (isinstance(recipe["seed"], int) and not isinstance(recipe["seed"], bool)):
        return f"the recipe's seed {recipe['seed']!r} is not a whole number"
    args = recipe.get("args", {})
    if not isinstance(args, dict):
        return "the recipe's `args` must be a table of argument name -> value"
    for name, value in args.items():
        problem = _value(value, f"argument '{name}'")
        if problem:
            return problem
    return ""
