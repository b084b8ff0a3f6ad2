"""One kernel start's files on the host, in a folder that only the grader can write.

The kernel reads the connection file, listens in `sockets` and writes its results into the one
file `result`; in the sandbox all three are bind-mounted, without it (the unprivileged account)
the folder is only traversable (0711) by others, so the kernel reaches those three by their exact
paths and nothing else. The folder itself, and so every path the grader uses, is out of the
kernel's reach. It is made fresh for every start and removed after it.

Without the sandbox the run folder also holds the kernel's own working folder (`work`, a fresh
copy of the grader's files) and its temporary folder (`tmp`), both given to the kernel's account
while still empty of anything it wrote: the grader never copies into, chowns or reads anything in
them afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunFolder:
    """The paths of one kernel start (see the module's docstring)."""

    folder: Path
    connection: Path
    sockets: Path
    result: Path
    writer: int = -1  #: the grader's own read-write descriptor of `result`, open while the folder lives

    @property
    def work(self) -> Path:
        """The kernel's working folder when it runs without the sandbox."""
        return self.folder / "work"

    @property
    def tmp(self) -> Path:
        """The kernel's HOME and TMPDIR when it runs without the sandbox."""
        return self.folder / "tmp"

    @classmethod
    def make(
        cls, uid: int | None = None, gid: int | None = None, files_from: Path | None = None, parent: Path | None = None
    ) -> RunFolder:
        """Make the folder (in `parent`, else the temporary folder); `uid`, when given, is the
        kernel's uid that gets the sockets and result.

        With `files_from` (a kernel without the sandbox), the folder is made traversable and gets
        `work`, holding a copy of that folder's files, and `tmp`, both then given to `uid`.
        """
        folder = Path(tempfile.mkdtemp(prefix="grader-run-", dir=parent))
        result = folder / "result.npz"
        # Kept open for writing: while any descriptor writes the file, no one can take a lease on it,
        # so the kernel cannot make the grader's next truncation wait for a lease to break.
        writer = os.open(result, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        run = cls(folder, folder / "connection.json", folder / "sockets", result, writer)
        run.sockets.mkdir(mode=0o700)
        if files_from is not None:
            os.chmod(folder, 0o711)
            shutil.copytree(files_from, run.work, symlinks=False)
            run.tmp.mkdir(mode=0o700)
        if uid is not None:
            give(run.sockets, uid, gid, 0o700, directory=True)
            give(run.result, uid, gid, 0o600, directory=False)
            if files_from is not None:
                give(run.work, uid, gid, 0o700, directory=True)
                give(run.tmp, uid, gid, 0o700, directory=True)
        return run

    def clear_result(self) -> Path:
        """Empty the result file before a call, so that nothing stale is read after it (through the
        grader's own descriptor: the path is not opened again)."""
        os.ftruncate(self.writer, 0)
        return self.result

    def remove(self) -> None:
        """Delete the folder; shutil.rmtree never follows a link below the folder it is given."""
        if self.writer >= 0:  # closed once: a second remove() must not close a reused descriptor number
            writer = self.writer
            object.__setattr__(self, "writer", -1)
            os.close(writer)
        shutil.rmtree(self.folder, ignore_errors=True)


def give(path: Path, uid: int, gid: int | None, mode: int, directory: bool) -> None:
    """chown and chmod through a descriptor opened without following a link."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if directory else 0)
    descriptor = os.open(path, flags)
    try:
        os.fchown(descriptor, uid, uid if gid is None else gid)
        os.fchmod(descriptor, mode)
    finally:
        os.close(descriptor)
