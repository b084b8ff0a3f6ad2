"""The assignment's dataset, as its manifest describes it: `data_variable` (the environment variable
the notebook reads the folder from) and `data_files` (the files that folder holds)."""

from __future__ import annotations

from pathlib import Path

from grader.assignment.manifest import Assignment


def data_files(assignment: Assignment) -> list[str]:
    """The file names the manifest's [assignment] lists as `data_files` (none by default)."""
    return list(assignment.data_files)


def dataset_files(assignment: Assignment, folder: Path) -> tuple[list[Path], str | None]:
    """The dataset's files in `folder` and, when they cannot be used, why: the manifest's data files
    (all of them), or with none listed every regular file directly in the folder."""
    if not folder.is_dir():
        return [], f"{folder} is not a folder"
    names = data_files(assignment)
    if names:
        missing = [name for name in names if not (folder / name).is_file()]
        if missing:
            return [], f"{folder} lacks {', '.join(missing)} (the manifest's data_files)"
        return [folder / name for name in names], None
    files = sorted(path for path in folder.iterdir() if path.is_file() and not path.is_symlink())
    return files, None if files else f"{folder} holds no file"
