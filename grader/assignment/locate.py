"""Which assignment a command means when none is named: the nearest assignment.toml."""

from __future__ import annotations

from pathlib import Path

from grader.assignment.manifest import MANIFEST, Assignment, load_assignment
from grader.errors import UserError

HOW_TO_NAME = (
    "pass --assignment DIR: the assignment folder (holding assignment.toml, the cases and the expected "
    "values) or, for `grader check`, the release bundle"
)


def bundle_refusal(folder: Path) -> str:
    """Why a release bundle cannot grade: it is the student's copy, without the hidden cases."""
    return (
        f"{folder} is a release bundle, the students' copy: it holds only the public cases, not the "
        f"hidden cases and the expected values, so it cannot grade; {HOW_TO_NAME}"
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
        named = load_assignment(explicit)
        if named.is_bundle and not bundle_ok:
            raise UserError(bundle_refusal(named.folder))
        return named
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
        raise UserError(bundle_refusal(bundles[0]))
    where = f"beside or above {Path(near[0])} or the current folder" if near else "in or above the current folder"
    raise UserError(f"no {MANIFEST} {where}: {HOW_TO_NAME}")
