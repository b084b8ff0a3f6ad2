"""The gradebook: an SQLite database that outlives any batch, so nothing graded is ever lost.

Every finished submission is committed on its own, in a short write transaction, as soon as it
finishes; a batch killed at any moment loses only the submissions still being graded. WAL mode
and a generous busy timeout let two batches (or a batch and a reader) use one file at once.
A submission is identified by its name within an assignment version; the file's content hash
decides whether a stored result is still current. Each row also keeps its origin (the file's
path from the folder given, or the zip's name and the member), so that a name is never given to a submission
from somewhere else (see grader.batch.collection.NameRegistry). A gradebook from before origins (schema 1) is
upgraded in place when opened: its rows get an empty origin, which the next submission of that
name adopts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from grader.errors import GraderError
from grader.model import SubmissionReport
from grader.model.text import map_strings, writable

FILE_NAME = "gradebook.sqlite"
SCHEMA_VERSION = 3  # 3: reports hold records, not sentences (older rows are rewritten when opened)
SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    assignment          TEXT NOT NULL,
    assignment_version  TEXT NOT NULL,
    name                TEXT NOT NULL,
    sha256              TEXT NOT NULL,
    path                TEXT NOT NULL,
    status              TEXT NOT NULL,   -- graded, invalid or error
    score               REAL NOT NULL,
    max_score           REAL NOT NULL,
    function_scores     TEXT NOT NULL,   -- JSON object: function name -> points earned
    report              TEXT NOT NULL,   -- JSON of the whole SubmissionReport
    seconds             REAL NOT NULL,
    first_graded_at     TEXT NOT NULL,   -- UTC, ISO 8601
    graded_at           TEXT NOT NULL,
    times_graded        INTEGER NOT NULL DEFAULT 1,
    origin              TEXT NOT NULL DEFAULT '',  -- folder/file (+ "!member" in a zip); '' before schema 2
    PRIMARY KEY (assignment, assignment_version, name)
)
"""
UPSERT = """
INSERT INTO submissions (assignment, assignment_version, name, sha256, path, status, score, max_score,
                         function_scores, report, seconds, first_graded_at, graded_at, times_graded, origin)
VALUES (:assignment, :assignment_version, :name, :sha256, :path, :status, :score, :max_score,
        :function_scores, :report, :seconds, :now, :now, 1, :origin)
ON CONFLICT (assignment, assignment_version, name) DO UPDATE SET
    origin = CASE WHEN excluded.origin = '' THEN origin ELSE excluded.origin END,
    sha256 = excluded.sha256, path = excluded.path, status = excluded.status, score = excluded.score,
    max_score = excluded.max_score, function_scores = excluded.function_scores, report = excluded.report,
    seconds = excluded.seconds, graded_at = excluded.graded_at, times_graded = times_graded + 1
"""
COLUMNS = (
    "assignment",
    "assignment_version",
    "name",
    "sha256",
    "path",
    "status",
    "score",
    "max_score",
    "function_scores",
    "report",
    "seconds",
    "first_graded_at",
    "graded_at",
    "times_graded",
)


def _make_private(path: Path) -> None:
    """Create the database file owner-only, or make an earlier version's file so (through its
    descriptor, never following a link)."""
    handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(handle, 0o600)
    finally:
        os.close(handle)


class GradebookError(GraderError):
    """The gradebook file cannot be opened or written; the message says which file and why."""


@dataclass
class GradebookRow:
    assignment: str
    assignment_version: str
    name: str
    sha256: str
    path: str
    status: str
    score: float
    max_score: float
    function_scores: dict
    report: dict
    seconds: float
    first_graded_at: str
    graded_at: str
    times_graded: int

    def submission_report(self) -> SubmissionReport:
        return SubmissionReport.from_dict(self.report)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Gradebook:
    """One connection to the gradebook file; use as a context manager."""

    def __init__(self, path: Path, busy_seconds: float = 120.0):
        self.path = Path(path)
        self.busy_seconds = busy_seconds
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Owner-only from its first byte (its WAL and shared-memory files take its mode): it holds every
            # report, hidden cases' differences included.
            _make_private(self.path)
            # Autocommit mode: every write below opens its own explicit transaction.
            self.connection = sqlite3.connect(self.path, timeout=busy_seconds, isolation_level=None)
            self.connection.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000)}")
            self._set_wal()
            # FULL: a committed submission survives a power cut, not only a killed batch.
            self.connection.execute("PRAGMA synchronous = FULL")
            self._write(self._create_or_upgrade)
        except sqlite3.Error as error:
            raise GradebookError(
                f"{self.path} cannot be used as a gradebook ({error}); move it away or choose another --out folder"
            ) from None

    @staticmethod
    def _create_or_upgrade(connection: sqlite3.Connection) -> None:
        """Create the table, or add what a gradebook of an earlier schema lacks (its rows are kept)."""
        connection.execute(SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(submissions)")}
        if "origin" not in columns:
            connection.execute("ALTER TABLE submissions ADD COLUMN origin TEXT NOT NULL DEFAULT ''")
        if connection.execute("PRAGMA user_version").fetchone()[0] < 3:
            _rewrite_reports(connection)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _set_wal(self) -> None:
        # Two batches creating the same file at once may race on the journal mode; retry briefly.
        deadline = time.monotonic() + self.busy_seconds
        while True:
            try:
                mode = self.connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"the file system refused WAL mode (journal mode is {mode})")

    def _write(self, action) -> None:
        """Run `action(connection)` in one IMMEDIATE transaction: the write lock is taken up front."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            action(self.connection)
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def record(self, report: SubmissionReport, origin: str = "") -> None:
        """Store (or replace) the result of one submission and commit it at once.

        Text SQLite cannot hold (a lone surrogate from a file name that is not UTF-8, or from a
        student's output) is stored visibly escaped instead of failing the write.
        """
        values = _storable(
            {
                "assignment": report.assignment,
                "assignment_version": report.assignment_version,
                "name": report.name,
                "sha256": report.sha256,
                "path": report.path,
                "status": report.status,
                # Points split over cases add up to 100.00000000000001; totals are kept to 6 decimals.
                "score": round(float(report.score), 6),
                "max_score": round(float(report.max_score), 6),
                "function_scores": json.dumps({k: round(float(v), 6) for k, v in report.function_scores.items()}),
                "report": json.dumps(_storable(report.to_dict())),
                "seconds": float(report.seconds),
                "now": _now(),
                "origin": origin,
            }
        )
        try:
            self._write(lambda c: c.execute(UPSERT, values))
        except sqlite3.Error as error:
            raise GradebookError(f"could not store {report.name} in {self.path}: {error}") from None

    def origins(self) -> dict[str, str]:
        """Every stored name (of any assignment) with the origin of its submission ('' when unknown)."""
        held: dict[str, str] = {}
        for name, origin in self.connection.execute("SELECT name, origin FROM submissions ORDER BY origin"):
            held[name] = held.get(name) or origin
        return held

    def claim(self, name: str, origin: str) -> None:
        """Give rows of `name` stored before origins were kept (origin '') this origin."""
        if not origin:
            return
        try:
            self._write(
                lambda c: c.execute(
                    "UPDATE submissions SET origin = ? WHERE name = ? AND origin = ''", (writable(origin), name)
                )
            )
        except sqlite3.Error as error:
            raise GradebookError(f"could not update {name} in {self.path}: {error}") from None

    def is_current(self, name: str, sha256: str, assignment: str, version: str) -> bool:
        """True when this exact file is already graded for this assignment version.

        A stored "error" (the grader itself failed) is not current: it is worth another try.
        """
        row = self.connection.execute(
            "SELECT 1 FROM submissions WHERE assignment = ? AND assignment_version = ? AND name = ? "
            "AND sha256 = ? AND status != 'error'",
            (assignment, version, name, sha256),
        ).fetchone()
        return row is not None

    def row(self, name: str, assignment: str, version: str) -> GradebookRow | None:
        found = self.connection.execute(
            f"SELECT {', '.join(COLUMNS)} FROM submissions WHERE assignment = ? AND assignment_version = ? "
            "AND name = ?",
            (assignment, version, name),
        ).fetchone()
        return _row(found) if found else None

    def rows(self, assignment: str | None = None, version: str | None = None) -> list[GradebookRow]:
        """Stored submissions, optionally of one assignment (and version), ordered by name."""
        query = f"SELECT {', '.join(COLUMNS)} FROM submissions"
        conditions, parameters = [], []
        if assignment is not None:
            conditions.append("assignment = ?")
            parameters.append(assignment)
        if version is not None:
            conditions.append("assignment_version = ?")
            parameters.append(version)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        query += " ORDER BY assignment, assignment_version, name"
        return [_row(values) for values in self.connection.execute(query, parameters)]


def _rewrite_reports(connection: sqlite3.Connection) -> None:
    """Every row's report in the current form: an earlier version's sentences become Text records,
    shown as they were written until the submission is graded again."""
    rows = connection.execute("SELECT rowid, report FROM submissions").fetchall()
    for rowid, text in rows:
        report = SubmissionReport.from_dict(json.loads(text))
        connection.execute(
            "UPDATE submissions SET report = ? WHERE rowid = ?", (json.dumps(_storable(report.to_dict())), rowid)
        )


def _storable(value):
    """`value` with every string made valid UTF-8 (recursively, in lists and dicts)."""
    return map_strings(value, writable)


def _row(values: tuple) -> GradebookRow:
    data = dict(zip(COLUMNS, values, strict=True))
    data["function_scores"] = json.loads(data["function_scores"])
    data["report"] = json.loads(data["report"])
    return GradebookRow(**data)
