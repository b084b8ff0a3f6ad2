"""The OS sandbox around a student's kernel (Linux, bubblewrap).

The kernel sees the Python installation read-only, its working directory (a bounded tmpfs with
the grader's files in it read-only), an empty /tmp and nothing else: not the grader's checkout
(reference solutions, cases, expected values), not the home directory, not other submissions. It
has its own PID, network (loopback only, down), IPC and UTS namespaces, runs as the unprivileged
uid 65534 in a user namespace of its own (and may make none below it), and talks to the grader
over IPC sockets in a run folder the grader made for this start (see RunFolder).

Why a user namespace of its own: RLIMIT_NPROC (the cap on processes) is counted per user and per
user namespace, and never applies to processes whose real uid is root. So a kernel that ran as
root, or as a uid shared with other kernels, could not be capped. Here every kernel is uid 65534
(never root) inside a fresh user namespace, where the count covers that kernel's processes only.

Two routes to the same sandbox:
- as root, bubblewrap builds the mounts and namespaces, then a tiny launcher inside drops to uid
  65534, creates the user namespace, sets the limits and becomes the kernel;
- as an ordinary user, bubblewrap itself creates the user namespace (`--unshare-user`), and the
  launcher only sets the limits.
"""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError

MATPLOTLIB_FOLDER = "/tmp/matplotlib"  # in the kernel's private /tmp
SANDBOX_UID = 65534
SANDBOX_GID = 65534
TMP_BYTES = 64 * 1024 * 1024  # the kernel's private /tmp lives in memory: keep it small
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# Runs inside the sandbox, before the kernel, with `python -I -S -c`: it cannot import the grader.
# argv: mode uid gid cpu_seconds memory_mb processes file_mb command...
LAUNCHER = r"""
import ctypes, os, resource, struct, sys
mode, uid, gid, cpu, memory, processes, size = sys.argv[1], *map(int, sys.argv[2:8])
command = sys.argv[8:]
if mode == "root":
    libc = ctypes.CDLL(None, use_errno=True)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: lets us write our own uid_map below
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        raise OSError(ctypes.get_errno(), "cannot create the kernel's user namespace")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)
# No user namespace below this one, in either mode: inside one, a kernel could mount a tmpfs the
# memory limits do not see, and rearrange its file system. A seccomp filter refuses unshare and
# clone with CLONE_NEWUSER (EPERM), clone3 (ENOSYS, so the C library falls back to clone), and
# every call of another architecture's table (x32, i386), whose numbers it would not check.
arch, calls = {"x86_64": (0xC000003E, (56, 272)), "aarch64": (0xC00000B7, (220, 97))}[os.uname().machine]
allow, deny, nosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
program = [(0x20, 0, 0, 4), (0x15, 0, 9, arch), (0x20, 0, 0, 0), (0x35, 7, 0, 0x40000000),
           (0x15, 7, 0, 435), (0x15, 2, 0, calls[1]), (0x15, 1, 0, calls[0]), (0x06, 0, 0, allow),
           (0x20, 0, 0, 16), (0x45, 1, 0, 0x10000000), (0x06, 0, 0, allow), (0x06, 0, 0, deny),
           (0x06, 0, 0, nosys)]
filters = (ctypes.c_uint64 * len(program))(*[code | jt << 16 | jf << 24 | k << 32 for code, jt, jf, k in program])
fprog = struct.pack("HxxxxxxP", len(program), ctypes.addressof(filters))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) != 0:
    raise OSError(ctypes.get_errno(), "cannot forbid nested user namespaces")  # PR_SET_NO_NEW_PRIVS, SECCOMP
def cap(kind, value, slack=0):
    if value > 0:
        resource.setrlimit(kind, (value, value + slack))
cap(resource.RLIMIT_CPU, cpu, 5)
cap(resource.RLIMIT_AS, memory * 1024 * 1024)
cap(resource.RLIMIT_NPROC, processes)
cap(resource.RLIMIT_FSIZE, size * 1024 * 1024)
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execv(command[0], command)
"""


class SandboxError(GraderError):
    """The sandbox cannot be used for this kernel; the message says why."""


def project_checkout() -> Path:
    """The folder holding the grader package (and, in a checkout, the reference and the cases)."""
    return Path(__file__).resolve().parents[2]


def hidden_folders() -> list[Path]:
    """What the kernel must not see: the grader's checkout (reference, cases, expected values).
    A wheel install has no checkout: the grader's folder is site-packages, which the kernel needs
    and which holds nothing of an assignment (Gradescope's setup.sh installs it that way)."""
    folder = project_checkout()
    return [] if folder.name in ("site-packages", "dist-packages") else [folder]


def _python_paths() -> list[Path]:
    """What the kernel's interpreter needs: its installation, and its site-packages."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"],
                  sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                  str(Path(sys.executable).parent)}
    candidates.update(site.getsitepackages())
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        candidates.add(site.getusersitepackages())
    found = []
    for candidate in candidates:
        for path in (Path(candidate), Path(candidate).resolve()):
            if path.is_dir() and path not in found:
                found.append(path)
    return found


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def readable_paths(hidden: list[Path]) -> list[Path]:
    """The host folders the kernel may read: /usr and Python's, never a parent of a hidden one.

    A folder that holds a hidden one (say, a virtual environment's parent that is the project
    checkout) cannot be shown without showing what it holds, so the sandbox refuses it.
    """
    chosen: list[Path] = [Path("/usr")]
    for path in sorted(_python_paths(), key=lambda p: len(p.parts)):
        if any(_inside(path, done) for done in chosen):
            continue
        for secret in hidden:
            if _inside(secret, path):
                raise SandboxError(f"the Python installation folder {path} contains {secret}, which the "
                                   "student's kernel must not see: install the grader elsewhere, or use "
                                   "--no-sandbox")
        chosen.append(path)
    return chosen


@dataclass(frozen=True)
class Sandbox:
    """How to run one kernel command inside bubblewrap; one object serves every kernel."""

    bwrap: str
    mode: str  # "root": bubblewrap runs as root, the launcher drops privileges; "user": unprivileged
    readable: tuple[Path, ...]
    uid: int = SANDBOX_UID
    gid: int = SANDBOX_GID

    def wrap(self, command: list[str], limits=None, workdir: Path | None = None,
             run: RunFolder | None = None) -> list[str]:
        """The bubblewrap command line that runs `command` sandboxed, under `limits` (KernelLimits).

        `workdir` holds the files the kernel reads: the kernel sees each of them read-only, in a
        fresh in-memory folder of bounded size at the same path, where it may write. `run` is this
        start's folder of connection file, sockets and result file, shown at the same paths too.
        """
        if workdir is None:
            workdir = _workdir_from_command(command)
        argv = [self.bwrap, "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
        binds: set[Path] = set()
        for path in self.readable:
            argv += _folders_above(path, binds) + ["--ro-bind", str(path), str(path)]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            link = Path("/") / name
            if link.is_symlink():
                argv += ["--symlink", os.readlink(link), str(link)]
            elif link.is_dir() and name != "sbin":
                argv += ["--ro-bind", str(link), str(link)]
        argv += self._workdir_mounts(Path(workdir), _folder_bytes(limits), binds)
        argv += self._run_mounts(run, binds) + _font_list_mount()
        workdir = str(workdir)
        argv += ["--chdir", workdir, "--proc", "/proc", "--dev", "/dev",
                 "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--hostname", "sandbox", "--die-with-parent", "--new-session"]
        if self.mode == "root":
            argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            argv += ["--unshare-user", "--uid", str(self.uid), "--gid", str(self.gid), "--disable-userns"]
        argv += ["--clearenv"]
        for name, value in self.environment().items():
            argv += ["--setenv", name, value]
        argv += ["--unsetenv", "JPY_PARENT_PID"]  # ipykernel quits when it cannot see that process
        numbers = _limit_numbers(limits)
        argv += [sys.executable, "-I", "-S", "-c", LAUNCHER, self.mode, str(self.uid), str(self.gid),
                 *map(str, numbers), *command]
        return argv

    @staticmethod
    def _workdir_mounts(workdir: Path, size: int, binds: set[Path]) -> list[str]:
        """A fresh bounded tmpfs at `workdir`, with the grader's files in it read-only.

        Nothing the kernel writes lands on the host's disk, nor survives the kernel: a restarted
        kernel starts from the grader's files again, and the grader never looks at what it left.
        """
        argv = _folders_above(workdir, binds) + ["--perms", "0777", "--size", str(size), "--tmpfs", str(workdir)]
        for entry in sorted(os.scandir(workdir), key=lambda e: e.name):
            argv += ["--ro-bind", entry.path, entry.path]
        return argv

    @staticmethod
    def _run_mounts(run: RunFolder | None, binds: set[Path]) -> list[str]:
        if run is None:
            return []
        return (_folders_above(run.folder, binds) + ["--perms", "0755", "--dir", str(run.folder),
                                                     "--ro-bind", str(run.connection), str(run.connection),
                                                     "--bind", str(run.sockets), str(run.sockets),
                                                     "--bind", str(run.result), str(run.result)])

    def environment(self) -> dict[str, str]:
        """The kernel's whole environment: nothing of the grader's (tokens, paths) leaks in."""
        python_bin = str(Path(sys.executable).parent)
        env = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
               "MPLCONFIGDIR": MATPLOTLIB_FOLDER, "PYTHONDONTWRITEBYTECODE": "1"}
        for name in THREAD_VARIABLES:  # one BLAS thread per kernel unless the instructor says otherwise
            env[name] = os.environ.get(name, "1")
        return env

    def new_run_folder(self) -> RunFolder:
        """A fresh folder for one kernel start, owned by the grader, with what the kernel may use."""
        return RunFolder.make(self.uid if self.mode == "root" else None, self.gid)

    def share_connection_file(self, path: Path) -> None:
        """The connection file is written owner-only; the sandbox uid must read it (the file is
        fresh, in a folder only the grader can write, and changed through its descriptor)."""
        if self.mode == "root":
            _give(path, self.uid, self.gid, 0o400, directory=False)

    def seal(self, run: RunFolder) -> None:
        """Once the kernel listens, take its socket folder back: it can no longer swap a socket for
        a link that the grader's reconnects would follow. (As a user, the kernel is the grader's
        own uid on the host, so there is nothing to take back from; see the README.)"""
        if self.mode == "root":
            _give(run.sockets, 0, 0, 0o755, directory=True)

    def describe(self) -> str:
        from grader.kernel import cgroups

        return (f"bubblewrap sandbox ({'root, dropping to' if self.mode == 'root' else 'user namespace,'} "
                f"uid {self.uid}; {cgroups.description()})")


@dataclass(frozen=True)
class RunFolder:
    """One kernel start's files on the host, in a folder that only the grader can write.

    The kernel reads the connection file, listens in `sockets` and writes its results into the one
    file `result`, all bind-mounted by the sandbox; the folder itself, and so every path the
    grader uses, is out of its reach. It is made fresh for every start and removed after it.
    """

    folder: Path
    connection: Path
    sockets: Path
    result: Path

    @classmethod
    def make(cls, uid: int | None = None, gid: int | None = None) -> RunFolder:
        """Make the folder; `uid`, when given, is the sandbox uid that gets the sockets and result."""
        folder = Path(tempfile.mkdtemp(prefix="grader-run-"))
        run = cls(folder, folder / "connection.json", folder / "sockets", folder / "result.npz")
        run.sockets.mkdir(mode=0o700)
        descriptor = os.open(run.result, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(descriptor)
        if uid is not None:
            _give(run.sockets, uid, gid, 0o700, directory=True)
            _give(run.result, uid, gid, 0o600, directory=False)
        return run

    def clear_result(self) -> Path:
        """Empty the result file before a call, so that nothing stale is read after it."""
        descriptor = os.open(self.result, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        os.close(descriptor)
        return self.result

    def remove(self) -> None:
        """Delete the folder; shutil.rmtree never follows a link below the folder it is given."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _give(path: Path, uid: int, gid: int | None, mode: int, directory: bool) -> None:
    """chown and chmod through a descriptor opened without following a link."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if directory else 0)
    descriptor = os.open(path, flags)
    try:
        os.fchown(descriptor, uid, uid if gid is None else gid)
        os.fchmod(descriptor, mode)
    finally:
        os.close(descriptor)


def _folder_bytes(limits) -> int:
    """The kernel's writable folder holds at most its file-size limit, all files together."""
    file_mb = int(getattr(limits, "file_mb", 0) or 0) if limits is not None else 0
    return (file_mb or 256) * 1024 * 1024


@functools.lru_cache(maxsize=1)
def _font_lists() -> tuple[Path, ...]:
    """The grader's own matplotlib font lists: without one, every sandboxed kernel spends a third
    of a second rebuilding it on `import matplotlib.pyplot`."""
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


def _folders_above(path: Path, binds: set[Path]) -> list[str]:
    """Create the folders above a mount point as 0755: bubblewrap would copy the host's modes, and
    a private folder (a 0700 home or pytest's temporary root) above it would lock the kernel out.
    /tmp exists already (an empty tmpfs), and so does anything inside an earlier bind."""
    argv = []
    for folder in reversed(path.parents):
        if folder not in (Path("/"), Path("/tmp")) and not any(_inside(folder, bind) for bind in binds):
            argv += ["--perms", "0755", "--dir", str(folder)]
    binds.add(path)
    return argv


def _limit_numbers(limits) -> tuple[int, int, int, int]:
    if limits is None:
        return (0, 0, 0, 0)
    return (int(limits.cpu_seconds or 0), int(limits.memory_mb or 0), int(limits.processes or 0),
            int(getattr(limits, "file_mb", 0) or 0))


def _workdir_from_command(command: list[str]) -> Path:
    """The folder of the kernel's connection file (`-f PATH`), which is the kernel's workdir."""
    for flag, value in zip(command, command[1:], strict=False):
        if flag == "-f":
            return Path(value).parent
    raise SandboxError("the kernel command names no connection file (-f), so its folder is unknown")


_lock = threading.Lock()
_probed: dict[str, Sandbox | None] = {}
_reason: dict[str, str] = {}


def choose_sandbox(disabled: bool) -> Sandbox | None:
    """The sandbox to run kernels in, or None when disabled or when none works on this machine."""
    if disabled:
        _reason["last"] = "disabled with --no-sandbox"
        return None
    with _lock:
        if "result" not in _probed:
            sandbox, reason = _probe()
            _probed["result"] = sandbox
            _reason["probe"] = reason
        _reason["last"] = _reason["probe"]
        return _probed["result"]


def unavailable_reason() -> str:
    """Why the last choose_sandbox call returned None ('' when it returned a sandbox)."""
    return _reason.get("last", "")


def _probe() -> tuple[Sandbox | None, str]:
    """Build the sandbox for this machine and run a tiny Python in it once."""
    if not sys.platform.startswith("linux"):
        return None, f"no sandbox on {sys.platform}: kernels run with your own rights"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None, "bubblewrap is not installed (apt install bubblewrap)"
    try:
        readable = tuple(readable_paths(hidden_folders()))
    except SandboxError as error:
        return None, str(error)
    sandbox = Sandbox(bwrap=bwrap, mode="root" if os.geteuid() == 0 else "user", readable=readable)
    workdir = Path(tempfile.mkdtemp(prefix="grader-probe-"))
    try:
        os.chmod(workdir, 0o755)
        probe_path = str((hidden_folders() or [project_checkout() / "grader-probe-absent"])[0])
        check = f"import os; print(os.getuid(), os.path.exists({probe_path!r}))"
        command = sandbox.wrap([sys.executable, "-c", check], workdir=workdir)
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=workdir)
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"bubblewrap could not run here ({error})"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if done.returncode != 0 or done.stdout.split() != [str(sandbox.uid), "False"]:
        detail = (done.stderr.strip().splitlines() or [done.stdout.strip() or f"exit status {done.returncode}"])[-1]
        return None, f"bubblewrap is installed but cannot build the sandbox here ({detail})"
    return sandbox, ""
