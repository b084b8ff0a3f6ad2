"""Words for the course's submission rules a notebook breaks (grader.model.report.Finding)."""

from __future__ import annotations

from grader.judge.rules import MAX_RULES_CELL_CHARS, MAX_RULES_CELLS, RULES_SECONDS
from grader.model.report import Finding, FindingRule

# Above the findings in the feedback: which of them cost points, and which are advice.
RULES_INTRO = (
    "Points come only from the cases above; a rule broken here costs points where it makes cases "
    "fail. A syntax error, a changed or missing def line, an extra print inside a graded function or "
    "a notebook variable read inside one usually does, and those points are already taken above. "
    "The other findings are advice: they cost nothing here, but the course's own grader may fail on "
    "them."
)
KEEP_IN_REGIONS = "Keep your changes between the YOUR CODE STARTS HERE and ENDS HERE markers, and restore the rest."


def where(finding: Finding) -> str:
    """ "cell 5, line 12", "cell 5", or "" when the finding has no place."""
    if finding.cell is None:
        return ""
    return f"cell {finding.cell}" + (f", line {finding.line}" if finding.line else "")


def _more(count: int) -> str:
    return f" (and {count} more lines)" if count > 0 else ""


def _extra_print(f: Finding) -> str:
    effect = (
        f"what {f.function} prints is compared with the reference's output, so extra lines lose points"
        if f.inside
        else "extra output can make a grader fail to read the notebook's results"
    )
    return f"extra print statement `{f.code}`, not in the released cell: {effect}. Remove it before submitting."


def _parameters(f: Finding, changed: str) -> str:
    return (
        f"the parameters of {f.function} were changed: {changed}. Restore the def line as released and work "
        "with those parameters."
    )


def _defaults(f: Finding) -> str:
    changes = "; ".join(
        f"the default of {name} is {mine or 'gone'} where the released notebook has {theirs or 'none'}"
        for name, mine, theirs in f.changes
    )
    return _parameters(f, changes)


def _what(f: Finding) -> str:
    return {
        "released": "the released notebook",
        "variables": "the notebook's variables",
        "cells": "the notebook's cells",
        "cell": f"{f.function}'s cell",
    }.get(f.what, f.what)


def _not_checked(f: Finding) -> str:
    if f.why == "too_many_cells":
        why = (
            f"it has {f.count} code cells, more than the {MAX_RULES_CELLS} the rules compare with the released notebook"
        )
    elif f.why == "too_large":
        size, lines = f.size.split(":")
        why = (
            f"the cell is {size} KB ({lines} lines), more than the {MAX_RULES_CELL_CHARS // 1000} KB the rules analyse"
        )
    else:
        why = f"the rules took more than {RULES_SECONDS:g} s"
    return f"the submission rules were not checked on {_what(f)}: {why}. Grading itself is not affected."


_WORDS = {
    FindingRule.EXTRA_PRINT: _extra_print,
    FindingRule.NO_FUNCTION: lambda f: (
        f"the cell no longer defines {f.function}: the grader calls {f.function}, "
        "so keep its def line as released and write your code in its YOUR CODE "
        "regions."
    ),
    FindingRule.PARAMETER_ORDER: lambda f: _parameters(
        f,
        f"the grader passes the arguments in the order "
        f"({', '.join(f.expected)}), but the def now takes "
        f"({', '.join(f.names)})",
    ),
    FindingRule.PARAMETER_NAMES: lambda f: _parameters(
        f, f"it takes ({', '.join(f.names)}) where the released notebook has ({', '.join(f.expected)})"
    ),
    FindingRule.PARAMETER_DEFAULTS: _defaults,
    FindingRule.GLOBAL_DECLARED: lambda f: (
        f"{f.function} declares a global variable: the grader calls it in a "
        "fresh kernel where the notebook's variables do not hold what you "
        "expect. Use the function's parameters and local variables instead."
    ),
    FindingRule.GLOBAL_READ: lambda f: (
        f"{f.function} reads `{f.name}`, a variable of the notebook (set in cell "
        f"{f.set_in}), not one of its parameters or local variables. The grader "
        f"calls {f.function} with other arguments, so set `{f.name}` inside the "
        "function, from its arguments."
    ),
    FindingRule.MARKER_CHANGED: lambda f: (
        f"the marker line `{f.code}` was removed or changed, so the YOUR CODE "
        "regions no longer match the released cell. Restore the marker lines "
        "exactly as released, with your code between them."
    ),
    FindingRule.EDIT_REPLACED: lambda f: (
        f"`{f.code}`{_more(f.more)} differs from the released `{f.released}` "
        f"outside the YOUR CODE regions. {KEEP_IN_REGIONS}"
    ),
    FindingRule.EDIT_ADDED: lambda f: (
        f"`{f.code}`{_more(f.more)} was added outside the YOUR CODE regions. {KEEP_IN_REGIONS}"
    ),
    FindingRule.EDIT_REMOVED: lambda f: (
        f"the released line `{f.released}`{_more(f.more)} was removed, outside the YOUR CODE regions. {KEEP_IN_REGIONS}"
    ),
    FindingRule.EDITS_MORE: lambda f: (
        f"{f.more} more places of {f.function}'s cell differ from the released "
        f"notebook outside the YOUR CODE regions. {KEEP_IN_REGIONS}"
    ),
    FindingRule.SECOND_GRADED_CELL: lambda f: (
        f"a second graded cell for {f.function}; only the last one is graded. Delete this copy before submitting."
    ),
    FindingRule.EXTRA_CELL: lambda f: (
        "a code cell the released notebook does not have. The grader does not run "
        "it, so nothing it defines reaches the graded functions: delete it (or turn "
        "it into a markdown cell) before submitting."
    ),
    FindingRule.SYNTAX_ERROR: lambda f: (
        f"{f.function}'s cell has a syntax error ({f.detail}): Python cannot run "
        f"it, so {f.function} cannot be graded. Fix that line, run the cell, and "
        "check again."
    ),
    FindingRule.NOT_PYTHON: lambda f: f"{f.function}'s cell cannot be read as Python ({f.detail}).",
    FindingRule.UNCHECKED: lambda f: (
        f"the submission rules could not be checked on {_what(f)} ({f.detail}); grading itself is not affected."
    ),
    FindingRule.NOT_CHECKED: _not_checked,
    FindingRule.TEXT: lambda f: f.detail,
}


def finding_text(finding: Finding) -> str:
    """The rule broken, in words, with what to do."""
    return _WORDS[finding.rule](finding)


def finding_spans(finding: Finding) -> tuple[tuple[str, bool], ...]:
    """The finding in words as (text, is code) pieces: what the words put between backticks is code, for
    the HTML and Markdown reports to show as code. A free text (TEXT) or one whose backticks do not pair
    up is one plain piece."""
    text = finding_text(finding)
    pieces = text.split("`")
    if finding.rule == FindingRule.TEXT or len(pieces) % 2 == 0:
        return ((text, False),)
    return tuple((piece, index % 2 == 1) for index, piece in enumerate(pieces) if piece)
