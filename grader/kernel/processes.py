"""The process tree under a kernel, read from /proc, and how to stop all of it at once."""

from __future__ import annotations

import os
import signal
import time


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state letter, start time) for every process we can see."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                text = handle.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 19:
            table[int(entry.name)] = (int(fields[1]), fields[0], fields[19])
    return table


def process_tree(root: int, table: dict | None = None) -> dict[int, str]:
    """The living processes descending from `root` (itself included): pid -> start time."""
    table = _process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in found or pid not in table:
            continue
        if table[pid][1] not in "ZX":
            found[pid] = table[pid][2]
        stack.extend(children.get(pid, []))
    return found


def living(pids: set[int]) -> dict[int, str]:
    """Which of `pids` live: pid -> start time."""
    table = _process_table()
    return {pid: table[pid][2] for pid in pids if pid in table and table[pid][1] not in "ZX"}


def _signal(pid: int, started: str, number: int) -> None:
    """Signal `pid` only if it is still the process seen (same start time): pids get reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
        if text[text.rfind(")") + 2 :].split()[19] != started:
            return
        os.kill(pid, number)
    except (OSError, IndexError):
        pass


def kill_process_tree(root: int, wait_seconds: float = 5.0) -> bool:
    """Freeze the whole tree under `root` (so nothing forks while we look), kill it, wait for it.

    Without the sandbox this is what stops a kernel's children, including those that left its
    process group; in the sandbox, killing bubblewrap ends the whole PID namespace anyway.
    Returns True when every process is gone.
    """
    frozen: dict[int, str] = {}
    for _ in range(50):
        fresh = {pid: started for pid, started in process_tree(root).items() if pid not in frozen}
        if not fresh:
            break
        for pid, started in fresh.items():
            _signal(pid, started, signal.SIGSTOP)
        frozen.update(fresh)
    for pid, started in frozen.items():
        _signal(pid, started, signal.SIGKILL)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        table = _process_table()
        if not any(
            pid in table and table[pid][2] == started and table[pid][1] not in "ZX" for pid, started in frozen.items()
        ):
            return True
        time.sleep(0.02)
    return False
