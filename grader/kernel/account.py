"""Kernels as an unprivileged account, where the grader is root and bubblewrap cannot run.

That is Gradescope's usual container (unprivileged Docker: no namespaces), and `--no-sandbox` run
by root. The launcher (grader/kernel/launcher.py), started by root, drops to the account for good,
starts a session of its own, installs the same system-call filter and limits as in the sandbox and
becomes the kernel in a fresh folder of its own. The kernel then has only what the account has:
it cannot read what is not readable by others (setup.sh makes the assignment's folder 0700), nor
write the grader's code, its results or another kernel's files.

A dedicated account (Gradescope's `grader-kernel`, made by setup.sh) runs one kernel at a time and
nothing else, so when a kernel stops every process of the account is killed, from root: nothing it
started outlives it, however it detached. One grader at a time uses the account (a lock only root
can take), and no kernel starts while a process of the account is left. `--no-sandbox` as root
uses the same account (never `nobody`, whose uid is the sandbox's on the host).
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import stat
import sys
import threading
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
    proven: bool  #: the probe proved it reads nothing hidden and writes nothing of the grader's (else --no-sandbox)

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

    def wrap(
        self,
        command: list[str],
        limits: Limits | None = None,
        workdir: Path | None = None,
        run: RunFolder | None = None,
        cgroup_files: tuple[str, ...] = (),
    ) -> list[str]:
        """The command that starts `command` as the account, in the run folder's `work` (the command
        itself joined the control groups, `cgroup_files`, already)."""
        if run is None:
            raise ValueError("a kernel without the sandbox needs its run folder")
        env = kernel_environment(home=str(run.tmp), matplotlib=str(run.tmp / "matplotlib"))
        spec = {
            "mode": "account",
            "uid": self.uid,
            "gid": self.gid,
            "limits": limit_numbers(limits),
            "cwd": str(run.work),
            "env": env,
        }
        return [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(spec), "--", *command]

    def new_run_folder(self, workdir: Path | None = None) -> RunFolder:
        """A fresh run folder holding a fresh copy of the grader's files, for this start only; first,
        the account is this grader's alone, with no process left (or nothing starts)."""
        if workdir is None:
            raise ValueError("a kernel without the sandbox needs the grader's folder to copy")
        hold_account(self.account)
        if not kill_account(self.account):
            raise AccountNotClean(
                f"processes of the account {self.account.name} survive every kill: no kernel "
                "starts as it until they are gone"
            )
        return RunFolder.make(self.uid, self.gid, files_from=workdir)

    def kernel_workdir(self, run: RunFolder, workdir: Path) -> Path:
        return run.work

    def share_connection_file(self, path: Path) -> None:
        give(path, self.uid, self.gid, 0o400, directory=False)

    def seal(self, run: RunFolder) -> None:
        give(run.sockets, 0, 0, 0o755, directory=True)

    def after_stop(self) -> None:
        """Kill every process the dedicated account has (whatever the kernel started, however detached),
        then let another grader use the account. A process that survives keeps the account from
        starting any kernel (new_run_folder refuses), so it cannot reach the next one."""
        if kill_account(self.account):
            remove_account_files(self.account)
            release_account(self.account)


SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")  # where any account may write


def remove_account_files(account: Account) -> None:
    """Remove what the account left in the folders every account may write (once none of its processes
    is left): the next kernel finds none of it, and it cannot fill them over many submissions. rmtree
    never follows a link, and checks that what it opens is what it looked at."""
    for folder in SHARED_FOLDERS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                found = entry.stat(follow_symlinks=False)
                if found.st_uid != account.uid:
                    continue
                if stat.S_ISDIR(found.st_mode):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass  # gone meanwhile, or not ours to remove: the next round tries again


class AccountNotClean(RuntimeError):
    """A process of the dedicated account survived the kill: no kernel may start as that account."""


_HELD: dict[str, int] = {}  # account name -> the lock file's descriptor, while this process uses the account
_HELD_LOCK = threading.Lock()


def hold_account(account: Account) -> None:
    """Wait until no other grader on this machine uses the account, then hold it (until released):
    two graders' kernels as one uid could signal and read each other, and each one's kill would end
    the other's kernels."""
    with _HELD_LOCK:
        if account.name in _HELD:
            return
        handle = os.open(
            _lock_folder() / f"{account.name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        fcntl.flock(handle, fcntl.LOCK_EX)
        _HELD[account.name] = handle


def release_account(account: Account) -> None:
    with _HELD_LOCK:
        handle = _HELD.pop(account.name, None)
    if handle is not None:
        os.close(handle)  # closing the only descriptor releases the lock


def _lock_folder() -> Path:
    """A folder only root can write (/run/grader-accounts): no account can plant or hold its locks."""
    folder = Path("/run" if Path("/run").is_dir() else "/var/tmp") / "grader-accounts"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    found = os.lstat(folder)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != 0 or found.st_mode & 0o022:
        raise AccountNotClean(f"{folder} must be a folder that only root can write")
    return folder


def kill_account(account: Account, wait_seconds: float = 10.0) -> bool:
    """Stop, then kill, every process of `account`, from root: nothing the account runs can signal or
    trace root, so none of its processes can stop the killing (a killer running as the account could
    be). A stopped process forks no more; each round stops what it finds, then kills what is left.
    True when none is left."""
    deadline = time.monotonic() + wait_seconds
    while True:
        found = living_processes(account.uid)
        if not found or time.monotonic() > deadline:
            return not found
        for pid in found:
            _signal(pid, account.uid, signal.SIGSTOP)
        for pid in living_processes(account.uid):  # those born before their parent stopped, too
            _signal(pid, account.uid, signal.SIGKILL)
        time.sleep(0.01)


def _signal(pid: int, uid: int, number: int) -> None:
    """Send `number` to `pid` only while it is still `uid`'s process (a pid reused meanwhile is not)."""
    try:
        handle = os.pidfd_open(pid)
    except OSError:
        return  # gone already
    try:
        if _uids(pid) and uid in _uids(pid):  # checked after the pidfd pins the process
            signal.pidfd_send_signal(handle, number)
    except OSError:
        pass
    finally:
        os.close(handle)


def _uids(pid: int) -> tuple[int, ...]:
    """The process's real, effective, saved and filesystem uids (() when it is gone)."""
    status = _status(pid)
    return tuple(int(part) for part in status.get(b"Uid", b"").split()) if status else ()


def _status(pid: int) -> dict[bytes, bytes]:
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            return dict(line.split(b":", 1) for line in handle.read().splitlines() if b":" in line)
    except OSError:
        return {}


def living_processes(uid: int) -> list[int]:
    """The pids of `uid`'s processes that are not zombies (a zombie waits for its parent only)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        status = _status(int(entry.name))
        uids = tuple(int(part) for part in status.get(b"Uid", b"").split())
        if uid in uids and not status.get(b"State", b"").strip().startswith((b"Z", b"X")):
            found.append(int(entry.name))
    return found
