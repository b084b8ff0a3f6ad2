"""Proof, before any student's code runs, that a way of isolating kernels really isolates them here.

A probe starts a tiny Python exactly as a kernel would be started (the same launcher, mounts or
account) and asks it what it can do: which uid it runs as, which real files of the hidden folders
it can open (sentinels: the checkout's and the assignment's own files, never made up for the
occasion), and which of the grader's folders it could write. The grader compares the answer with
what isolation promises; any difference is a refusal, in words naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.kernel.sandbox import inside

SENTINELS_PER_FOLDER = 24
SENTINEL_DEPTH = 3
PROBE_SECONDS = 30
ASKED = """
import json, os, sys
asked = json.loads(sys.argv[1])
def opens(path):
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        return True
    except OSError:
        return False
print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(),
                  "readable": [p for p in asked["read"] if opens(p)],
                  "writable": [p for p in asked["write"] if os.access(p, os.W_OK)]}))
"""


@dataclass(frozen=True)
class ProbeAnswer:
    """What the probe's Python found, or why it did not answer."""

    uid: int | None = None
    readable: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    failure: str = ""  #: why no answer came back ("" when one did)


def sentinels(hidden: Iterable[Path], shown: Iterable[Path] = ()) -> list[Path]:
    """Real files of each hidden folder (or the hidden file itself), breadth first (top-level files
    first), skipping the folders inside it that are `shown` on purpose (a virtual environment inside
    the checkout)."""
    found: list[Path] = []
    for folder in hidden:
        if Path(folder).is_file() and not Path(folder).is_symlink():  # a hidden file is its own sentinel
            found.append(Path(folder))
            continue
        inner = [path for path in shown if inside(Path(path), Path(folder)) and Path(path) != Path(folder)]
        level, depth, taken = [Path(folder)], 0, 0
        while level and depth < SENTINEL_DEPTH and taken < SENTINELS_PER_FOLDER:
            below = []
            for current in level:
                for entry in _entries(current):
                    path = Path(entry.path)
                    if any(inside(path, s) for s in inner):
                        continue
                    if entry.is_file(follow_symlinks=False) and taken < SENTINELS_PER_FOLDER:
                        found.append(path)
                        taken += 1
                    elif entry.is_dir(follow_symlinks=False):
                        below.append(path)
            level, depth = below, depth + 1
    return found


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        return sorted(os.scandir(folder), key=lambda e: (e.name.startswith("."), e.name))
    except OSError:
        return []


def ask(
    command_for: Callable[[list[str], Path], list[str]], read: Sequence[Path], write: Sequence[Path] = ()
) -> ProbeAnswer:
    """Run the probe's Python through `command_for(python_command, workdir) -> argv` and read its answer."""
    workdir = Path(tempfile.mkdtemp(prefix="grader-probe-"))
    try:
        os.chmod(workdir, 0o755)
        question = json.dumps({"read": [str(p) for p in read], "write": [str(p) for p in write]})
        command = command_for([sys.executable, "-c", ASKED, question], workdir)
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_SECONDS, cwd=workdir)
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        return ProbeAnswer(failure=str(error))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        return ProbeAnswer(int(answer["uid"]), tuple(answer["readable"]), tuple(answer["writable"]))
    except (ValueError, IndexError, KeyError, TypeError):
        said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        return ProbeAnswer(failure=said[-1] if said else f"exit status {done.returncode}, no answer")
