"""Text any record can hold: a kernel's str may hold lone surrogates, which no UTF-8 file, SQLite text
or terminal accepts."""

from __future__ import annotations

from collections.abc import Callable


def writable(text: str) -> str:
    """`text` as valid UTF-8: a lone surrogate that stands for a byte of a file name (os.fsdecode)
    becomes that byte, shown as \\xe9 when it is no UTF-8; any other lone surrogate, \\ud800."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        escaped_bytes = all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)
        raw = text.encode("utf-8", "surrogateescape" if escaped_bytes else "backslashreplace")
        return raw.decode("utf-8", "backslashreplace")


def map_strings(value: object, change: Callable[[str], str]) -> object:
    """`value` with `change` applied to every string in it, keys too (in dicts, lists and tuples; a
    tuple becomes a list, as in JSON)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {map_strings(key, change): map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [map_strings(item, change) for item in value]
    return value
