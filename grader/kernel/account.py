"""Kernels as an unprivileged account, where the grader is root and bubblewrap cannot run.

That is Gradescope's usual container (unprivileged Docker: no namespaces), and `--no-sandbox` run
by root. The launcher (grader/kernel/launcher.py), started by root, drops to the account for good,
starts a session of its own, installs the same system-call filter and limits as in the sandbox and
becomes the kernel in a fresh folder of its own. The kernel then has only what the account has:
it cannot read what is not readable by others (setup.sh makes the assignment's folder 0700), nor
write the grader's code, its results or another kernel's files.

A dedicated account (Gradescope's `grader-kernel`, made by setup.sh) runs one kernel at a time and
nothing else, so when a kernel stops every process of the account is killed: nothing it started
outlives it, however it detached. `--no-sandbox` as root may use a shared account (nobody), whose
other processes are not ours to kill: only the kernel's process tree is killed then.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.kernel.runfolder import RunFolder, give
from grader.kernel.sandbox import LAUNCHER, kernel_environment, limit_numbers

if TYPE_CHECKING:
    from grader.model import Limits

DEDICATED_ACCOUNT = "grader-kernel"  # made by the Gradescope bundle's setup.sh
ACCOUNT_VARIABLE = "GRADER_KERNEL_ACCOUNT"  # another account's name (tests, other containers)
FALLBACK_ACCOUNT = "nobody"  # for --no-sandbox as root, when there is no dedicated account
KILL_ROUNDS = 100


@dataclass(frozen=True)
class Account:
    """A login-less account on this machine."""

    name: str
    uid: int
    gid: int


def find_account(name: str) -> Account | None:
    """The account called `name`, or None when there is none (or it is root)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    if entry.pw_uid == 0:
        return None
    return Account(name, entry.pw_uid, entry.pw_gid)


def dedicated_account() -> Account | None:
    """The account kernels run as when bubblewrap cannot run: GRADER_KERNEL_ACCOUNT, else grader-kernel."""
    return find_account(os.environ.get(ACCOUNT_VARIABLE) or DEDICATED_ACCOUNT)


@dataclass(frozen=True)
class AccountLauncher:
    """How to start a kernel as `account` without bubblewrap (the grader being root)."""

    account: Account
    dedicated: bool  #: the account runs nothing but this grader's kernels, one at a time

    mode = "account"
    transport = "ipc"  # sockets in the run folder, reachable by their exact paths only

    @property
    def uid(self) -> int:
        return self.account.uid

    @property
    def gid(self) -> int:
        return self.account.gid

    @property
    def result_owner(self) -> int:
        return self.account.uid

    def wrap(self, command: list[str], limits: Limits | None = None, workdir: Path | None = None,
             run: RunFolder | None = None) -> list[str]:
        """The command that starts `command` as the account, in the run folder's `work`."""
        if run is None:
            raise ValueError("a kernel without the sandbox needs its run folder")
        env = kernel_environment(home=str(run.tmp), matplotlib=str(run.tmp / "matplotlib"))
        spec = {"mode": "account", "uid": self.uid, "gid": self.gid, "limits": limit_numbers(limits),
                "cwd": str(run.work), "env": env}
        return [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(spec), "--", *command]

    def new_run_folder(self, workdir: Path | None = None) -> RunFolder:
        """A fresh run folder holding a fresh copy of the grader's files, for this start only."""
        if workdir is None:
            raise ValueError("a kernel without the sandbox needs the grader's folder to copy")
        return RunFolder.make(self.uid, self.gid, files_from=workdir)

    def kernel_workdir(self, run: RunFolder, workdir: Path) -> Path:
        return run.work

    def share_connection_file(self, path: Path) -> None:
        give(path, self.uid, self.gid, 0o400, directory=False)

    def seal(self, run: RunFolder) -> None:
        give(run.sockets, 0, 0, 0o755, directory=True)

    def after_stop(self) -> None:
        """Kill every process the dedicated account has: whatever the kernel started, however detached."""
        if self.dedicated:
            kill_account(self.account)


# Run as the account: `kill -9 -1` signals every process that uid may signal, never the shell itself,
# and fails once there is none left.
KILLER = 'i=0; while [ $i -lt "$1" ]; do kill -9 -1 2>/dev/null || exit 0; i=$((i+1)); done; exit 1'


def kill_account(account: Account, wait_seconds: float = 5.0) -> bool:
    """Kill every process of `account`, from a process of its own (kill(-1) as that uid cannot reach
    another uid's process, and pids reused meanwhile are no danger). True when none is left."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            subprocess.run(["/bin/sh", "-c", KILLER, "sh", str(KILL_ROUNDS)], user=account.uid,
                           group=account.gid, extra_groups=[], env={}, cwd="/", timeout=10,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            pass
        if not living_processes(account.uid) or time.monotonic() > deadline:
            return not living_processes(account.uid)
        time.sleep(0.05)


def living_processes(uid: int) -> list[int]:
    """The pids of `uid`'s processes that are not zombies (a zombie waits for its parent only)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as handle:
                status = dict(line.split(b":", 1) for line in handle.read().splitlines() if b":" in line)
        except OSError:
            continue
        if int(status.get(b"Uid", b"-1 ").split()[0]) == uid and not status.get(b"State", b"").strip().startswith(
                (b"Z", b"X")):
            found.append(int(entry.name))
    return found
