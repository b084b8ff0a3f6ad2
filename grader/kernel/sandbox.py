"""The OS sandbox around a student's kernel (Linux, bubblewrap).

The kernel sees the Python installation read-only, its working directory (a bounded tmpfs with
the grader's files in it read-only), an empty /tmp and nothing else: not the grader's checkout
(reference solutions, cases, expected values), not the assignment's folder, not the home
directory, not other submissions. It has its own PID, network (loopback only, down), IPC and UTS
namespaces, runs as the unprivileged uid 65534 in a user namespace of its own (and may make none
below it), and talks to the grader over IPC sockets in a run folder the grader made for this start
(see grader.kernel.runfolder).

Why a user namespace of its own: RLIMIT_NPROC (the cap on processes) is counted per user and per
user namespace, and never applies to processes whose real uid is root. So a kernel that ran as
root, or as a uid shared with other kernels, could not be capped. Here every kernel is uid 65534
(never root) inside a fresh user namespace, where the count covers that kernel's processes only.

Two routes to the same sandbox:
- as root, bubblewrap builds the mounts and namespaces, then the launcher (grader/kernel/launcher.py)
  drops to uid 65534, creates the user namespace, sets the limits and becomes the kernel;
- as an ordinary user, bubblewrap itself creates the user namespace (`--unshare-user`), and the
  launcher only sets the limits.

Python may live anywhere, the hidden folders too: a virtual environment inside the checkout, a
checkout inside a folder that Python's installation is in. The mounts are made from the outermost
in: a Python folder is bound read-only, a hidden folder inside one is covered by an empty tmpfs,
and a Python folder inside a hidden one is bound again on top. The probe (grader.kernel.probe)
then checks, with real files of the hidden folders, that none of them can be read inside.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import site
import stat
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import GraderError
from grader.kernel.runfolder import RunFolder, give

if TYPE_CHECKING:
    from grader.model import Limits

MATPLOTLIB_FOLDER = "/tmp/matplotlib"  # in the kernel's private /tmp
SANDBOX_UID = 65534
SANDBOX_GID = 65534
TMP_BYTES = 64 * 1024 * 1024  # the kernel's private /tmp lives in memory: keep it small
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
LAUNCHER = (Path(__file__).parent / "launcher.py").read_text()  # runs first in every isolated kernel process


class SandboxError(GraderError):
    """The sandbox cannot be used for this kernel; the message says why."""


def project_checkout() -> Path:
    """The folder holding the grader package (and, in a checkout, the reference and the cases)."""
    return Path(__file__).resolve().parents[2]


def hidden_folders(extra: tuple[Path, ...] = ()) -> tuple[Path, ...]:
    """What the kernel must not see: the grader's checkout (reference, cases, expected values) and
    the `extra` folders (an assignment's, its instructor modules'). A wheel install has no checkout:
    the grader's folder is site-packages, which the kernel needs and which holds nothing of an
    assignment (Gradescope's setup.sh installs it that way)."""
    folder = project_checkout()
    found = [] if folder.name in ("site-packages", "dist-packages") else [folder]
    for path in extra:
        resolved = Path(path).resolve()
        if resolved not in found and resolved.name not in ("site-packages", "dist-packages"):
            found.append(resolved)
    return tuple(found)


def python_paths() -> list[Path]:
    """What the kernel's interpreter needs: its installation, and its site-packages."""
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["platstdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        str(Path(sys.executable).parent),
    }
    candidates.update(site.getsitepackages())
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        candidates.add(site.getusersitepackages())
    found: list[Path] = []
    for candidate in candidates:
        for path in (Path(candidate), Path(candidate).resolve()):
            if path.is_dir() and path not in found:
                found.append(path)
    return found


def inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def readable_paths() -> list[Path]:
    """The host folders the kernel may read: /usr and Python's, the outermost of each nest only."""
    chosen: list[Path] = [Path("/usr")]
    for path in sorted(python_paths(), key=lambda p: len(p.parts)):
        if not any(inside(path, done) for done in chosen):
            chosen.append(path)
    return [entry for path in chosen for entry in bindable(path)]


def bindable(path: Path) -> list[Path]:
    """A folder the kernel's user may not enter (a virtual environment made inside `mktemp -d`, mode
    0700) is bound entry by entry: bubblewrap then makes the folder itself, open to enter, and the
    kernel sees the same files as before, no more."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return [path]
    if not stat.S_ISDIR(mode) or mode & 0o005 == 0o005:
        return [path]
    return [entry for child in sorted(path.iterdir()) for entry in bindable(child)]


@dataclass(frozen=True)
class Mount:
    """One step of the kernel's file system: a host folder bound read-only, or an empty cover."""

    path: Path
    bound: bool  #: True: the host folder, read-only; False: an empty read-only tmpfs over a hidden folder


def layout(readable: list[Path], hidden: tuple[Path, ...]) -> tuple[Mount, ...]:
    """The mounts, outermost first: a hidden folder inside a readable one is covered, and a readable
    folder inside a covered one is bound again on top. A readable folder that is itself a hidden
    one is never shown."""
    steps = [Mount(path, True) for path in readable if path not in hidden]
    steps += [
        Mount(secret, False)
        for secret in hidden
        if secret.is_dir() and any(inside(secret, path) and secret != path for path in readable)
    ]
    return tuple(sorted(steps, key=lambda step: len(step.path.parts)))


@dataclass(frozen=True)
class Sandbox:
    """How to run one kernel command inside bubblewrap; one object serves every kernel."""

    bwrap: str
    mode: str  # "root": bubblewrap runs as root, the launcher drops privileges; "user": unprivileged
    mounts: tuple[Mount, ...]
    uid: int = SANDBOX_UID
    gid: int = SANDBOX_GID

    @property
    def readable(self) -> tuple[Path, ...]:
        return tuple(step.path for step in self.mounts if step.bound)

    @property
    def result_owner(self) -> int | None:
        """The uid every file the kernel writes back belongs to (None: the grader's own)."""
        return self.uid if self.mode == "root" else None

    transport = "ipc"  # the kernel has no network: it listens on sockets in its run folder

    def wrap(
        self,
        command: list[str],
        limits: Limits | None = None,
        workdir: Path | None = None,
        run: RunFolder | None = None,
        cgroup_files: tuple[str, ...] = (),
    ) -> list[str]:
        """The bubblewrap command line that runs `command` sandboxed, under `limits` (grader.model.Limits).

        `workdir` holds the files the kernel reads: the kernel sees each of them read-only, in a
        fresh in-memory folder of bounded size at the same path, where it may write. `run` is this
        start's folder of connection file, sockets and result file, shown at the same paths too.
        (`cgroup_files`: the kernel's control groups, which the command itself joined already.)
        """
        if workdir is None:
            workdir = _workdir_from_command(command)
        mounted: dict[Path, bool] = {}
        argv = [self.bwrap, *self.file_system(mounted)]
        source = self.workdir_source(run, Path(workdir))
        argv += self._workdir_mounts(Path(workdir), source, _folder_bytes(limits), mounted)
        argv += self._run_mounts(run, mounted) + _font_list_mount()
        argv += [
            "--chdir",
            str(workdir),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
            "--die-with-parent",
            "--new-session",
        ]
        if self.mode == "root":
            argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            argv += ["--unshare-user", "--uid", str(self.uid), "--gid", str(self.gid), "--disable-userns"]
        argv += ["--clearenv"]
        for name, value in self.environment().items():
            argv += ["--setenv", name, value]
        argv += ["--unsetenv", "JPY_PARENT_PID"]  # ipykernel quits when it cannot see that process
        spec = {"mode": self.mode, "uid": self.uid, "gid": self.gid, "limits": limit_numbers(limits)}
        return argv + [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(spec), "--", *command]

    def file_system(self, mounted: dict[Path, bool]) -> list[str]:
        """What every kernel sees: an empty /tmp, Python's folders read-only, covers over the hidden
        ones, the system's links (`mounted` records each mount point)."""
        argv = ["--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
        for step in self.mounts:
            argv += _folders_above(step.path, mounted)
            argv += (
                ["--ro-bind", str(step.path), str(step.path)]
                if step.bound
                else ["--perms", "0755", "--size", "65536", "--tmpfs", str(step.path)]
            )
            mounted[step.path] = step.bound
        return argv + _system_links()

    def workdir_source(self, run: RunFolder | None, workdir: Path) -> Path:
        """Where the grader's files of this start are bound from: `workdir` itself."""
        return workdir

    @staticmethod
    def _workdir_mounts(workdir: Path, source: Path, size: int, mounted: dict[Path, bool]) -> list[str]:
        """A fresh bounded tmpfs at `workdir`, with the grader's files (from `source`) in it read-only.

        Nothing the kernel writes lands on the host's disk, nor survives the kernel: a restarted
        kernel starts from the grader's files again, and the grader never looks at what it left.
        """
        argv = _folders_above(workdir, mounted) + ["--perms", "0777", "--size", str(size), "--tmpfs", str(workdir)]
        mounted[workdir] = False
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            argv += ["--ro-bind", entry.path, str(workdir / entry.name)]
        return argv

    @staticmethod
    def _run_mounts(run: RunFolder | None, mounted: dict[Path, bool]) -> list[str]:
        if run is None:
            return []
        argv = _folders_above(run.folder, mounted)
        mounted[run.folder] = False
        return argv + [
            "--perms",
            "0755",
            "--dir",
            str(run.folder),
            "--ro-bind",
            str(run.connection),
            str(run.connection),
            "--bind",
            str(run.sockets),
            str(run.sockets),
            "--bind",
            str(run.result),
            str(run.result),
        ]

    def environment(self) -> dict[str, str]:
        """The kernel's whole environment: nothing of the grader's (tokens, paths) leaks in."""
        return kernel_environment(home="/tmp", matplotlib=MATPLOTLIB_FOLDER)

    def new_run_folder(self, workdir: Path | None = None) -> RunFolder:
        """A fresh folder for one kernel start, owned by the grader, with what the kernel may use."""
        return RunFolder.make(self.uid if self.mode == "root" else None, self.gid)

    def kernel_workdir(self, run: RunFolder, workdir: Path) -> Path:
        """Where the kernel works: at the grader's folder's own path (a fresh tmpfs over it)."""
        return workdir

    def share_connection_file(self, path: Path) -> None:
        """The connection file is written owner-only; the sandbox uid must read it (the file is
        fresh, in a folder only the grader can write, and changed through its descriptor)."""
        if self.mode == "root":
            give(path, self.uid, self.gid, 0o400, directory=False)

    def seal(self, run: RunFolder) -> None:
        """Once the kernel listens, take its socket folder back: it can no longer swap a socket for
        a link that the grader's reconnects would follow. (As a user, the kernel is the grader's
        own uid on the host, so there is nothing to take back from; see docs/security.md.)"""
        if self.mode == "root":
            give(run.sockets, 0, 0, 0o755, directory=True)

    def after_stop(self) -> None:
        """Nothing to do: killing bubblewrap ends the kernel's whole PID namespace."""


def kernel_environment(home: str, matplotlib: str) -> dict[str, str]:
    """A kernel's whole environment: nothing of the grader's (tokens, paths) leaks in."""
    python_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "MPLCONFIGDIR": matplotlib,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in THREAD_VARIABLES:  # one BLAS thread per kernel unless the instructor says otherwise
        env[name] = os.environ.get(name, "1")
    return env


def _system_links() -> list[str]:
    """/bin, /lib and friends: links into /usr on merged systems, read-only binds elsewhere."""
    argv: list[str] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        link = Path("/") / name
        if link.is_symlink():
            argv += ["--symlink", os.readlink(link), str(link)]
        elif link.is_dir() and name != "sbin":
            argv += ["--ro-bind", str(link), str(link)]
    return argv


def _folder_bytes(limits) -> int:
    """The kernel's writable folder holds at most its file-size limit, all files together."""
    file_mb = int(getattr(limits, "file_mb", 0) or 0) if limits is not None else 0
    return (file_mb or 256) * 1024 * 1024


@functools.lru_cache(maxsize=1)
def _matplotlib_cache() -> Path:
    """Where matplotlib keeps its caches on Linux, found without importing it (a tenth of a second)."""
    configured = os.environ.get("MPLCONFIGDIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matplotlib"


def _font_lists() -> tuple[Path, ...]:
    """The grader's own matplotlib font lists: without one, every sandboxed kernel spends a third
    of a second rebuilding it on `import matplotlib.pyplot`. Only when there is none yet is
    matplotlib imported, to build it."""
    with contextlib.suppress(OSError):
        found = tuple(sorted(_matplotlib_cache().glob("fontlist-*.json")))
        if found:
            return found
    try:
        import matplotlib
        from matplotlib import font_manager  # noqa: F401 - builds the grader's own cache when missing

        return tuple(sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json")))
    except Exception:  # noqa: BLE001 - only a speed-up; the kernel rebuilds the list without it
        return ()


def _font_list_mount() -> list[str]:
    """The font lists, read-only, in the kernel's matplotlib folder (a writable one in its /tmp)."""
    argv = ["--perms", "0777", "--dir", MATPLOTLIB_FOLDER]
    for font_list in _font_lists():
        argv += ["--ro-bind", str(font_list), f"{MATPLOTLIB_FOLDER}/{font_list.name}"]
    return argv


def _folders_above(path: Path, mounted: dict[Path, bool]) -> list[str]:
    """Create the folders above a mount point as 0755: bubblewrap would copy the host's modes, and
    a private folder (a 0700 home or pytest's temporary root) above it would lock the kernel out.
    /tmp exists already (an empty tmpfs), and so does anything inside a bound host folder, unless
    an empty cover lies between (a folder inside a cover must be made)."""
    argv = []
    for folder in reversed(path.parents):
        if folder in (Path("/"), Path("/tmp")) or folder in mounted:
            continue
        enclosing = [m for m in mounted if inside(folder, m)]
        if enclosing and mounted[max(enclosing, key=lambda m: len(m.parts))]:
            continue
        argv += ["--perms", "0755", "--dir", str(folder)]
    return argv


def limit_numbers(limits: Limits | None) -> list[int]:
    """The launcher's limits: CPU seconds, memory MB, processes, file MB (0: none)."""
    if limits is None:
        return [0, 0, 0, 0]
    return [
        int(limits.cpu_seconds or 0),
        int(limits.memory_mb or 0),
        int(limits.processes or 0),
        int(getattr(limits, "file_mb", 0) or 0),
    ]


def _workdir_from_command(command: list[str]) -> Path:
    """The folder of the kernel's connection file (`-f PATH`), which is the kernel's workdir."""
    for flag, value in zip(command, command[1:], strict=False):
        if flag == "-f":
            return Path(value).parent
    raise SandboxError("the kernel command names no connection file (-f), so its folder is unknown")
