"""Words for how kernels are isolated, and for why they cannot be (grader.kernel.isolation's records):
the cause in plain words, and what to do about it."""

from __future__ import annotations

from grader.kernel import cgroups
from grader.kernel.account import AccountLauncher
from grader.kernel.isolation import BWRAP_VARIABLE, IsolationRefused
from grader.kernel.sandbox import Sandbox
from grader.kernel.zygote import ZygoteSandbox
from grader.model.isolation import Unavailable, Why

SETUP_SH = "the Gradescope bundle's setup.sh"
SYSTEMS = {"darwin": "macOS", "win32": "Windows"}

_WORDS: dict[Why, tuple[str, str]] = {  # (cause, fix)
    Why.BWRAP_OFF: (f"bubblewrap is turned off ({BWRAP_VARIABLE}=none)", f"unset {BWRAP_VARIABLE}"),
    Why.NOT_INSTALLED: (
        "bubblewrap (the sandbox program) is not installed",
        "install it (apt-get install bubblewrap on Debian and Ubuntu, dnf install bubblewrap on Fedora)",
    ),
    Why.NO_PROGRAM: (
        f"{BWRAP_VARIABLE}={{path}} names no program",
        "install it (apt-get install bubblewrap on Debian and Ubuntu, dnf install bubblewrap on Fedora)",
    ),
    Why.NOT_LINUX: ("there is no sandbox on {system}", "grade on Linux, where bubblewrap provides one"),
    Why.SANDBOX_UID: (
        "inside the sandbox, Python ran as uid {uid}, not as the unprivileged uid {expected}",
        "report this as a bug in the grader",
    ),
    Why.SANDBOX_LEAKS: (
        "inside the sandbox, a kernel could read {count} file(s) it must not see, such as {path}",
        "report this as a bug in the grader, and meanwhile install the grader outside the folders "
        "Python is installed in",
    ),
    Why.CONTAINER: (
        "bubblewrap cannot create the namespaces of the sandbox here (a container without the rights to "
        "do so, such as Docker's default)",
        "give the container those rights (docker run --security-opt seccomp=unconfined --security-opt "
        "apparmor=unconfined --cap-add SYS_ADMIN), or grade on a machine where bubblewrap works; on "
        f"Gradescope, {SETUP_SH} makes the account {{name}} that kernels run as instead",
    ),
    Why.APPARMOR: (
        "this system lets no ordinary user's program create a user namespace, which bubblewrap needs "
        "(kernel.apparmor_restrict_unprivileged_userns = 1, as on Ubuntu 23.10 and later)",
        "give bubblewrap an AppArmor profile that allows it (docs/security.md shows one), or run sudo "
        "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or grade as root",
    ),
    Why.SYSCTL: (
        "this system lets no ordinary user create a user namespace, which bubblewrap needs ({name} = 0)",
        "run sudo sysctl -w {name}={wanted}, or grade as root",
    ),
    Why.CANNOT_BUILD: (
        "bubblewrap is installed but cannot build the sandbox here",
        "grade as root, or on a machine where bubblewrap works",
    ),
    Why.NO_ACCOUNT: (
        "there is no unprivileged account {name} for kernels to run as",
        f"create it with useradd --system --no-create-home --shell /usr/sbin/nologin {{name}} ({SETUP_SH} does)",
    ),
    Why.ACCOUNT_NO_PYTHON: (
        "the account {name} cannot run this Python ({path})",
        f"install the grader where every account can read and run it, as {SETUP_SH} does (a "
        "private folder above it, such as /root, shuts the account out)",
    ),
    Why.ACCOUNT_UID: (
        "the probe ran as uid {uid}, not as {name} (uid {expected})",
        "report this as a bug in the grader",
    ),
    Why.ACCOUNT_READS: (
        "the account {name} can read {count} file(s) it must not see, such as {path}",
        f"make them private to root (chmod -R go-rwx {{folders}}; {SETUP_SH} does this for /autograder/source)",
    ),
    Why.ACCOUNT_WRITES: (
        "the account {name} can write {path}, which holds the grader or its results",
        "take the write permission away (chmod -R go-w {path})",
    ),
}


def unavailable_text(why: Unavailable) -> str:
    """The cause, what the tool said, and the fix, in one sentence."""
    cause, fix = _WORDS[why.why]
    values = {
        "path": why.path,
        "name": why.name,
        "count": why.count,
        "uid": why.uid,
        "expected": why.expected,
        "wanted": why.wanted,
        "system": SYSTEMS.get(why.name, why.name),
        "folders": " ".join(why.folders) or (why.path.rsplit("/", 1)[0] if "/" in why.path else why.path),
    }
    said = f" (it said: {why.detail})" if why.detail else ""
    return f"{cause.format(**values)}{said}; to fix it, {fix.format(**values)}."


def refused_text(refused: IsolationRefused, anyway: str | None = "add --no-sandbox to the command") -> str:
    """Why no student code was run, each cause with its fix, and the way to run it anyway (`anyway`:
    how where the user is, e.g. check(no_sandbox=True) in Jupyter; None where they cannot)."""
    reasons = "".join(f"\n  - {unavailable_text(why)}" for why in refused.why)
    if refused.no_sandbox:
        return (
            "no student code was run: as root, --no-sandbox still runs it as an unprivileged account, and "
            f"that account cannot be used here:{reasons}"
        )
    said = f"no student code was run, because it cannot be isolated here:{reasons}"
    if anyway is None:
        return said
    return f"{said}\nTo run it without isolation anyway, {anyway}: every report then says the kernel was not isolated."


def _cgroups_text() -> str:
    """The limits this machine enforces per kernel through cgroups, or that it enforces none."""
    if not cgroups.support().version:
        return (
            "no cgroup (no writable cgroup with the memory and pids controllers): memory is capped per process "
            "(address space) only"
        )
    return f"cgroup v{cgroups.support().version}: memory (all of it) and processes capped per kernel"


def describe(launcher) -> str:
    """How kernels run, in words the kernel cannot have written (results.json, the check's note)."""
    if isinstance(launcher, Sandbox):
        how = "root, dropping to" if launcher.mode == "root" else "user namespace,"
        forked = "; each kernel forked from its worker's zygote" if isinstance(launcher, ZygoteSandbox) else ""
        return f"bubblewrap sandbox ({how} uid {launcher.uid}; {_cgroups_text()}{forked})"
    if isinstance(launcher, AccountLauncher):
        unproven = "" if launcher.proven else ", not proven to read nothing hidden"
        return f"dedicated unprivileged account {launcher.account.name} (uid {launcher.uid}), no sandbox{unproven}"
    return "not isolated: the kernel ran under the grader's own account, without the sandbox"


def not_isolated_note(launcher, no_sandbox: bool, why: Unavailable | None) -> str:
    """The one line a self-check prints when its kernel was not isolated ("" when it was)."""
    from grader.kernel.isolation import isolation_of
    from grader.model import Isolation

    if isolation_of(launcher) != Isolation.NONE:
        return ""
    if no_sandbox or why is None:
        return f"note: this run was not isolated (--no-sandbox): {describe(launcher)}."
    return (
        f"note: this run was not isolated, because {unavailable_text(why)} The notebook's code ran with your own "
        "permissions."
    )
