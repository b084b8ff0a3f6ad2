"""A control group per kernel: limits that count everything the kernel holds, and a kill that misses nothing.

RLIMIT_AS caps each process's address space, but not memory a process holds without mapping it
(a memfd written to, files in a tmpfs, shared memory), nor the sum over several processes. A
memory control group counts all of it. Its process cap counts every task in the group, and its
list of tasks is what the kill walks: a process in the group cannot leave it.

Each kernel start gets a fresh group below the grader's own (cgroup v2 when the memory and pids
controllers are offered there, else the v1 memory and pids hierarchies). The kernel's command is
prefixed with a tiny shell step that moves itself into the group before it becomes the kernel,
so nothing the kernel starts is ever outside. Where no group can be made (no cgroup file system,
no write access), kernels run with the per-process limits only, and `support()` says so.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "pids")
JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
PID_SLACK = 8  # bubblewrap, its init and the launcher count as tasks too


@dataclass(frozen=True)
class CgroupSupport:
    """Where this process may make kernel groups, found once."""

    version: int  #: 2, 1, or 0 when no group can be made
    parents: dict[str, Path]  #: controller -> the folder new groups go in (v2: one folder for both)


@dataclass(frozen=True)
class KernelCgroup:
    """The groups of one kernel start (one folder per v1 hierarchy, or one v2 folder)."""

    version: int
    folders: tuple[Path, ...]

    def procs_files(self) -> tuple[str, ...]:
        """The files that moving a process into the groups writes to."""
        return tuple(str(folder / "cgroup.procs") for folder in self.folders)

    def join_prefix(self) -> list[str]:
        """A command prefix that moves the process into the groups, then runs the rest."""
        return ["/bin/sh", "-c", JOIN, "sh", *self.procs_files(), "--"]

    def memory_exceeded(self) -> bool:
        """Whether the kernel's group killed a process for memory (the OOM killer acted in it)."""
        for folder in self.folders:
            for name in ("memory.events", "memory.oom_control"):
                counts = _counters(folder / name)
                if counts.get("oom_kill", 0) > 0:
                    return True
        return False

    def kill(self, wait_seconds: float = 5.0) -> bool:
        """Kill every process in the groups until none is left; True when they are empty."""
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            members = self.members()
            if not members:
                return True
            if not _kill_by_file(self.folders):
                for pid in members:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.01)
        return not self.members()

    def remove(self, wait_seconds: float = 2.0) -> None:
        """Remove the groups once their last process has gone (never raises)."""
        for folder in self.folders:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)

    def members(self) -> set[int]:
        found: set[int] = set()
        for folder in self.folders:
            try:
                found.update(int(line) for line in (folder / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return found


def _kill_by_file(folders: tuple[Path, ...]) -> bool:
    """cgroup v2's own kill switch, when the kernel offers it."""
    done = False
    for folder in folders:
        try:
            (folder / "cgroup.kill").write_text("1")
            done = True
        except OSError:
            pass
    return done


def _counters(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    counts = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, options) of every cgroup mount this process sees."""
    found: list[tuple[str, str, set[str]]] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) > 4 and len(tail) > 2 and tail[0] in ("cgroup", "cgroup2"):
            point = fields[4].replace("\\040", " ")
            found.append((point, tail[0], set(tail[2].split(",")) | set(fields[5].split(","))))
    return found


def _own_groups() -> dict[str, str]:
    """Controller (or '' for v2) -> this process's group path, from /proc/self/cgroup."""
    own: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return own
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def _find_v2(mounts, own) -> CgroupSupport | None:
    """cgroup v2, where our group's parent lets us enable memory and pids for children."""
    for point, kind, _ in mounts:
        if kind != "cgroup2" or "" not in own:
            continue
        folder = Path(point) / own[""].lstrip("/")
        try:
            offered = set((folder / "cgroup.controllers").read_text().split())
            enabled = set((folder / "cgroup.subtree_control").read_text().split())
        except OSError:
            continue
        if not set(CONTROLLERS) <= offered or not _writable(folder):
            continue
        if not set(CONTROLLERS) <= enabled:
            try:
                (folder / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
            except OSError:
                continue  # a group with processes of its own cannot hand controllers down
        return CgroupSupport(2, {c: folder for c in CONTROLLERS})
    return None


def _find_v1(mounts, own) -> CgroupSupport | None:
    parents = {}
    for controller in CONTROLLERS:
        for point, kind, options in mounts:
            if kind == "cgroup" and controller in options and controller in own:
                folder = Path(point) / own[controller].lstrip("/")
                if _writable(folder):
                    parents[controller] = folder
                    break
    return CgroupSupport(1, parents) if len(parents) == len(CONTROLLERS) else None


_lock = threading.Lock()
_support: list[CgroupSupport] = []


def support() -> CgroupSupport:
    """Where kernel groups can be made on this machine (probed once)."""
    with _lock:
        if not _support:
            mounts, own = _mounts(), _own_groups()
            found = _find_v2(mounts, own) or _find_v1(mounts, own)
            if found is None:
                found = CgroupSupport(0, {})
            _remove_stale(found)
            _support.append(found)
        return _support[0]


def _remove_stale(found: CgroupSupport) -> None:
    """Remove the empty groups of graders that died before removing them (rmdir spares the others)."""
    for parent in set(found.parents.values()):
        for folder in parent.glob("grader-*-*"):
            owner = folder.name.split("-")[1]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                try:
                    folder.rmdir()
                except OSError:
                    pass


def create(memory_mb: int, processes: int) -> KernelCgroup | None:
    """A fresh group for one kernel start with its limits set, or None where none can be made."""
    found = support()
    if not found.version:
        return None
    name = f"grader-{os.getpid()}-{secrets.token_hex(6)}"
    folders = list(dict.fromkeys(parent / name for parent in found.parents.values()))
    made: list[Path] = []
    try:
        for folder in folders:
            folder.mkdir()
            made.append(folder)
        _set_limits(found, name, memory_mb, processes)
    except OSError:
        KernelCgroup(found.version, tuple(made)).remove(0)
        return None
    return KernelCgroup(found.version, tuple(folders))


def _set_limits(found: CgroupSupport, name: str, memory_mb: int, processes: int) -> None:
    memory = found.parents["memory"] / name
    tasks = found.parents["pids"] / name
    if found.version == 2:
        if memory_mb:
            (memory / "memory.max").write_text(str(memory_mb * 1024 * 1024))
            _try_write(memory / "memory.swap.max", "0")
        if processes:
            (tasks / "pids.max").write_text(str(processes + PID_SLACK))
        return
    if memory_mb:
        (memory / "memory.limit_in_bytes").write_text(str(memory_mb * 1024 * 1024))
        _try_write(memory / "memory.memsw.limit_in_bytes", str(memory_mb * 1024 * 1024))
    if processes:
        (tasks / "pids.max").write_text(str(processes + PID_SLACK))


def _try_write(path: Path, text: str) -> None:
    """Set an optional knob (swap accounting may be off)."""
    try:
        path.write_text(text)
    except OSError:
        pass
