"""Words for why a file cannot be graded (grader.model.refusal): what is wrong and what to submit."""

from __future__ import annotations

from grader.model.refusal import Refusal, RefusalKind

_WORDS = {
    RefusalKind.EMPTY: "{label} is empty: submit the .ipynb file saved from Jupyter.",
    RefusalKind.NOT_JSON: (
        "{label} is not a notebook: it is not valid JSON ({detail} at line {line}). Submit the "
        ".ipynb file itself, saved from Jupyter, not an export or a copy of its text."
    ),
    RefusalKind.UNREADABLE_JSON: (
        "{label} cannot be read as a notebook: its JSON is {detail}. Submit the .ipynb file saved from Jupyter."
    ),
    RefusalKind.NOT_A_NOTEBOOK: "{label} is JSON but not a Jupyter notebook (it has no 'nbformat' field).",
    RefusalKind.INVALID: ("{label} is not a valid notebook ({detail}). Open it in Jupyter, save it, and submit again."),
    RefusalKind.CANNOT_READ: "{label} cannot be read: {detail}.",
    RefusalKind.LINK: (
        "{label} is a symbolic link, and the grader never follows links: submit (or pass) the notebook file itself."
    ),
    RefusalKind.NOT_REGULAR: "{label} is {detail}, not a notebook file: submit the .ipynb file itself.",
    RefusalKind.WOULD_BLOCK: "{label} cannot be read without waiting: it is not a notebook file.",
    RefusalKind.TOO_LARGE: (
        "{label} is {size_mb} MB or more, larger than the {limit_mb} MB accepted: clear the outputs and save again."
    ),
    RefusalKind.NOT_TEXT: "{label} is not a text file, so not a notebook: submit the .ipynb file.",
    RefusalKind.NO_GRADED_CELL: (
        "{label} has no graded cell: none starts with '# GRADED FUNCTION: name'. Keep "
        "that first line of each exercise cell as it was released."
    ),
    RefusalKind.BAD_ZIP: (
        "{label} is not a readable zip archive ({detail}). Make the zip again, or submit the notebooks themselves."
    ),
    RefusalKind.ZIP_TOO_LARGE: "not extracted: {detail} holds more than {limit_mb} MB of notebooks",
    RefusalKind.NOT_EXTRACTED: "{label} could not be extracted from {detail} ({why}). Make the zip again.",
    RefusalKind.UNREADABLE: "{label} cannot be read ({detail}). Check its permissions.",
}
FILE_KINDS = {
    "link": "a symbolic link",
    "folder": "a folder",
    "fifo": "a FIFO",
    "socket": "a socket",
    "device": "a device",
    "other": "not a regular file",
}


def refusal_text(refusal: Refusal) -> str:
    """Why the file cannot be graded, and what to do."""
    if refusal.kind == RefusalKind.OTHER_ASSIGNMENT:
        return (
            f"{refusal.label} is not a notebook of {refusal.title}: its graded functions "
            f"({', '.join(refusal.names)}) are none of this assignment's ({', '.join(refusal.expected)}). It "
            "was probably written for another assignment: check or grade it with --assignment pointing at "
            "that assignment's folder, and keep each assignment's notebooks in a folder of their own."
        )
    detail = (
        FILE_KINDS.get(refusal.detail, refusal.detail) if refusal.kind == RefusalKind.NOT_REGULAR else refusal.detail
    )
    return _WORDS[refusal.kind].format(
        label=refusal.label,
        detail=detail,
        line=refusal.line,
        size_mb=refusal.size_mb,
        limit_mb=refusal.limit_mb,
        why=refusal.why,
    )
