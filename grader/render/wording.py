"""Sentences made from difference records: the one place a Difference becomes text.

Reports, the console printer and the verdicts' messages all word differences here; nothing
parses these sentences back. A hidden case's sentence never shows an expected value, nor any text
the kernel chose (a key, a type name of a class it made, a printed line, an exception's message),
nor how far a number is from the reference's: with the answer the student chose, an error gives
the expected value back (1.0 returned, relative error 0.56: the reference's is 1 / 1.56 or 1 / 0.44).
"""

from __future__ import annotations

import re

from grader.model import KNOWN_TYPES, Difference, Kind, shown_type
from grader.model.labels import LabelError, fill
from grader.model.paths import display_path


def label_for(shown: str, labels: tuple[tuple[str, str], ...]) -> str | None:
    """The manifest's words for a displayed path: templates match with `*` for any index, and the
    label's placeholders are arithmetic on those indices (grader.model.labels: {1} the first `*`'s
    index, {1+1} that plus one, {2-1} the second's minus one)."""
    for template, label in labels:
        pattern = re.escape(template).replace(r"\*", r"(\d+)")
        found = re.fullmatch(pattern, shown)
        if found:
            try:
                return fill(label, tuple(int(index) for index in found.groups()))
            except LabelError:  # refused when the manifest loads; a hand-built label stays as written
                return label
    return None


def labelled_path(path: tuple, names: tuple[str, ...] = (), labels: tuple[tuple[str, str], ...] = ()) -> str:
    """display_path, followed by the manifest's words for that part when it has some."""
    shown = display_path(path, names)
    label = label_for(shown, labels) if path else None
    return f"{shown} ({label})" if label else shown


def _fmt(value: object) -> str:
    return f"{value:.10g}" if isinstance(value, float) else str(value)


OWN_KINDS = frozenset({"numpy array", "number", "None", "dict", "str", "bool", "tuple", "list", "nothing"})


def _kind(name: object, public: bool) -> str:
    """A kind or type name with its article, as a hidden case may show it (see compare.shown_type)."""
    text = str(name) if str(name) in OWN_KINDS else shown_type(None if name is None else str(name), public)
    if text.startswith(("a ", "an ")) or text == "None":
        return text
    return ("an " if text[:1].lower() in "aeiou" else "a ") + text


def describe(
    difference: Difference, public: bool, names: tuple[str, ...] = (), labels: tuple[tuple[str, str], ...] = ()
) -> str:
    """One sentence for one difference (`labels`: the manifest's words for nested parts)."""
    d, kind = difference, difference.kind
    inputs = kind == Kind.INPUT_CHANGED
    name = display_path(d.path, names, inputs=True) if inputs else labelled_path(d.path, names, labels)
    if kind == Kind.RAISED:
        if public:
            return f"raised {d.what}: {d.got}".rstrip(": ")
        shown = d.what if d.what in KNOWN_TYPES else "an exception of a class defined in the code"
        return f"raised {shown} (on a hidden case the exception's message and line are not shown)"
    if kind == Kind.TYPE:
        if not d.path:
            extra = f" of {d.what} items" if d.got == "tuple" and d.what else ""
            return f"returned {_kind(d.got, public)}{extra}; expected {_kind(d.expected, True)}"
        return f"{name} is {_kind(d.got, public)}, expected {_kind(d.expected, True)}"
    if kind == Kind.LENGTH:  # on a hidden case, a number the code chose could carry what it read
        if not d.path:
            return f"returned {d.got} values, expected {d.expected}" if public else "returned another number of values"
        return (
            f"{name} is a {d.what} of {d.got}, expected {d.expected}"
            if public
            else f"{name} is a {d.what} of another length than the reference's"
        )
    if kind == Kind.MISSING_KEY:
        return f"{_container(d.path, names)} has no key '{d.expected}'"
    if kind == Kind.EXTRA_KEY:
        key = f" '{d.got}'" if public else ""
        if d.count > 1 and not public:
            return f"{_container(d.path, names)} has keys the reference's has not"
        if d.count > 1:
            return f"{_container(d.path, names)} has {d.count} keys the reference's has not (the first{key})"
        return f"{_container(d.path, names)} has a key{key} the reference's has not"
    if kind == Kind.SHAPE:
        return f"{name} has shape {d.got}, expected {d.expected}" if public else f"{name} has another shape"
    if kind in (Kind.VALUES, Kind.NOT_FINITE):
        return _values(d, name, public)
    if kind == Kind.EXACT:
        return f"{name} is {d.got!r}, expected {d.expected!r}" if public else f"{name} is not the reference's"
    if kind == Kind.CUT:
        return f"{name} was too large to be sent back whole" + (f" ({d.got})" if public else "")
    if kind == Kind.PRINTED_LENGTH:
        if not public:
            return "printed another number of lines than expected"
        shown = f": {d.what.splitlines()}" if d.what else ""
        return f"printed {d.got} lines, expected {d.expected}{shown}"
    if kind == Kind.PRINTED:
        return (
            f"printed {d.got!r} where {d.expected!r} was expected"
            if public
            else "a printed line is not the reference's"
        )  # what it printed may echo the inputs
    if kind == Kind.INPUT_CHANGED:
        return f"the input {name} was modified by the function; work on a copy instead"
    return f"{name} differs"


def _container(path: tuple, names: tuple[str, ...]) -> str:
    if not path:
        return "the returned dict"
    if len(path) == 1 and isinstance(path[0], int) and path[0] < len(names):
        return names[path[0]]
    return f"the dict at {display_path(path, names)}"


def _values(d: Difference, name: str, public: bool) -> str:
    spread = f" ({d.count} of {d.total} entries differ)" if d.total > 1 else ""
    at = f" at {list(d.at)}" if d.at is not None else ""
    if d.kind == Kind.NOT_FINITE:
        return f"{name} contains nan or inf values{spread if public else ''}"
    if public:
        return f"{name} differs: expected {_fmt(d.expected)}, got {_fmt(d.got)}{at}{spread}"
    return f"{name} differs from the reference"  # how many, and where: numbers the code could choose
