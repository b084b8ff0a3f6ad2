"""`grader release`: the student bundle, built from the instructor's solution notebook.

The released notebook is the solution with every learner region emptied (the marker lines and the
hints above them stay), its instructor-only mistake cells removed and its outputs cleared. Every
graded cell must have a region or be declared `given`; and before anything is written, the bundle's
notebook and texts are checked to hold no line found only inside the solution's regions.

Beside the notebook go the manifest and the support files the manifest names, nothing else: no cases
module, no expected values, no solution. The bundle is written as a folder and as a zip of that
folder, and it carries a small marker file so that a later release may replace it and the rules
checker can compare a student's notebook with the pristine released cells even after the student has
edited the notebook in place.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import nbformat

from grader.assignment.dataset import dataset_files
from grader.assignment.manifest import MANIFEST, Assignment, public_manifest_text
from grader.assignment.released import (
    MARKER_FILE,
    ReleaseError,
    is_mistake_cell,
    released_notebook,
    solution_only_lines,
)
from grader.judge.catalogue import PUBLIC_MISTAKES_FILE, TEXT_KEYS, load_catalogue
from grader.judge.mutant_store import PUBLIC_MUTANTS_FILE

IGNORED_NAMES = ("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so that releasing the same files gives the same zip


def _secret_names(assignment: Assignment) -> set[str]:
    return {
        assignment.cases_file,
        assignment.expected_file,
        assignment.mistakes_file,
        assignment.mistakes_expected_file,
        assignment.mutants_expected_file,
        assignment.solution,
        "reference",
    } - {""}


def _check_support(assignment: Assignment) -> list[Path]:
    secret = _secret_names(assignment)
    sources = []
    for name in assignment.support:
        if Path(name).name in secret or Path(name).suffix == ".npz":
            raise ReleaseError(
                f"{assignment.folder / MANIFEST} lists {name!r} as a support file, but it is "
                "instructor-only: remove it from `support`"
            )
        source = assignment.folder / name
        if not source.exists():
            raise ReleaseError(f"{source} is missing: the manifest lists it as a support file")
        sources.append(source)
    return sources


def _check_destination(out_dir: Path, assignment: Assignment) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ReleaseError(f"{out_dir} exists and is not a folder: choose another --out")
    resolved = out_dir.resolve()
    if resolved == assignment.folder or resolved in assignment.folder.parents:
        raise ReleaseError(f"{out_dir} holds the assignment folder itself: choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER_FILE).is_file():
        raise ReleaseError(
            f"{out_dir} is not empty and is not a previous release bundle: choose an empty or "
            "new folder for --out (a previous bundle is replaced)"
        )


def _foreign_files(previous: Path, bundle: Path) -> list[str]:
    """Files in a previous bundle that the new one does not hold (apart from caches and datasets)."""
    ours = {path.relative_to(bundle) for path in bundle.rglob("*")}
    foreign = []
    for path in sorted(previous.rglob("*")):
        relative = path.relative_to(previous)
        if path.is_dir() or relative in ours or relative.parts[0] == "datasets":
            continue
        if {"__pycache__", ".ipynb_checkpoints"} & set(relative.parts):
            continue
        foreign.append(str(relative))
    return foreign


def _datasets(data_dir: Path, assignment: Assignment) -> list[Path]:
    files, problem = dataset_files(assignment, data_dir)
    if problem:
        raise ReleaseError(f"{problem}: --data names the folder holding the dataset's files")
    return files


def _verify_secrecy(bundle: Path, assignment: Assignment) -> None:
    """A last look before the bundle goes out: nothing instructor-only may be in it."""
    secret = _secret_names(assignment)
    for path in bundle.rglob("*"):
        if path.name in secret or path.suffix == ".npz":
            raise ReleaseError(f"refusing to release: {path.relative_to(bundle)} is instructor-only")
    leaked = solution_only_lines(assignment)
    _verify_notebook(nbformat.read(bundle / assignment.student_notebook, as_version=4), assignment, leaked)
    if (bundle / PUBLIC_MISTAKES_FILE).is_file():
        _verify_public_mistakes(json.loads((bundle / PUBLIC_MISTAKES_FILE).read_text()), assignment, leaked)


def _verify_notebook(notebook: nbformat.NotebookNode, assignment: Assignment, leaked: set[str]) -> None:
    """Every cell of the released notebook, code or text: no mistake cell, no solution-only line."""
    where = f"refusing to release: {assignment.student_notebook}, cell"
    for number, cell in enumerate(notebook.cells, start=1):
        if is_mistake_cell(cell, assignment.markers):
            raise ReleaseError(
                f"{where} {number} is an instructor-only '# {assignment.markers.mistake_marker}' cell: "
                "release removes those cells, so this bundle was not built by this release; release again"
            )
        for index, line in enumerate(cell.source.split("\n"), start=1):
            text = line.strip()
            quoted = text in leaked if cell.cell_type == "code" else any(answer in text for answer in leaked)
            if quoted:
                raise ReleaseError(
                    f"{where} {number}, line {index} still holds the solution line {text!r}: put that line "
                    f"between the '# {assignment.markers.region_start}' and '# {assignment.markers.region_end}' "
                    "markers, or take it out of the cell"
                )


def _verify_public_mistakes(document: dict, assignment: Assignment, leaked: set[str]) -> None:
    """The self-check's catalogue texts: a text quoting an answer is refused, never cut (the catalogue
    refuses it when it loads; a stale copy from an older `grader expected` is caught here)."""
    for mistake_id, entry in document.get("mistakes", {}).items():
        for key in TEXT_KEYS:
            quoted = next((answer for answer in sorted(leaked) if answer in str(entry.get(key, ""))), None)
            if quoted is not None:
                raise ReleaseError(
                    f"refusing to release: {PUBLIC_MISTAKES_FILE} gives the {key} of mistake '{mistake_id}' "
                    f"quoting the solution line {quoted!r}: describe the change instead of quoting the line "
                    "in the mistake's text, then run `grader expected` again"
                )


def _write_zip(bundle: Path, archive: Path) -> None:
    partial = archive.with_name(archive.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(f"{bundle.name}/{path.relative_to(bundle).as_posix()}", ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zipped.writestr(info, path.read_bytes())
    partial.replace(archive)


def check_cell(assignment: Assignment) -> nbformat.NotebookNode:
    """The released notebook's last cell: how to run the self-check from the notebook. Markdown, so
    running the notebook top to bottom never needs the grader installed."""
    cell = nbformat.v4.new_markdown_cell(
        "## Check your work\n\n"
        f"Save the notebook first (Ctrl-S / Cmd-S): the check grades the saved file, {assignment.student_notebook}, "
        "on the public tests, in a fresh kernel of its own. Then run this in a new code cell:\n\n"
        "```python\nfrom grader import check\ncheck()\n```\n\n"
        f"In a terminal, `grader check {assignment.student_notebook}` does the same."
    )
    cell.id = "grader-check-your-work"  # fixed, so that releasing twice writes the same notebook
    return cell


def build_release(assignment: Assignment, out_dir: Path, data_dir: Path | None) -> tuple[Path, Path]:
    """Write the student bundle as the folder `out_dir` and the zip beside it; returns both paths."""
    if assignment.is_bundle:
        raise ReleaseError(
            f"{assignment.folder} is a release bundle: release from the instructor's assignment "
            "folder, which has the solution notebook and the cases"
        )
    out_dir = Path(out_dir)
    _check_destination(out_dir, assignment)
    sources = _check_support(assignment)
    datasets = _datasets(Path(data_dir), assignment) if data_dir is not None else []
    load_catalogue(assignment)  # refuses a mistake's text that quotes the solution
    notebook = released_notebook(assignment)
    notebook.cells.append(check_cell(assignment))

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        nbformat.write(notebook, staging / assignment.student_notebook)
        ignore = shutil.ignore_patterns(*IGNORED_NAMES)
        for source in sources:
            target = staging / source.relative_to(assignment.folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=ignore)
            else:
                shutil.copy2(source, target)
        (staging / MANIFEST).write_text(public_manifest_text((assignment.folder / MANIFEST).read_text()))
        if (assignment.folder / PUBLIC_MISTAKES_FILE).is_file():  # public cases only (grader expected)
            shutil.copy2(assignment.folder / PUBLIC_MISTAKES_FILE, staging / PUBLIC_MISTAKES_FILE)
        if assignment.mutants_expected_file and (assignment.folder / PUBLIC_MUTANTS_FILE).is_file():
            shutil.copy2(assignment.folder / PUBLIC_MUTANTS_FILE, staging / PUBLIC_MUTANTS_FILE)  # public cases only
        if datasets:
            (staging / "datasets").mkdir()
            for path in datasets:
                shutil.copy2(path, staging / "datasets" / path.name)
        marker = {
            "written_by": "grader release",
            "assignment": assignment.name,
            "version": assignment.version,
            "notebook": assignment.student_notebook,
            "released_code_cells": [c.source for c in notebook.cells if c.cell_type == "code"],
        }
        (staging / MARKER_FILE).write_text(json.dumps(marker, indent=1) + "\n")
        _verify_secrecy(staging, assignment)
        staging.chmod(0o755)
        if out_dir.exists():
            foreign = _foreign_files(out_dir, staging)
            if foreign:
                shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
                raise ReleaseError(
                    f"{out_dir} holds files a bundle does not ({shown}); replacing the bundle would "
                    "delete them: move them elsewhere, or choose another --out"
                )
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    archive = out_dir.with_name(out_dir.name + ".zip")
    _write_zip(out_dir, archive)
    return out_dir, archive
