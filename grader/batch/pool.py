"""`grader grade`: a batch of submissions graded in worker processes, with nothing lost on the way.

Submissions come from notebook files, folders and zips. Each one is graded in a worker process
(its student code in a kernel of its own); as each finishes, its reports are written and its row
is committed to the gradebook, so a batch killed at any moment resumes where it stopped. A worker
that raises or dies costs only the submission it was grading, which is recorded as an error.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import multiprocessing
import os
import pickle
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from grader.assignment.manifest import Assignment
from grader.assignment.notebook import MAX_NOTEBOOK_BYTES, SubmissionError, file_kind, open_regular
from grader.cli import UserError
from grader.grading import GradeOptions, grade_notebook
from grader.judge.expected import ExpectedValues
from grader.reports.feedback import write_submission_reports
from grader.reports.gradebook import FILE_NAME as GRADEBOOK_FILE
from grader.reports.gradebook import Gradebook, GradebookError
from grader.reports.results import CaseVerdict, SubmissionReport
from grader.reports.summary import write_gradebook_csv, write_summary_html

GRADEBOOK_CSV = "gradebook.csv"
SUMMARY_HTML = "summary.html"
RESERVED_NAMES = {GRADEBOOK_FILE, f"{GRADEBOOK_FILE}-wal", f"{GRADEBOOK_FILE}-shm", GRADEBOOK_CSV, SUMMARY_HTML}
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__MACOSX"}
MAX_ZIP_MEMBERS = 5000
MAX_ZIP_BYTES = 1 << 30  # everything extracted from one zip
MAX_NAME = 80
LISTED_SUBMISSIONS = 20  # batches this small get a line per submission on the terminal
COPY_BLOCK = 1 << 20


@dataclass
class Submission:
    name: str  # unique and safe as a folder name
    path: Path  # the file the grader reads (a temporary copy for a zip member)
    source: str  # what the instructor gave: a path, or "archive.zip!member"
    problem: str | None = None  # why the file cannot even be handed to the grader
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
        name = f"{name[:MAX_NAME - 9].rstrip('._-')}-{digest}"
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


def _problem(names: NameRegistry, label: str, path: Path, source: str, problem: str, key: str,
             origin: str) -> Submission:
    return Submission(names.take(label, origin), path, source, problem, hashlib.sha256(key.encode()).hexdigest(),
                      origin=origin)


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
        return [_problem(names, archive.stem, archive, shown, str(error), shown, _origin(archive))], []
    with handle:
        archive_key = _stream_sha256(handle)
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as opened:
                return _extract_members(opened, archive, archive_key, staging, names)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
            return [_problem(names, archive.stem, archive, shown,
                             f"{printable(archive.name)} is not a readable zip archive ({error}). Make the zip "
                             "again, or submit the notebooks themselves.", archive_key, _origin(archive))], []


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
        warnings.append(f"{title}: holds {len(notebooks)} notebooks; only the first "
                        f"{MAX_ZIP_MEMBERS} are graded")
        notebooks = notebooks[:MAX_ZIP_MEMBERS]
    if not notebooks:
        warnings.append(f"{title}: holds no .ipynb file")
    return notebooks


def _extract_members(opened: zipfile.ZipFile, archive: Path, archive_key: str, staging: Path,
                     names: NameRegistry) -> tuple[list[Submission], list[str]]:
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
            submissions.append(_problem(names, label, archive, source,
                                        f"not extracted: {title} holds more than "
                                        f"{MAX_ZIP_BYTES >> 20} MB of notebooks", key, origin))
            continue
        name = names.take(label, origin)
        target = folder / f"{name}.ipynb"
        try:
            with opened.open(member) as stream:
                total += _copy_bounded(stream, target, MAX_NOTEBOOK_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, OSError, EOFError,
                ValueError) as error:
            submissions.append(Submission(name, archive, source, f"{printable(member.filename)} could not be "
                                          f"extracted from {title} ({error}). Make the zip again.",
                                          hashlib.sha256(printable(key).encode()).hexdigest(), origin=origin))
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
        warnings.append(f"{shown}: {len(found.others)} file(s) that are not .ipynb skipped (e.g. "
                        f"{printable(str(found.others[0].relative_to(root)))}); name a file or a zip explicitly "
                        "to grade it")
    for linked in found.linked_folders:
        warnings.append(f"{shown}: skipped {printable(str(linked.relative_to(root)))}, a symbolic link to a "
                        "folder (the grader never follows links)")
    if not found.notebooks and not found.unusable:
        warnings.append(f"{shown}: no .ipynb file in this folder")
    submissions = [Submission(names.take(_label(p.relative_to(root)), _origin(p, root=root)), p,
                              printable(str(p)), origin=_origin(p, root=root)) for p in found.notebooks]
    for path, mode in found.unusable:
        source = printable(str(path))
        submissions.append(_problem(names, _label(path.relative_to(root)), path, source,
                                    _unusable(path, mode), source, _origin(path, root=root)))
    return submissions


def _unusable(path: Path, mode: int) -> str:
    name = printable(path.name)
    if stat.S_ISLNK(mode):
        return (f"{name} is a symbolic link, and the grader never follows links: submit (or pass) the notebook "
                "file itself.")
    return f"{name} is {file_kind(mode)}, not a notebook file: submit the .ipynb file itself."


def collect_submissions(paths: list[Path], staging: Path,
                        held: dict[str, str] | None = None) -> tuple[list[Submission], list[str]]:
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
    stems = Counter(Path(p).stem for p in paths if Path(p).suffix.lower() == ".ipynb"
                    and modes[str(p)] is not None and not stat.S_ISDIR(modes[str(p)]))
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
                submissions.append(_problem(names, label, path, source, _unusable(path, mode), source,
                                            _origin(path)))
    return submissions, warnings


def _lstat_mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


# ----------------------------------------------------------------------------------------------
# Reports for submissions the grader never ran


def unrun_report(submission: Submission, assignment: Assignment, status: str, message: str,
                 options: GradeOptions | None = None) -> SubmissionReport:
    """A report for a submission that could not be graded: every case "not run", score 0."""
    report = SubmissionReport(name=submission.name, path=submission.source, sha256=submission.sha256,
                              assignment=assignment.name, assignment_version=assignment.version, status=status,
                              problems=[message], isolated=bool(options and options.sandbox is not None))
    cases = assignment.cases()
    for graded in assignment.functions:
        own = [c for c in cases if c["function"] == graded.name]
        for case in own:
            report.cases.append(CaseVerdict(case_id=case["id"], function=case["function"],
                                            description=case["description"], visibility=case["visibility"],
                                            status="skipped", max_score=graded.points / len(own),
                                            messages=["not run: " + message.split(". ")[0].rstrip(".")]))
        report.function_points[graded.name] = graded.points
        report.function_scores[graded.name] = 0.0
    report.max_score = sum(report.function_points.values())
    return report


# ----------------------------------------------------------------------------------------------
# Worker processes

_WORKER: dict = {}


def _interrupted(signum, frame) -> None:
    """Ctrl-C reaches the workers too: stop grading without a screenful of their tracebacks."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    raise KeyboardInterrupt


def _watch_batch(batch_pid: int) -> None:
    """End this worker when the batch process is gone (kill -9 leaves no orphan grading on); its
    kernel follows, through bubblewrap's --die-with-parent or ipykernel's parent poller."""
    while True:
        time.sleep(2)
        try:
            os.kill(batch_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def _start_worker(assignment: Assignment, options: GradeOptions, started: str, batch_pid: int) -> None:
    """Load the expected values once per worker; a failure is reported on each submission."""
    signal.signal(signal.SIGINT, _interrupted)
    threading.Thread(target=_watch_batch, args=(batch_pid,), daemon=True, name="watch-batch").start()
    _WORKER.update(assignment=assignment, options=options, started=Path(started))
    try:
        _WORKER["expected"] = ExpectedValues(assignment)
    except Exception as error:  # noqa: BLE001 - reported per submission by _grade_in_worker
        _WORKER["error"] = f"{type(error).__name__}: {error}"


def mark_started(name: str) -> None:
    """Called in the worker before grading: if the process dies, the batch knows whom it held."""
    (_WORKER["started"] / name).touch()


def _grade_in_worker(path: str, name: str) -> dict:
    if "error" in _WORKER:
        raise RuntimeError(f"the grading process could not start ({_WORKER['error']})")
    mark_started(name)
    options = dataclasses.replace(_WORKER["options"], name=name)
    return grade_notebook(Path(path), _WORKER["assignment"], _WORKER["expected"], options).to_dict()


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class _Pool:
    """Runs submissions in worker processes; a dead worker costs only the submission it held."""

    def __init__(self, assignment: Assignment, options: GradeOptions, workers: int, staging: Path, finish,
                 work=None):
        self.assignment, self.options, self.workers, self.finish = assignment, options, workers, finish
        self.work = work or _grade_in_worker  # (path, name) -> report dict, run in a worker process
        self.started = staging / "started"
        self.started.mkdir(parents=True, exist_ok=True)

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_start_worker,
                                   initargs=(self.assignment, self.options, str(self.started), os.getpid()))

    def _failed(self, submission: Submission, message: str) -> None:
        self.finish(submission, unrun_report(submission, self.assignment, "error", message, self.options))

    def _report(self, submission: Submission, future) -> SubmissionReport | None:
        """The finished submission's report; None when the pool broke (the caller sorts that out)."""
        try:
            return SubmissionReport.from_dict(future.result())
        except BrokenProcessPool:
            return None
        except Exception as error:  # noqa: BLE001 - one submission's failure never stops the batch
            return unrun_report(submission, self.assignment, "error",
                                f"The grader failed on this submission ({type(error).__name__}: {error}). "
                                "Tell the instructor; grading it again may help.", self.options)

    def run(self, submissions: list[Submission]) -> None:
        queue = list(submissions)
        while queue:
            suspects, waiting, progress = [], [], False
            pool = self._executor(min(self.workers, len(queue)))
            try:
                futures = {pool.submit(self.work, str(s.path), s.name): s for s in queue}
                for future in as_completed(futures):
                    submission = futures[future]
                    report = self._report(submission, future)
                    if report is None:
                        started = (self.started / submission.name).exists()
                        (suspects if started else waiting).append(submission)
                        continue
                    progress = True
                    self.finish(submission, report)
            except BaseException:
                # Interrupted (Ctrl-C) or the gradebook failed: drop the queue instead of draining it.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
            # A worker died: whoever it was grading gets one more try alone, the rest go on as before.
            for submission in suspects:
                self._alone(submission)
                progress = True
            if not progress:
                for submission in waiting:
                    self._failed(submission, "The grading worker processes could not run; grade this "
                                             "submission again.")
                return
            queue = waiting

    def _alone(self, submission: Submission) -> None:
        (self.started / submission.name).unlink(missing_ok=True)
        try:
            with self._executor(1) as pool:
                report = self._report(submission, pool.submit(self.work, str(submission.path), submission.name))
        except Exception as error:  # noqa: BLE001 - the pool itself could not start
            report = unrun_report(submission, self.assignment, "error",
                                  f"The grader could not start a worker for this submission ({error}).",
                                  self.options)
        if report is None:
            report = unrun_report(submission, self.assignment, "error",
                                  "The process grading this submission died twice (for instance the "
                                  "grader's own memory ran out). It was not scored; tell the instructor.",
                                  self.options)
        self.finish(submission, report)


# ----------------------------------------------------------------------------------------------
# The batch


def grade_options(args: argparse.Namespace, sandbox, limits: dict, data_variable: str = "DATA_DIR") -> GradeOptions:
    """GradeOptions from the command line; --execute all needs the dataset folder (--data, else the
    environment variable the assignment's manifest names)."""
    execute_all = getattr(args, "execute", "graded") == "all"
    data_dir = None
    if execute_all:
        folder = getattr(args, "data", None) or os.environ.get(data_variable)
        if not folder:
            raise UserError("--execute all runs the whole notebook, which loads the dataset: pass --data DIR "
                            f"or set {data_variable} to the folder holding it")
        data_dir = Path(folder).resolve()
        if not data_dir.is_dir():
            raise UserError(f"the dataset folder {folder} (from --data or {data_variable}) does not exist")
    return GradeOptions(public_only=False, execute_all=execute_all, sandbox=sandbox, limits=dict(limits or {}),
                        data_dir=data_dir)


def _say(message: str) -> None:
    tqdm.write(f"grader grade: {message}", file=sys.stderr)


def _stage(submission: Submission, staging: Path) -> None:
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
        submission.problem = str(error)
    except OSError as error:
        submission.problem = (f"{printable(submission.path.name)} cannot be read ({error.strerror}). Check its "
                              "permissions.")
    else:
        submission.path, submission.sha256, submission.staged = copy, digest.hexdigest(), True
    if submission.problem:
        submission.sha256 = hashlib.sha256(submission.source.encode()).hexdigest()


class _Batch:
    def __init__(self, args: argparse.Namespace, assignment: Assignment, options: GradeOptions, out: Path,
                 staging: Path):
        self.args, self.assignment, self.options, self.out, self.staging = args, assignment, options, out, staging
        self.done: Counter = Counter()

    def finish(self, book: Gradebook, bar: tqdm, submission: Submission, report: SubmissionReport) -> None:
        """Reports first, then the gradebook row: a row always has its reports on disk.

        Nothing about one submission ends the batch: a report that cannot be stored becomes an
        error row saying so. Only a gradebook that refuses even that row (the file is broken or the
        disk is full) stops the batch, with GradebookError.
        """
        try:
            report.name, report.path = submission.name, submission.source
            try:
                write_submission_reports(report, self.out / submission.name, self.assignment)
            except Exception as error:  # noqa: BLE001 - the row is still kept; reports are rebuilt on a rerun
                _say(f"could not write the reports of {submission.name}: {type(error).__name__}: {error}")
            book.record(report, submission.origin)
        except Exception as error:  # noqa: BLE001 - one submission's failure never stops the batch
            _say(f"could not store the result of {submission.name} ({type(error).__name__}: {error}); "
                 "it is recorded as an error")
            report = unrun_report(submission, self.assignment, "error",
                                  f"The grader could not store this submission's result ({type(error).__name__}). "
                                  "Grade it again; tell the instructor if this stays.", self.options)
            book.record(report, submission.origin)
        self.done[report.status] += 1
        bar.update(1)

    def _held(self) -> dict[str, str]:
        """The names an existing gradebook in --out already gives out, with their origins."""
        if not (self.out / GRADEBOOK_FILE).exists():
            return {}
        with Gradebook(self.out / GRADEBOOK_FILE) as book:
            return book.origins()

    def _restore_reports(self, book: Gradebook, submission: Submission) -> None:
        """An unchanged submission whose report folder went missing gets its reports back from the row."""
        if (self.out / submission.name / "results.json").is_file():
            return
        try:
            row = book.row(submission.name, self.assignment.name, self.assignment.version)
            if row is not None:
                write_submission_reports(row.submission_report(), self.out / submission.name, self.assignment)
        except Exception as error:  # noqa: BLE001 - the row stands; only its report files are missing
            _say(f"could not rewrite the reports of {submission.name}: {error}")

    def run(self) -> int:
        paths = [Path(p) for p in self.args.paths]
        submissions, warnings = collect_submissions(paths, self.staging / "files", self._held())
        for warning in warnings:
            _say(warning)
        if not submissions:
            _say("nothing to grade: give notebooks (.ipynb), folders holding them, or zips of them")
            return 1
        for submission in submissions:
            _stage(submission, self.staging / "copies")
        regrade = bool(getattr(self.args, "regrade", False))
        with Gradebook(self.out / GRADEBOOK_FILE) as book:
            todo, skipped = [], []
            for submission in submissions:
                if not regrade and book.is_current(submission.name, submission.sha256, self.assignment.name,
                                                   self.assignment.version):
                    skipped.append(submission)
                    book.claim(submission.name, submission.origin)
                    self._restore_reports(book, submission)
                    if submission.staged:  # the copy is not needed: free the disk at once
                        submission.path.unlink(missing_ok=True)
                else:
                    todo.append(submission)
            bar = tqdm(total=len(todo), desc="grading", unit="notebook", file=sys.stderr,
                       disable=bool(getattr(self.args, "quiet", False)) or not todo, dynamic_ncols=True)
            try:
                def finish(submission: Submission, report: SubmissionReport) -> None:
                    self.finish(book, bar, submission, report)

                for submission in (s for s in todo if s.problem):
                    finish(submission, unrun_report(submission, self.assignment, "invalid", submission.problem,
                                                    self.options))
                runnable = [s for s in todo if not s.problem]
                if runnable:
                    _Pool(self.assignment, self.options, max(1, int(self.args.workers)), self.staging,
                          finish).run(runnable)
            finally:
                bar.close()
            for write, name in ((write_gradebook_csv, GRADEBOOK_CSV), (write_summary_html, SUMMARY_HTML)):
                try:
                    write(book, self.out / name, self.assignment)
                except Exception as error:  # noqa: BLE001 - the other file, and the gradebook, still stand
                    _say(f"could not write {self.out / name} ({type(error).__name__}: {error}); the gradebook "
                         "holds every result: run the same command again to rebuild it")
            rows = {row.name: row for row in book.rows(self.assignment.name, self.assignment.version)}
        listed = [rows[s.name] for s in submissions if s.name in rows]
        if len(listed) <= LISTED_SUBMISSIONS:  # a small batch: its scores at a glance
            width = max(len(row.name) for row in listed) if listed else 0
            for row in listed:
                print(f"  {row.name:<{width}}  {row.score:6.1f} / {row.max_score:g}  {row.status}"
                      f"  {self.out / row.name / 'feedback.html'}")
        print(self._summary_line(listed, len(todo), len(skipped)))
        return 0

    def _summary_line(self, rows: list, graded: int, skipped: int) -> str:
        statuses = Counter(row.status for row in rows)
        scored = [row for row in rows if row.status in ("graded", "invalid")]
        line = (f"graded {graded}, skipped {skipped} unchanged, invalid {statuses['invalid']}, "
                f"errors {statuses['error']}")
        if scored:
            mean = sum(row.score for row in scored) / len(scored)
            top = max(row.max_score for row in scored)
            line += f"; mean score {mean:.1f} / {top:g} over {len(scored)} submission{'s' if len(scored) > 1 else ''}"
        return line + f"; see {self.out / SUMMARY_HTML}"


def _warn_when_not_isolated(sandbox) -> None:
    if sandbox is not None:
        return
    try:
        from grader.kernel.sandbox import unavailable_reason

        reason = unavailable_reason()
    except ImportError:
        reason = ""
    _say("kernels run WITHOUT the OS sandbox" + (f" ({reason})" if reason else "")
         + "; every report says so")


def run_grade(args: argparse.Namespace, assignment: Assignment, sandbox, limits: dict) -> int:
    """The `grader grade` verb. Returns 0 when the batch ran (whatever the scores), 1 when it could not."""
    options = grade_options(args, sandbox, limits, assignment.data_variable)
    _warn_when_not_isolated(sandbox)
    ExpectedValues(assignment)  # fails now, with a clear message, when the expected values are missing
    try:
        assignment.cases()
    except Exception as error:  # noqa: BLE001 - an instructor's broken cases module stops the batch cleanly
        _say(f"the assignment's cases cannot be loaded ({type(error).__name__}: {error})")
        return 1
    try:
        pickle.dumps(options)
    except Exception as error:  # noqa: BLE001
        _say(f"the grading options cannot be sent to worker processes ({error})")
        return 1
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _say(f"cannot create the output folder {out}: {error.strerror}")
        return 1
    staging = Path(tempfile.mkdtemp(prefix="grader-batch-"))
    try:
        return _Batch(args, assignment, options, out, staging).run()
    except GradebookError as error:
        _say(str(error))
        return 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
