"""Which isolation a student's kernel gets, decided before any student's code runs, failing closed.

- Grading someone else's code (`grade`, Gradescope, Dask workers) needs isolation: the bubblewrap
  sandbox, or, where the grader is root and bubblewrap cannot run (Gradescope's container), the
  dedicated unprivileged account. Without either it is refused, with the cause and the fix.
- A student's own self-check (`check`, `check()`, `pytest --grade`) runs the student's own code
  under the student's own account: where no sandbox exists it runs unsandboxed, and says so.
  As root it is refused like `grade`.
- `--no-sandbox` runs kernels without isolation, on that command only; as root they still run as
  an unprivileged account (never as root).

Each way is proven by a probe (grader.kernel.probe) once per process, and never assumed.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import threading
from pathlib import Path

from grader.errors import UserError
from grader.kernel import account as accounts
from grader.kernel import zygote
from grader.kernel.account import AccountLauncher
from grader.kernel.probe import ProbeAnswer, ask, sentinels
from grader.kernel.runfolder import RunFolder
from grader.kernel.sandbox import Sandbox, SandboxError, hidden_folders, inside, layout, python_paths, readable_paths
from grader.model import Isolation
from grader.model.isolation import Unavailable, Why

BWRAP_VARIABLE = "GRADER_BWRAP"  # the bubblewrap program to use, or "none" to behave as if it could not run


class IsolationRefused(UserError):
    """No kernel is started: the isolation this command needs cannot be had here (`why`)."""

    def __init__(self, *why: Unavailable, no_sandbox: bool = False):
        super().__init__(*why)
        self.why = why
        self.no_sandbox = no_sandbox  #: refused although --no-sandbox was given (as root, an account is still needed)


Launcher = Sandbox | AccountLauncher  # None stands for an unsandboxed kernel under the user's own account


def isolation_of(launcher: Launcher | None) -> Isolation:
    if isinstance(launcher, Sandbox):
        return Isolation.SANDBOX
    if isinstance(launcher, AccountLauncher) and launcher.proven:
        return Isolation.ACCOUNT
    return Isolation.NONE


def kernel_launcher(
    *,
    own_code: bool,
    no_sandbox: bool,
    hidden: tuple[Path, ...] = (),
    protect: tuple[Path, ...] = (),
    allow_account: bool = True,
    forking: bool = False,
) -> Launcher | None:
    """The launcher for this command's kernels (None: unsandboxed, as the user); raises IsolationRefused.

    `own_code`: the student runs their own code (a self-check). `hidden`: folders besides the
    grader's checkout that no kernel may read (the assignment's). `protect`: folders besides the
    grader's installation that no kernel may write (the results). `allow_account`: the dedicated
    account may stand in for bubblewrap (one kernel at a time). `forking`: the command starts many
    kernels per process (a batch's workers), which are then forked from a zygote per worker where
    one is proven (see zygote.start_mode).
    """
    root = os.geteuid() == 0
    if no_sandbox:
        return unsandboxed_as_root() if root else None
    hidden = hidden_folders(hidden)
    sandbox = bubblewrap(hidden)
    if isinstance(sandbox, Sandbox):
        return _forked_or_fresh(sandbox, hidden, forking)
    if own_code and not root:
        return None
    if root and allow_account and not own_code:
        launcher = dedicated_account(hidden, protect)
        if isinstance(launcher, AccountLauncher):
            return launcher
        raise IsolationRefused(sandbox, launcher)
    raise IsolationRefused(sandbox)


def not_sandboxed_reason(hidden: tuple[Path, ...] = ()) -> Unavailable | None:
    """Why kernels here run without the sandbox (None when the sandbox works)."""
    found = bubblewrap(hidden_folders(hidden))
    return None if isinstance(found, Sandbox) else found


def unsandboxed_as_root() -> AccountLauncher:
    """--no-sandbox given to root: the kernel still drops to an unprivileged account, which must be
    able to run this Python (proven once per process)."""
    found = accounts.dedicated_account()
    if found is None:
        name = os.environ.get(accounts.ACCOUNT_VARIABLE) or accounts.DEDICATED_ACCOUNT
        raise IsolationRefused(Unavailable(Why.NO_ACCOUNT, name=name), no_sandbox=True)
    launcher = AccountLauncher(found, proven=False)
    with _lock:
        key = ("unsandboxed", found)
        if key not in _accounts:
            answer = _ask_as(launcher, [], [])
            _accounts[key] = _runs_python(answer, launcher) or launcher
        proven = _accounts[key]
    if isinstance(proven, Unavailable):
        raise IsolationRefused(proven, no_sandbox=True)
    return launcher


_lock = threading.Lock()
# The probes' answers, one cache per kind of launcher (keys begin with the way: "bubblewrap", ...).
_sandboxes: dict[tuple, Sandbox | Unavailable] = {}
_accounts: dict[tuple, AccountLauncher | Unavailable] = {}


def bubblewrap(hidden: tuple[Path, ...]) -> Sandbox | Unavailable:
    """The bubblewrap sandbox, proven by a probe (once per process and set of hidden folders)."""
    with _lock:
        key = ("bubblewrap", os.environ.get(BWRAP_VARIABLE, ""), hidden)
        if key not in _sandboxes:
            _sandboxes[key] = _probe_bubblewrap(hidden)
        return _sandboxes[key]


def _forked_or_fresh(sandbox: Sandbox, hidden: tuple[Path, ...], forking: bool) -> Sandbox:
    """The sandbox whose kernels are forked from a zygote, when asked and proven; else `sandbox`.
    Asked for by name (GRADER_KERNEL_START=zygote), a zygote that cannot be had is refused, never
    silently replaced; by default the fresh kernels stand in, as isolated."""
    start = zygote.start_mode()
    if start == "fresh" or (start == "auto" and not forking):
        return sandbox
    found = forked(sandbox, hidden)
    if isinstance(found, Unavailable):
        if start == "zygote":
            raise IsolationRefused(found)
        return sandbox
    return found


def forked(sandbox: Sandbox, hidden: tuple[Path, ...]) -> Sandbox | Unavailable:
    """Kernels forked from a zygote per worker, once a probe started that way proves the same walls
    as `sandbox`'s (once per process and set of hidden folders)."""
    with _lock:
        key = ("zygote", sandbox, hidden)
        if key not in _sandboxes:
            _sandboxes[key] = _probe_zygote(sandbox, hidden)
        return _sandboxes[key]


def _probe_zygote(sandbox: Sandbox, hidden: tuple[Path, ...]) -> Sandbox | Unavailable:
    """The probe's Python, forked from a zygote like a kernel, asked what it can read and who it is."""
    if sandbox.mode != "root":
        return Unavailable(Why.CANNOT_BUILD, "a zygote needs root's bubblewrap")
    candidate = zygote.ZygoteSandbox(bwrap=sandbox.bwrap, mode=sandbox.mode, mounts=sandbox.mounts)
    probing = dataclasses.replace(candidate, machinery=False)  # the same walls, without ipykernel's import
    runs: list[RunFolder] = []

    def command_for(command: list[str], workdir: Path) -> list[str]:
        runs.append(probing.new_run_folder(workdir))
        runs[-1].connection.touch()  # bound like a kernel's, though the probe reads none
        return probing.wrap(command, None, workdir, runs[-1])

    try:
        answer = ask(command_for, sentinels(hidden, readable_paths()))
    except SandboxError as error:
        return Unavailable(Why.CANNOT_BUILD, str(error))
    finally:
        for run in runs:
            run.remove()
        zygote.stop_zygotes()
    return _sandbox_held(answer, candidate) or candidate


def dedicated_account(hidden: tuple[Path, ...], protect: tuple[Path, ...]) -> AccountLauncher | Unavailable:
    """The dedicated account, proven by a probe (once per process and set of folders)."""
    with _lock:
        key = ("account", os.environ.get(accounts.ACCOUNT_VARIABLE, ""), hidden, protect)
        if key not in _accounts:
            _accounts[key] = _probe_account(hidden, protect)
        return _accounts[key]


def forget_probes() -> None:
    """Probe again next time (tests that change the machine's state)."""
    with _lock:
        _sandboxes.clear()
        _accounts.clear()


def _bwrap_program() -> str | Unavailable:
    chosen = os.environ.get(BWRAP_VARIABLE, "")
    if chosen == "none":
        return Unavailable(Why.BWRAP_OFF)
    found = shutil.which(chosen or "bwrap")
    if found is None:
        return Unavailable(Why.NO_PROGRAM, path=chosen) if chosen else Unavailable(Why.NOT_INSTALLED)
    return found


def _probe_bubblewrap(hidden: tuple[Path, ...]) -> Sandbox | Unavailable:
    if not sys.platform.startswith("linux"):
        return Unavailable(Why.NOT_LINUX, name=sys.platform)
    program = _bwrap_program()
    if isinstance(program, Unavailable):
        return program
    readable = readable_paths()
    sandbox = Sandbox(bwrap=program, mode="root" if os.geteuid() == 0 else "user", mounts=layout(readable, hidden))
    answer = ask(lambda command, workdir: sandbox.wrap(command, workdir=workdir), sentinels(hidden, readable))
    return _sandbox_held(answer, sandbox) or sandbox


def _sandbox_held(answer: ProbeAnswer, sandbox: Sandbox) -> Unavailable | None:
    if answer.failure:
        return _why_bubblewrap_failed(answer.failure)
    if answer.uid != sandbox.uid:
        return Unavailable(Why.SANDBOX_UID, uid=answer.uid or 0, expected=sandbox.uid)
    if answer.readable:
        return Unavailable(Why.SANDBOX_LEAKS, path=answer.readable[0], count=len(answer.readable))
    return None


def _sysctl(name: str) -> str:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return ""


def _why_bubblewrap_failed(said: str) -> Unavailable:
    """Which setting of this machine stops bubblewrap (`said`: what bubblewrap said)."""
    if os.geteuid() == 0:
        return Unavailable(Why.CONTAINER, said, name=accounts.DEDICATED_ACCOUNT)
    if _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1":
        return Unavailable(Why.APPARMOR, said)
    for name, wanted in (("kernel.unprivileged_userns_clone", "1"), ("user.max_user_namespaces", "15000")):
        if _sysctl(name) == "0":
            return Unavailable(Why.SYSCTL, said, name=name, wanted=wanted)
    return Unavailable(Why.CANNOT_BUILD, said)


def _probe_account(hidden: tuple[Path, ...], protect: tuple[Path, ...]) -> AccountLauncher | Unavailable:
    name = os.environ.get(accounts.ACCOUNT_VARIABLE) or accounts.DEDICATED_ACCOUNT
    found = accounts.dedicated_account()
    if found is None:
        return Unavailable(Why.NO_ACCOUNT, name=name)
    launcher = AccountLauncher(found, proven=True)
    grader_package = Path(__file__).resolve().parents[1]
    writable = [*protect, grader_package, *sorted(grader_package.rglob("*.py")), *python_paths()]
    answer = _ask_as(launcher, sentinels(hidden), writable)
    return _account_held(answer, launcher, hidden) or launcher


def _ask_as(launcher: AccountLauncher, read: list[Path], write: list[Path], kill: bool = True) -> ProbeAnswer:
    """Ask the probe's questions as the account; `kill`: then kill every process of that account."""
    runs: list[RunFolder] = []

    def command_for(command: list[str], workdir: Path) -> list[str]:
        runs.append(launcher.new_run_folder(workdir))
        return launcher.wrap(command, None, workdir, runs[-1])

    try:
        return ask(command_for, read, write)
    finally:
        if kill:
            launcher.after_stop()
        for run in runs:
            run.remove()


def _runs_python(answer: ProbeAnswer, launcher: AccountLauncher) -> Unavailable | None:
    if answer.failure:
        return Unavailable(Why.ACCOUNT_NO_PYTHON, answer.failure, name=launcher.account.name, path=sys.executable)
    return None


def _holding(readable: tuple[str, ...] | list[str], hidden: tuple[Path, ...]) -> tuple[str, ...]:
    """The hidden folders (or files) that hold the readable files: each one to make private."""
    return tuple(
        str(entry) for entry in hidden if any(Path(path) == entry or inside(Path(path), entry) for path in readable)
    )


def _account_held(answer: ProbeAnswer, launcher: AccountLauncher, hidden: tuple[Path, ...] = ()) -> Unavailable | None:
    name = launcher.account.name
    if answer.failure:
        return _runs_python(answer, launcher)
    if answer.uid != launcher.uid:
        return Unavailable(Why.ACCOUNT_UID, name=name, uid=answer.uid or 0, expected=launcher.uid)
    if answer.readable:
        return Unavailable(
            Why.ACCOUNT_READS,
            name=name,
            path=answer.readable[0],
            count=len(answer.readable),
            folders=_holding(answer.readable, hidden),
        )
    if answer.writable:
        return Unavailable(Why.ACCOUNT_WRITES, name=name, path=answer.writable[0])
    return None
