"""Collecting submissions: notebook files, folders and zips, each given a unique safe name and
copied, as hashed, into the grader's own staging folder (nothing is read twice or through a link)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import stat
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.assignment.notebook import MAX_NOTEBOOK_BYTES, SubmissionError, not_regular, open_regular
from grader.model.refusal import Refusal, RefusalKind
from grader.store.gradebook import FILE_NAME as GRADEBOOK_FILE

GRADEBOOK_CSV = "gradebook.csv"
SUMMARY_HTML = "summary.html"
RESERVED_NAMES = {GRADEBOOK_FILE, f"{GRADEBOOK_FILE}-wal", f"{GRADEBOOK_FILE}-shm", GRADEBOOK_CSV, SUMMARY_HTML}
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__MACOSX"}
MAX_ZIP_MEMBERS = 5000
MAX_ZIP_BYTES = 1 << 30  # everything extracted from one zip
MAX_NAME = 80
COPY_BLOCK = 1 << 20


@dataclass
class Submission:
    name: str  # unique and safe as a folder name
    path: Path  # the file the grader reads (a temporary copy for a zip member)
    source: str  # what the instructor gave: a path, or "archive.zip!member"
    problem: Refusal | None = None  # why the file cannot even be handed to the grader
    sha256: str = ""
    staged: bool = False  # `path` is a grader-made copy (of a zip member, or of the file as hashed)
    origin: str = ""  # where it came from, as a stable name (see _origin)


# ----------------------------------------------------------------------------------------------
# Collecting submissions


def printable(text: str) -> str:
    """A file name as text that can be stored and shown: bytes that are not UTF-8 become `\\xe9`."""
    try:
        raw = os.fsencode(text)
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        raw = text.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


def safe_name(label: str) -> str:
    """A folder name made from a relative path: letters, digits, '.', '_' and '-' only."""
    parts = [printable(p) for p in re.split(r"[\\/]+", label) if p not in ("", ".", "..")]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(parts)).lstrip("._-") or "submission"
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(printable(label).encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9].rstrip('._-')}-{digest}"
    if name.lower() in RESERVED_NAMES:
        name += "-submission"
    return name


class NameRegistry:
    """Hands out unique submission names; a repeated name gets -2, -3, ... in the order seen.

    `held` maps names already in the gradebook to the origin of their submission: such a name goes
    only to a submission from that same origin, so a later alice.ipynb from another zip becomes
    alice-2 instead of replacing the first Alice's row and feedback. A submission whose origin
    already has a row keeps that row's name. (A row from before origins were stored holds ''; the
    first submission named so adopts it.)
    """

    def __init__(self, held: dict[str, str] | None = None):
        self.taken: set[str] = set()
        self.held = {name.casefold(): origin for name, origin in (held or {}).items()}
        self.named = {origin: name for name, origin in (held or {}).items() if origin}

    def take(self, label: str, origin: str = "") -> str:
        known = self.named.get(origin) if origin else None
        if known is not None and known.casefold() not in self.taken:
            self.taken.add(known.casefold())
            return known
        base = safe_name(label)
        name, number = base, 1
        while name.casefold() in self.taken or self.held.get(name.casefold(), "") not in ("", origin):
            number += 1
            name = f"{base}-{number}"
        self.taken.add(name.casefold())
        return name


def _label(relative: PurePosixPath | Path) -> str:
    text = relative.as_posix()
    return text[: -len(".ipynb")] if text.lower().endswith(".ipynb") else text


def _wanted(parts: tuple[str, ...]) -> bool:
    return not any(part in SKIPPED_FOLDERS or part.startswith("._") for part in parts)


def _origin(path: Path, member: str | None = None, root: Path | None = None) -> str:
    """Where a submission came from, as a name: the file's path from the folder given (or from its
    own folder), and the member for a zip. It survives moving the whole folder or running from
    elsewhere, and tells week1.zip's alice.ipynb from week2.zip's."""
    if root is not None:
        where = f"{os.path.basename(os.path.abspath(root))}/{path.relative_to(root).as_posix()}"
    else:
        where = f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}/{path.name}"
    return printable(where) + (f"!{printable(member)}" if member is not None else "")


def _problem(
    names: NameRegistry, label: str, path: Path, source: str, problem: Refusal, key: str, origin: str
) -> Submission:
    return Submission(
        names.take(label, origin), path, source, problem, hashlib.sha256(key.encode()).hexdigest(), origin=origin
    )


def _copy_bounded(source, target: Path, limit: int) -> int:
    """Copy at most `limit` bytes; a larger member is cut there, and the grader reports its size."""
    copied = 0
    with open(target, "wb") as out:
        while copied < limit:
            block = source.read(min(COPY_BLOCK, limit - copied))
            if not block:
                break
            out.write(block)
            copied += len(block)
    return copied


def _stream_sha256(handle) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(COPY_BLOCK), b""):
        digest.update(block)
    return digest.hexdigest()


def extract_zip(archive: Path, staging: Path, names: NameRegistry) -> tuple[list[Submission], list[str]]:
    """The notebooks in a zip, each copied to a fresh file whose name never comes from the archive.

    Member paths are only used to make submission names, never as paths to write to, so no
    member can land outside the staging folder; sizes and counts are bounded, links are skipped.
    The archive itself is opened once, as a regular file, and hashed from that same descriptor.
    A zip that cannot be read becomes one invalid submission with a message.
    """
    shown = printable(str(archive))
    try:
        handle = os.fdopen(open_regular(archive), "rb")
    except SubmissionError as error:
        return [_problem(names, archive.stem, archive, shown, error.refusal, shown, _origin(archive))], []
    with handle:
        archive_key = _stream_sha256(handle)
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as opened:
                return _extract_members(opened, archive, archive_key, staging, names)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
            return [
                _problem(
                    names,
                    archive.stem,
                    archive,
                    shown,
                    Refusal(RefusalKind.BAD_ZIP, printable(archive.name), str(error)),
                    archive_key,
                    _origin(archive),
                )
            ], []


def _zip_notebooks(opened: zipfile.ZipFile, title: str, warnings: list[str]) -> list:
    """The zip's notebook members worth extracting, as (member, path) pairs; links are skipped."""
    notebooks = []
    for member in opened.infolist():
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if member.is_dir() or not path.name.lower().endswith(".ipynb") or not _wanted(path.parts):
            continue
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            warnings.append(f"{title}: skipped {member.filename}, a symbolic link")
            continue
        notebooks.append((member, path))
    if len(notebooks) > MAX_ZIP_MEMBERS:
        warnings.append(f"{title}: holds {len(notebooks)} notebooks; only the first {MAX_ZIP_MEMBERS} are graded")
        notebooks = notebooks[:MAX_ZIP_MEMBERS]
    if not notebooks:
        warnings.append(f"{title}: holds no .ipynb file")
    return notebooks


def _extract_members(
    opened: zipfile.ZipFile, archive: Path, archive_key: str, staging: Path, names: NameRegistry
) -> tuple[list[Submission], list[str]]:
    warnings: list[str] = []
    title, shown = printable(archive.name), printable(str(archive))
    notebooks = _zip_notebooks(opened, title, warnings)
    folder = staging / f"zip-{hashlib.sha256(os.fsencode(str(archive))).hexdigest()[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    # A zip of one folder: name the submissions after what is inside that folder.
    tops = {p.parts[0] for _, p in notebooks if len(p.parts) > 1}
    strip = 1 if len(tops) == 1 and all(len(p.parts) > 1 for _, p in notebooks) else 0
    total = 0
    submissions = []
    for member, path in notebooks:
        label = _label(PurePosixPath(*path.parts[strip:]))
        source = f"{shown}!{printable(member.filename)}"
        key = f"{archive_key}!{member.filename}"
        origin = _origin(archive, member.filename)
        if total >= MAX_ZIP_BYTES:
            submissions.append(
                _problem(
                    names,
                    label,
                    archive,
                    source,
                    Refusal(RefusalKind.ZIP_TOO_LARGE, label, title, limit_mb=MAX_ZIP_BYTES >> 20),
                    key,
                    origin,
                )
            )
            continue
        name = names.take(label, origin)
        target = folder / f"{name}.ipynb"
        try:
            with opened.open(member) as stream:
                total += _copy_bounded(stream, target, MAX_NOTEBOOK_BYTES + 1)
        except (
            zipfile.BadZipFile,
            zlib.error,
            RuntimeError,
            NotImplementedError,
            OSError,
            EOFError,
            ValueError,
        ) as error:
            refusal = Refusal(RefusalKind.NOT_EXTRACTED, printable(member.filename), title, why=str(error))
            submissions.append(
                Submission(
                    name, archive, source, refusal, hashlib.sha256(printable(key).encode()).hexdigest(), origin=origin
                )
            )
            continue
        submissions.append(Submission(name, target, source, staged=True, origin=origin))
    return submissions, warnings


@dataclass
class _FolderContents:
    """What a folder walk found, every entry judged by lstat: nothing is followed."""

    notebooks: list[Path] = dataclasses.field(default_factory=list)  # regular files named *.ipynb
    unusable: list[tuple[Path, int]] = dataclasses.field(default_factory=list)  # other *.ipynb, with mode
    linked_folders: list[Path] = dataclasses.field(default_factory=list)
    others: list[Path] = dataclasses.field(default_factory=list)  # files not named *.ipynb


def walk_folder(root: Path) -> _FolderContents:
    """Every entry under `root`, without descending into linked folders or opening anything."""
    found = _FolderContents()
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if not _wanted(path.relative_to(root).parts):
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                pending.append(path)
            elif stat.S_ISLNK(mode) and os.path.isdir(path):
                found.linked_folders.append(path)
            elif not entry.name.lower().endswith(".ipynb"):
                found.others.append(path)
            elif stat.S_ISREG(mode):
                found.notebooks.append(path)
            else:
                found.unusable.append((path, mode))
    found.notebooks.sort()
    found.unusable.sort()
    return found


def _from_folder(root: Path, names: NameRegistry, warnings: list[str]) -> list[Submission]:
    found = walk_folder(root)
    shown = printable(str(root))
    if found.others:
        warnings.append(
            f"{shown}: {len(found.others)} file(s) that are not .ipynb skipped (e.g. "
            f"{printable(str(found.others[0].relative_to(root)))}); name a file or a zip explicitly "
            "to grade it"
        )
    for linked in found.linked_folders:
        warnings.append(
            f"{shown}: skipped {printable(str(linked.relative_to(root)))}, a symbolic link to a "
            "folder (the grader never follows links)"
        )
    if not found.notebooks and not found.unusable:
        warnings.append(f"{shown}: no .ipynb file in this folder")
    submissions = [
        Submission(
            names.take(_label(p.relative_to(root)), _origin(p, root=root)),
            p,
            printable(str(p)),
            origin=_origin(p, root=root),
        )
        for p in found.notebooks
    ]
    for path, mode in found.unusable:
        source = printable(str(path))
        submissions.append(
            _problem(
                names,
                _label(path.relative_to(root)),
                path,
                source,
                _unusable(path, mode),
                source,
                _origin(path, root=root),
            )
        )
    return submissions


def _unusable(path: Path, mode: int) -> Refusal:
    return not_regular(printable(path.name), mode)


def collect_submissions(
    paths: list[Path], staging: Path, held: dict[str, str] | None = None
) -> tuple[list[Submission], list[str]]:
    """Every submission named by the PATH arguments, in a stable order, with unique names.

    A notebook file or any other file given by name is one submission (a non-notebook gets an
    "invalid notebook" report); a folder gives its *.ipynb files, recursively; a .zip gives the
    notebooks inside it. Nothing is followed through a symbolic link, not even a PATH argument:
    a link or a special file (FIFO, device, socket) becomes an invalid submission saying so.
    `held`: the names the gradebook already has, with their origins (see NameRegistry).
    """
    names = NameRegistry(held)
    submissions: list[Submission] = []
    warnings: list[str] = []
    staging.mkdir(parents=True, exist_ok=True)
    modes = {str(p): _lstat_mode(Path(p)) for p in paths}
    # Files given one by one that share a name (alice/hw.ipynb, bob/hw.ipynb) are told apart by their
    # folder, so the same file gets the same name whatever the order of the arguments.
    stems = Counter(Path(p).stem for p in paths if Path(p).suffix.lower() == ".ipynb" and _is_file_mode(modes[str(p)]))
    for given in paths:
        path, mode = Path(given), modes[str(given)]
        if mode is None:
            warnings.append(f"{printable(str(path))}: no such file or folder")
        elif stat.S_ISDIR(mode):
            submissions += _from_folder(path, names, warnings)
        elif stat.S_ISREG(mode) and path.suffix.lower() == ".zip":
            found, notes = extract_zip(path, staging, names)
            submissions += found
            warnings += notes
        else:
            label = path.stem if path.suffix.lower() == ".ipynb" else path.name
            if path.suffix.lower() == ".ipynb" and stems[path.stem] > 1:
                label = f"{path.absolute().parent.name}__{path.stem}"
            source = printable(str(path))
            if stat.S_ISREG(mode):
                submissions.append(Submission(names.take(label, _origin(path)), path, source, origin=_origin(path)))
            else:
                submissions.append(_problem(names, label, path, source, _unusable(path, mode), source, _origin(path)))
    return submissions, warnings


def _is_file_mode(mode: int | None) -> bool:
    """Something that exists and is not a folder."""
    return mode is not None and not stat.S_ISDIR(mode)


def _lstat_mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


def stage(submission: Submission, staging: Path) -> None:
    """Hash the submission and give the grader a copy of exactly the bytes hashed.

    The file is opened as a regular file only (no link followed, no FIFO or device opened, nothing
    that blocks), read once up to one byte past the size limit, and copied into the grader's own
    staging folder as it is hashed: what is graded is what was hashed, whatever happens to the
    original afterwards. A file that cannot be read so becomes a submission with a problem.
    """
    if submission.problem:
        return
    try:
        if submission.staged:
            with open(submission.path, "rb") as handle:
                submission.sha256 = _stream_sha256(handle)
            return
        (staging / submission.name).mkdir(parents=True, exist_ok=True)
        with os.fdopen(open_regular(submission.path), "rb") as handle:
            digest = hashlib.sha256()
            copy = staging / submission.name / printable(submission.path.name)  # messages name the file
            with open(copy, "wb") as out:
                left = MAX_NOTEBOOK_BYTES + 1
                while left > 0 and (block := handle.read(min(COPY_BLOCK, left))):
                    digest.update(block)
                    out.write(block)
                    left -= len(block)
    except SubmissionError as error:
        submission.problem = error.refusal
    except OSError as error:
        submission.problem = Refusal(RefusalKind.UNREADABLE, printable(submission.path.name), str(error.strerror))
    else:
        submission.path, submission.sha256, submission.staged = copy, digest.hexdigest(), True
    if submission.problem:
        submission.sha256 = hashlib.sha256(submission.source.encode()).hexdigest()
