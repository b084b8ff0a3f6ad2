"""Text as every report can hold it, whatever a student's code printed, raised or named.

A kernel's str may hold lone surrogates, which no UTF-8 file, SQLite text or terminal accepts;
control characters (NUL, escape sequences), which end C strings, move a terminal's cursor or are
not allowed in HTML; and bidirectional overrides, which show text in another order than it is
stored. Where a report is written, each of them becomes a visible escape (\\ud800, \\x1b, \\u202e),
so every file is valid UTF-8 and reads as what was stored.
"""

from __future__ import annotations

import re

from grader.model.text import map_strings, writable

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; the bidirectional
# embeddings, overrides and isolates.
HIDDEN_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """`text` as a report shows it: valid UTF-8 (see writable), with every control character
    that is not a line break or a tab, and every bidirectional override, written as an escape."""
    return HIDDEN_CONTROLS.sub(lambda found: _escape(found.group(0)), writable(text))


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def shown_tree(value: object) -> object:
    """`value` with shown() applied to every string in it, keys too (in dicts, lists and tuples)."""
    return map_strings(value, shown)
