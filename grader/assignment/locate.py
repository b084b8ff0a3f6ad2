"""Which assignment a command means when none is named: the nearest assignment.toml."""

from __future__ import annotations

from pathlib import Path

from grader.assignment.manifest import MANIFEST, Assignment, load_assignment
from grader.errors import UserError

HOW_TO_NAME = (
    "pass --assignment DIR: the assignment folder (holding assignment.toml, the cases and the expected "
    "values) or, for `grader check`, the release bundle"
)


def _folders_up(start: Path) -> list[Path]:
    start = start.resolve()
    return [start, *start.parents]


def find_assignment(
    explicit: str | Path | None = None, near: list[Path] | tuple[Path, ...] = (), bundle_ok: bool = True
) -> Assignment:
    """The assignment named, else the nearest assignment.toml beside or above `near` (notebooks or
    folders), else above the current folder. A release bundle is accepted only where `bundle_ok`."""
    if explicit:
        return load_assignment(explicit)
    starts = [path.parent if path.suffix else path for path in map(Path, near)] + [Path.cwd()]
    bundles = []
    for start in starts:
        for folder in _folders_up(start):
            if not (folder / MANIFEST).is_file():
                continue
            assignment = load_assignment(folder)
            if bundle_ok or not assignment.is_bundle:
                return assignment
            bundles.append(folder)
            break
    if bundles:
        raise UserError(f"{bundles[0]} is a release bundle, which holds only the public cases: {HOW_TO_NAME}")
    where = f"beside or above {Path(near[0])} or the current folder" if near else "in or above the current folder"
    raise UserError(f"no {MANIFEST} {where}: {HOW_TO_NAME}")
