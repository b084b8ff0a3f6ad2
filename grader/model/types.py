"""Which type names a report may show: the code can give a class it makes any name (a hidden input,
say), so on a hidden case only Python's and numpy's own type names are shown."""

from __future__ import annotations

import builtins

import numpy as np

# Type names a hidden case's report may show: Python's own (builtins) and numpy's.
KNOWN_TYPES = frozenset(name for name, value in {**vars(builtins), **vars(np)}.items() if isinstance(value, type)) | {
    "NoneType",
    "LinAlgError",
    "AxisError",
    "function",
    "generator",
    "module",
}


def shown_type(name: str | None, public: bool) -> str:
    """A type's name as a report may show it: on a hidden case, only the names of Python's and
    numpy's own types, since the code can give a class it makes any name (a hidden input, say)."""
    if public or name is None or name in KNOWN_TYPES:
        return str(name)
    return "an object of a class defined in the code"
