"""Why a way of isolating kernels cannot be used on this machine, as records (grader.kernel.isolation
finds them, grader.render.isolation words each with its fix)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Why(StrEnum):
    """Why a way of isolating cannot be used here (grader.render.isolation words each, with its fix)."""

    BWRAP_OFF = "bwrap_off"  #: GRADER_BWRAP=none
    NOT_INSTALLED = "not_installed"  #: no bwrap on the PATH
    NO_PROGRAM = "no_program"  #: GRADER_BWRAP names no program: path
    NOT_LINUX = "not_linux"  #: no sandbox on this system: name
    SANDBOX_UID = "sandbox_uid"  #: the sandboxed Python ran as `uid`, not `expected`
    SANDBOX_LEAKS = "sandbox_leaks"  #: the sandboxed Python could read `count` hidden files, such as `path`
    CONTAINER = "container"  #: as root, bubblewrap cannot make namespaces (a container)
    APPARMOR = "apparmor"  #: Ubuntu's AppArmor restriction on user namespaces
    SYSCTL = "sysctl"  #: a sysctl (name) forbids user namespaces; `wanted` is the value that allows them
    CANNOT_BUILD = "cannot_build"  #: bubblewrap failed for another reason
    NO_ACCOUNT = "no_account"  #: no account called `name`
    ACCOUNT_NO_PYTHON = "account_no_python"  #: the account `name` cannot run this Python (path)
    ACCOUNT_UID = "account_uid"  #: the account's probe ran as `uid`, not `expected`
    ACCOUNT_READS = "account_reads"  #: the account `name` can read `count` hidden files, such as `path`
    ACCOUNT_WRITES = "account_writes"  #: the account `name` can write `path`


@dataclass(frozen=True)
class Unavailable:
    """Why one way of isolating cannot be used here; grader.render.isolation says it with its fix."""

    why: Why
    detail: str = ""  #: what the tool itself said, when it said something
    name: str = ""  #: the account, sysctl or system named
    path: str = ""  #: the file, folder or program named
    count: int = 0  #: how many files
    uid: int = 0  #: the uid seen
    expected: int = 0  #: the uid expected
    wanted: str = ""  #: SYSCTL: the value that allows user namespaces
    folders: tuple[str, ...] = ()  #: ACCOUNT_READS: every hidden folder (or file) the account can read into
