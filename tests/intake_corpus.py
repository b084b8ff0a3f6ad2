"""Hostile submitted *files*, as opposed to hostile notebooks (tests/hostile_corpus.py): what reaches
the grader before any kernel runs. Links to the solution, FIFOs, names that are not UTF-8, notebooks
nested too deeply, graded cells too large to check cheaply. Generated, so that nothing hostile is
kept in the repository.

    python tests/intake_corpus.py FOLDER     write the corpus
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "assignments" / "dnn_app" / "dnn_app_solution.ipynb"
NOT_UTF8 = os.fsdecode(b"caf\xe9.ipynb")  # a name that is not valid UTF-8, as the file system gives it
DEPTH = 200_000


def deep_notebook() -> bytes:
    """A notebook whose metadata nests DEPTH lists deep: valid JSON no parser should recurse into."""
    return b'{"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {"x": ' + b"[" * DEPTH + b"]" * DEPTH + b"}}"


def write_intake_corpus(folder: Path) -> dict[str, Path]:
    """A folder of submissions that are not plain notebook files, and one that is, next to them."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {"plain": folder / "plain.ipynb"}
    made["plain"].write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    made["link_to_solution"] = folder / "link_to_solution.ipynb"
    made["link_to_solution"].symlink_to(SOLUTION)
    made["fifo"] = folder / "fifo.ipynb"
    os.mkfifo(made["fifo"])
    made["link_to_fifo"] = folder / "link_to_fifo.ipynb"
    made["link_to_fifo"].symlink_to(made["fifo"])
    made["linked_folder"] = folder / "linked_folder"
    made["linked_folder"].symlink_to(SOLUTION.parent, target_is_directory=True)
    made["not_utf8"] = folder / NOT_UTF8
    made["not_utf8"].write_text("{}")
    made["deep"] = folder / "deep.ipynb"
    made["deep"].write_bytes(deep_notebook())
    return made


if __name__ == "__main__":
    for name, path in write_intake_corpus(Path(sys.argv[1])).items():
        print(f"{name}: {os.fsencode(path)!r}")
