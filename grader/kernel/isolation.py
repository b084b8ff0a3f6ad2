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

import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UserError
from grader.kernel import account as accounts
from grader.kernel.account import AccountLauncher
from grader.kernel.probe import ProbeAnswer, ask, sentinels
from grader.kernel.runfolder import RunFolder
from grader.kernel.sandbox import Sandbox, hidden_folders, layout, python_paths, readable_paths
from grader.model import Isolation

BWRAP_VARIABLE = "GRADER_BWRAP"  # the bubblewrap program to use, or "none" to behave as if it could not run


@dataclass(frozen=True)
class Unavailable:
    """Why one way of isolating cannot be used here, and what would make it work."""

    cause: str  #: what is missing, in plain words
    fix: str  #: what to do about it
    detail: str = ""  #: what the tool itself said, when it said something

    def sentence(self) -> str:
        said = f" (it said: {self.detail})" if self.detail else ""
        return f"{self.cause}{said}; to fix it, {self.fix}."


class IsolationRefused(UserError):
    """No kernel is started: the isolation this command needs cannot be had here."""

    def __init__(self, *why: Unavailable):
        self.why = why
        reasons = "".join(f"\n  - {w.sentence()}" for w in why)
        super().__init__(f"no student code was run, because it cannot be isolated here:{reasons}\nTo run it without "
                         "isolation anyway, add --no-sandbox to the command: every report then says the kernel was "
                         "not isolated.")


Launcher = Sandbox | AccountLauncher  # None stands for an unsandboxed kernel under the user's own account


def isolation_of(launcher: Launcher | None) -> Isolation:
    if isinstance(launcher, Sandbox):
        return Isolation.SANDBOX
    if isinstance(launcher, AccountLauncher) and launcher.dedicated:
        return Isolation.ACCOUNT
    return Isolation.NONE


def describe(launcher: Launcher | None) -> str:
    """How kernels run, in words (for reports the kernel cannot have written)."""
    if launcher is None:
        return "not isolated: the kernel ran under the grader's own account, without the sandbox"
    return launcher.describe()


def kernel_launcher(*, own_code: bool, no_sandbox: bool, hidden: tuple[Path, ...] = (),
                    protect: tuple[Path, ...] = (), allow_account: bool = True) -> Launcher | None:
    """The launcher for this command's kernels (None: unsandboxed, as the user); raises IsolationRefused.

    `own_code`: the student runs their own code (a self-check). `hidden`: folders besides the
    grader's checkout that no kernel may read (the assignment's). `protect`: folders besides the
    grader's installation that no kernel may write (the results). `allow_account`: the dedicated
    account may stand in for bubblewrap (one kernel at a time).
    """
    root = os.geteuid() == 0
    if no_sandbox:
        return unsandboxed_as_root() if root else None
    hidden = hidden_folders(hidden)
    sandbox = bubblewrap(hidden)
    if isinstance(sandbox, Sandbox):
        return sandbox
    if own_code and not root:
        return None
    if root and allow_account and not own_code:
        launcher = dedicated_account(hidden, protect)
        if isinstance(launcher, AccountLauncher):
            return launcher
        raise IsolationRefused(sandbox, launcher)
    raise IsolationRefused(sandbox)


def not_sandboxed_reason(hidden: tuple[Path, ...] = ()) -> str:
    """Why kernels here run without the sandbox, in one sentence ("" when the sandbox works)."""
    found = bubblewrap(hidden_folders(hidden))
    return "" if isinstance(found, Sandbox) else found.sentence()


def unsandboxed_as_root() -> AccountLauncher:
    """--no-sandbox given to root: the kernel still drops to an unprivileged account, which must be
    able to run this Python (proven once per process)."""
    found = accounts.dedicated_account() or accounts.find_account(accounts.FALLBACK_ACCOUNT)
    if found is None:
        raise UserError(f"--no-sandbox as root still runs student code as an unprivileged account, and there is "
                        f"neither {accounts.DEDICATED_ACCOUNT} nor {accounts.FALLBACK_ACCOUNT} here: create one "
                        f"(useradd --system --no-create-home --shell /usr/sbin/nologin {accounts.DEDICATED_ACCOUNT})")
    launcher = AccountLauncher(found, dedicated=False)
    with _lock:
        key = ("unsandboxed", found)
        if key not in _cache:
            answer = _ask_as(launcher, [], [], kill=False)
            _cache[key] = _runs_python(answer, launcher) or launcher
        proven = _cache[key]
    if isinstance(proven, Unavailable):
        raise UserError(f"--no-sandbox as root runs student code as the account {found.name}, which cannot run it "
                        f"here: {proven.sentence()}")
    return launcher


_lock = threading.Lock()
_cache: dict[tuple, Launcher | Unavailable] = {}


def bubblewrap(hidden: tuple[Path, ...]) -> Sandbox | Unavailable:
    """The bubblewrap sandbox, proven by a probe (once per process and set of hidden folders)."""
    with _lock:
        key = ("bubblewrap", os.environ.get(BWRAP_VARIABLE, ""), hidden)
        if key not in _cache:
            _cache[key] = _probe_bubblewrap(hidden)
        return _cache[key]


def dedicated_account(hidden: tuple[Path, ...], protect: tuple[Path, ...]) -> AccountLauncher | Unavailable:
    """The dedicated account, proven by a probe (once per process and set of folders)."""
    with _lock:
        key = ("account", os.environ.get(accounts.ACCOUNT_VARIABLE, ""), hidden, protect)
        if key not in _cache:
            _cache[key] = _probe_account(hidden, protect)
        return _cache[key]


def forget_probes() -> None:
    """Probe again next time (tests that change the machine's state)."""
    with _lock:
        _cache.clear()


def _bwrap_program() -> str | Unavailable:
    chosen = os.environ.get(BWRAP_VARIABLE, "")
    if chosen == "none":
        return Unavailable(f"bubblewrap is turned off ({BWRAP_VARIABLE}=none)", f"unset {BWRAP_VARIABLE}")
    found = shutil.which(chosen or "bwrap")
    if found is None:
        return Unavailable("bubblewrap (the sandbox program) is not installed" if not chosen
                           else f"{BWRAP_VARIABLE}={chosen} names no program",
                           "install it (apt-get install bubblewrap on Debian and Ubuntu, dnf install "
                           "bubblewrap on Fedora)")
    return found


def _probe_bubblewrap(hidden: tuple[Path, ...]) -> Sandbox | Unavailable:
    if not sys.platform.startswith("linux"):
        name = {"darwin": "macOS", "win32": "Windows"}.get(sys.platform, sys.platform)
        return Unavailable(f"there is no sandbox on {name}", "grade on Linux, where bubblewrap provides one")
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
        return Unavailable(f"inside the sandbox, Python ran as uid {answer.uid}, not as the unprivileged uid "
                           f"{sandbox.uid}", "report this as a bug in the grader")
    if answer.readable:
        return Unavailable(f"inside the sandbox, a kernel could read {len(answer.readable)} file(s) it must not see, "
                           f"such as {answer.readable[0]}", "report this as a bug in the grader, and meanwhile "
                           "install the grader outside the folders Python is installed in")
    return None


def _sysctl(name: str) -> str:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return ""


def _why_bubblewrap_failed(said: str) -> Unavailable:
    """Plain words for bubblewrap's failure here: which setting of this machine stops it."""
    if os.geteuid() == 0:
        return Unavailable("bubblewrap cannot create the namespaces of the sandbox here (a container without "
                           "the rights to do so, such as Docker's default)",
                           "give the container those rights (docker run --security-opt seccomp=unconfined "
                           "--security-opt apparmor=unconfined --cap-add SYS_ADMIN), or grade on a machine where "
                           "bubblewrap works; on Gradescope, the bundle's setup.sh makes the account "
                           f"{accounts.DEDICATED_ACCOUNT} that kernels run as instead", said)
    if _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1":
        return Unavailable("this system lets no ordinary user's program create a user namespace, which bubblewrap "
                           "needs (kernel.apparmor_restrict_unprivileged_userns = 1, as on Ubuntu 23.10 and later)",
                           "give bubblewrap an AppArmor profile that allows it (docs/security.md shows one), or run "
                           "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or grade as root", said)
    for name, wanted in (("kernel.unprivileged_userns_clone", "1"), ("user.max_user_namespaces", "15000")):
        if _sysctl(name) == "0":
            return Unavailable(f"this system lets no ordinary user create a user namespace, which bubblewrap "
                               f"needs ({name} = 0)", f"run sudo sysctl -w {name}={wanted}, or grade as root", said)
    return Unavailable("bubblewrap is installed but cannot build the sandbox here",
                       "grade as root, or on a machine where bubblewrap works", said)


def _probe_account(hidden: tuple[Path, ...], protect: tuple[Path, ...]) -> AccountLauncher | Unavailable:
    name = os.environ.get(accounts.ACCOUNT_VARIABLE) or accounts.DEDICATED_ACCOUNT
    found = accounts.dedicated_account()
    if found is None:
        return Unavailable(f"there is no unprivileged account {name} for kernels to run as",
                           f"create it with useradd --system --no-create-home --shell /usr/sbin/nologin {name} "
                           "(the Gradescope bundle's setup.sh does)")
    launcher = AccountLauncher(found, dedicated=True)
    grader_package = Path(__file__).resolve().parents[1]
    writable = [*protect, grader_package, *sorted(grader_package.rglob("*.py")), *python_paths()]
    answer = _ask_as(launcher, sentinels(hidden), writable)
    return _account_held(answer, launcher) or launcher


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
            accounts.kill_account(launcher.account)
        for run in runs:
            run.remove()


def _runs_python(answer: ProbeAnswer, launcher: AccountLauncher) -> Unavailable | None:
    if answer.failure:
        return Unavailable(f"the account {launcher.account.name} cannot run this Python ({sys.executable})",
                           "install the grader where every account can read and run it, as the Gradescope "
                           "bundle's setup.sh does (a private folder above it, such as /root, shuts the account "
                           "out)", answer.failure)
    return None


def _account_held(answer: ProbeAnswer, launcher: AccountLauncher) -> Unavailable | None:
    name = launcher.account.name
    if answer.failure:
        return _runs_python(answer, launcher)
    if answer.uid != launcher.uid:
        return Unavailable(f"the probe ran as uid {answer.uid}, not as {name} (uid {launcher.uid})",
                           "report this as a bug in the grader")
    if answer.readable:
        folder = Path(answer.readable[0]).parent
        return Unavailable(f"the account {name} can read {len(answer.readable)} file(s) it must not see, such as "
                           f"{answer.readable[0]}", f"make the folder private to root (chmod -R go-rwx {folder}; "
                           "the Gradescope bundle's setup.sh does this for /autograder/source)")
    if answer.writable:
        return Unavailable(f"the account {name} can write {answer.writable[0]}, which holds the grader or its "
                           "results", f"take the write permission away (chmod -R go-w {answer.writable[0]})")
    return None
