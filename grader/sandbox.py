"""The OS sandbox around a student's kernel (Linux, bubblewrap).

The kernel sees the Python installation read-only, its own working directory, an empty /tmp and
nothing else: not the grader's checkout (reference solutions, cases, expected values), not the
home directory, not other submissions. It has its own PID, network (loopback only, down), IPC and
UTS namespaces, runs as the unprivileged uid 65534 in a user namespace of its own, and talks to
the grader over IPC sockets in its working directory.

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

MATPLOTLIB_FOLDER = ".matplotlib"
SANDBOX_UID = 65534
SANDBOX_GID = 65534
TMP_BYTES = 64 * 1024 * 1024  # the kernel's private /tmp lives in memory: keep it small
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# Runs inside the sandbox, before the kernel, with `python -I -S -c`: it cannot import the grader.
# argv: mode uid gid cpu_seconds memory_mb processes file_mb command...
LAUNCHER = r"""
import ctypes, os, resource, sys
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


class SandboxError(Exception):
    """The sandbox cannot be used for this kernel; the message says why."""


def project_checkout() -> Path:
    """The folder holding the grader package (and, in a checkout, the reference and the cases)."""
    return Path(__file__).resolve().parent.parent


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

    def wrap(self, command: list[str], limits=None, workdir: Path | None = None) -> list[str]:
        """The bubblewrap command line that runs `command` sandboxed, under `limits` (KernelLimits)."""
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
        argv += _folders_above(Path(workdir), binds)
        workdir = str(workdir)
        argv += ["--bind", workdir, workdir, "--chdir", workdir,
                 "--proc", "/proc", "--dev", "/dev",
                 "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--hostname", "sandbox", "--die-with-parent", "--new-session"]
        if self.mode == "root":
            argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            argv += ["--unshare-user", "--uid", str(self.uid), "--gid", str(self.gid), "--disable-userns"]
        argv += ["--clearenv"]
        environment = self.environment()
        environment["MPLCONFIGDIR"] = str(Path(workdir) / MATPLOTLIB_FOLDER)
        for name, value in environment.items():
            argv += ["--setenv", name, value]
        argv += ["--unsetenv", "JPY_PARENT_PID"]  # ipykernel quits when it cannot see that process
        numbers = _limit_numbers(limits)
        argv += [sys.executable, "-I", "-S", "-c", LAUNCHER, self.mode, str(self.uid), str(self.gid),
                 *map(str, numbers), *command]
        return argv

    def environment(self) -> dict[str, str]:
        """The kernel's whole environment: nothing of the grader's (tokens, paths) leaks in."""
        python_bin = str(Path(sys.executable).parent)
        env = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
               "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1"}
        for name in THREAD_VARIABLES:  # one BLAS thread per kernel unless the instructor says otherwise
            env[name] = os.environ.get(name, "1")
        return env

    def configure(self, km, workdir: Path) -> None:
        """Point the kernel manager at IPC sockets in `workdir` and let the sandbox uid write there."""
        workdir = Path(workdir)
        km.transport = "ipc"
        km.ip = str(workdir / "ipc")
        results = workdir / ".results"
        results.mkdir(exist_ok=True)
        fonts = _seed_matplotlib_cache(workdir / MATPLOTLIB_FOLDER)
        if self.mode == "root":
            for path in (workdir, results, fonts, *fonts.iterdir()):
                os.chown(path, self.uid, self.gid)

    def share_connection_file(self, path: Path) -> None:
        """The connection file is written owner-only; the sandbox uid must read it."""
        if self.mode == "root":
            os.chown(path, self.uid, self.gid)

    def describe(self) -> str:
        return (f"bubblewrap sandbox ({'root, dropping to' if self.mode == 'root' else 'user namespace,'} "
                f"uid {self.uid})")


def _seed_matplotlib_cache(folder: Path) -> Path:
    """Give the kernel a copy of matplotlib's font list: without one, every sandboxed kernel spends
    a third of a second rebuilding it on `import matplotlib.pyplot`."""
    folder.mkdir(exist_ok=True)
    try:
        import matplotlib
        from matplotlib import font_manager  # noqa: F401 - builds the grader's own cache when missing

        for cached in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copy2(cached, folder / cached.name)
    except Exception:  # noqa: BLE001 - only a speed-up; the kernel rebuilds the list without it
        pass
    return folder


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
        readable = tuple(readable_paths([project_checkout()]))
    except SandboxError as error:
        return None, str(error)
    sandbox = Sandbox(bwrap=bwrap, mode="root" if os.geteuid() == 0 else "user", readable=readable)
    workdir = Path(tempfile.mkdtemp(prefix="grader-probe-"))
    try:
        os.chmod(workdir, 0o755)
        if sandbox.mode == "root":
            os.chown(workdir, sandbox.uid, sandbox.gid)
        check = f"import os; print(os.getuid(), os.path.exists({str(project_checkout())!r}))"
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
