"""Kernels forked from a zygote: the start-up (ipykernel, IPython, zmq, the setup cell's modules) paid
once per worker, the sandbox of every kernel the same as a fresh one's.

The zygote (grader/kernel/forkserver.py) runs in a bubblewrap sandbox of its own, built like a
kernel's: it sees the Python installation read-only, the same covers over the hidden folders, its
own /tmp, and one more folder, this worker's *slots* (made here, private to root), where the run
folder of each kernel start is made with links to the grader's files of that start. It keeps the
capabilities it needs to build sandboxes (CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID) and nothing else.

A kernel start is a small client (CLIENT) that the kernel manager runs in place of bubblewrap, with
the very command line bubblewrap would have been given. It hands the zygote that command line, its
standard streams and the kernel's control-group files, waits, and exits as the kernel did; killing
it kills the kernel's whole PID namespace. The zygote forks a fresh child for it, which builds the
kernel's sandbox from that command line (see forkserver.py). No child is ever used twice.

Only for root's bubblewrap mode: elsewhere kernels start fresh. GRADER_KERNEL_START says when
(see start_mode and docs/security.md).
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import multiprocessing.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import UserError
from grader.kernel.runfolder import RunFolder
from grader.kernel.sandbox import (
    LAUNCHER,
    Sandbox,
    SandboxError,
    _folders_above,
    _font_list_mount,
    _font_lists,
)

if TYPE_CHECKING:
    from grader.model import Limits

START_VARIABLE = "GRADER_KERNEL_START"  # "zygote": fork kernels from a zygote per worker; "fresh" (default)
FORKSERVER = (Path(__file__).parent / "forkserver.py").read_text()
# What every kernel imports before any student code: ipykernel's application, its kernel and its
# debugger (debugpy, a third of a kernel's start-up), IPython's history store, and numpy (the harness);
# then what the kernel's start and its first cells import besides (IPython's debugger and inspector,
# its %run/%time magics, tornado's asyncio loop, numpy.random, which the child reseeds).
MACHINERY = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",  # loaded without debugpy (forkserver.preload), as grader/kernel/kernelmain.py does
    "sqlite3",
    "numpy",
    "numpy.random",
    "IPython.core.debugger",
    "IPython.core.completerlib",
    "IPython.core.oinspect",
    "IPython.core.magics.execution",
    "IPython.extensions.storemagic",
    "tornado.platform.asyncio",
)
ZYGOTE_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID")
BASE = "/.zygote"  # forkserver.BASE: where each kernel's root is built
FILES = "files"  # in a run folder: links to the grader's files of that start
READY_SECONDS = 120
# The client of one kernel start: it imports only what Python has loaded already and _socket
# (ctypes and socket, which the first version imported, were two thirds of its 33 ms of CPU).
CLIENT = """
import os, sys, _socket
try:
    with open("/proc/self/comm", "w") as handle:  # a helper of the grader's, as bubblewrap's own process
        handle.write("zygote")
except OSError:
    pass
path, request = sys.argv[1], sys.argv[2]
fds = [0, 1, 2] + [os.open(name, os.O_WRONLY | os.O_CLOEXEC) for name in sys.argv[3:]]
connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
descriptors = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
try:
    connection.connect(path)
    connection.sendmsg([request.encode()], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, descriptors)])
except OSError as error:
    sys.exit(f"zygote: {error}")
for fd in fds[3:]:
    os.close(fd)
answer = b""
while len(answer) < 4:
    chunk = connection.recv(4 - len(answer))
    if not chunk:
        sys.exit("zygote: the kernel's watcher went away")
    answer += chunk
sys.exit(int.from_bytes(answer, sys.byteorder, signed=True))
"""


START_MODES = ("zygote", "fresh", "auto")


def start_mode() -> str:
    """GRADER_KERNEL_START: "zygote" (every command, or refused), "fresh" (never), or "auto", the
    default: the commands that start many kernels per process (a batch's workers) fork them."""
    value = os.environ.get(START_VARIABLE, "").strip().lower() or "auto"
    if value not in START_MODES:
        raise UserError(f"{START_VARIABLE}={value}: say zygote, fresh or auto (the default)")
    return value


def wanted() -> bool:
    """Whether every kernel of this process is to be forked from a zygote (GRADER_KERNEL_START=zygote)."""
    return start_mode() == "zygote"


@dataclass(frozen=True)
class ZygoteSandbox(Sandbox):
    """The bubblewrap sandbox, each kernel forked from this worker's zygote instead of started fresh."""

    preload: tuple[str, ...] = ()  #: modules of the setup cell to import in the zygote, besides MACHINERY
    machinery: bool = True  #: import MACHINERY too (the probe's zygote, whose Python is no kernel, does not)

    def preloading(self, modules: tuple[str, ...]) -> ZygoteSandbox:
        return dataclasses.replace(self, preload=tuple(dict.fromkeys((*self.preload, *modules))))

    def new_run_folder(self, workdir: Path | None = None) -> RunFolder:
        """The start's run folder in the zygote's slots, holding links to the grader's files."""
        if self.mode != "root":
            return super().new_run_folder(workdir)
        run = RunFolder.make(self.uid, self.gid, parent=zygote_for(self).slots)
        if workdir is not None:
            _link_tree(Path(workdir), run.folder / FILES)
        return run

    def workdir_source(self, run: RunFolder | None, workdir: Path) -> Path:
        files = run.folder / FILES if run is not None else None
        return files if files is not None and files.is_dir() else workdir

    def wrap(
        self,
        command: list[str],
        limits: Limits | None = None,
        workdir: Path | None = None,
        run: RunFolder | None = None,
        cgroup_files: tuple[str, ...] = (),
    ) -> list[str]:
        """The client's command line: it hands bubblewrap's command line to the zygote. Without a
        run folder made by this launcher (the zygote sees no other folder), or as an ordinary user,
        the kernel starts fresh in bubblewrap."""
        argv = super().wrap(command, limits, workdir, run)
        if self.mode != "root" or run is None or not (run.folder / FILES).is_dir():
            return argv
        zygote = zygote_for(self)
        request = json.dumps({"argv": argv[1:]})
        return [sys.executable, "-I", "-S", "-c", CLIENT, str(zygote.socket), request, *cgroup_files]


def fresh_kernels(launcher):
    """The same sandbox with kernels started fresh: where one kernel is started (a self-check), a
    zygote would cost more than it saves."""
    if isinstance(launcher, ZygoteSandbox):
        return Sandbox(launcher.bwrap, launcher.mode, launcher.mounts, launcher.uid, launcher.gid)
    return launcher


class Zygote:
    """One zygote process, its slots folder and its socket; started by `zygote_for`."""

    def __init__(self, sandbox: ZygoteSandbox):
        _remove_stale_slots()
        self.slots = Path(tempfile.mkdtemp(prefix=f"grader-zygote-{os.getpid()}-", dir="/tmp"))
        self.socket = self.slots / "zygote.sock"
        self.log = self.slots / "zygote.log"
        modules = list(dict.fromkeys((*(MACHINERY if sandbox.machinery else ()), *sandbox.preload)))
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                zygote_command(sandbox, self.slots, self.socket, modules),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd="/",
            )
        assert self.process.stdout is not None
        line = _read_line(self.process.stdout, READY_SECONDS)
        if line.strip() != b"ready":
            said = self.log.read_text(errors="replace").strip().splitlines()
            self.stop()
            raise SandboxError(f"the zygote did not start: {said[-1] if said else 'no answer'}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Close its input (it stops), kill its sandbox, remove its slots."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.slots, ignore_errors=True)


def _remove_stale_slots() -> None:
    """The slots of workers that died without removing them (killed: their zygote died with them)."""
    for folder in Path("/tmp").glob("grader-zygote-*-*"):
        owner = folder.name.split("-")[2]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def _read_line(stream, seconds: float) -> bytes:
    """The zygote's first line, or b"" when it says nothing in time."""
    found: list[bytes] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    return found[0] if found else b""


def zygote_command(sandbox: Sandbox, slots: Path, socket: Path, modules: list[str]) -> list[str]:
    """bubblewrap around the zygote: a kernel's file system, plus its slots and the grader's font
    lists at their own paths (a kernel's command line names them there), and the capabilities to
    build sandboxes."""
    mounted: dict[Path, bool] = {}
    argv = [sandbox.bwrap, *sandbox.file_system(mounted)]
    argv += _folders_above(slots, mounted) + ["--bind", str(slots), str(slots)]
    for font_list in _font_lists():
        argv += ["--ro-bind", str(font_list), str(font_list)]
    argv += _font_list_mount() + ["--perms", "0755", "--dir", BASE]
    argv += ["--chdir", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-net"]
    argv += ["--unshare-ipc", "--unshare-uts", "--hostname", "sandbox", "--die-with-parent", "--new-session"]
    argv += ["--cap-drop", "ALL"] + [part for cap in ZYGOTE_CAPABILITIES for part in ("--cap-add", cap)]
    argv += ["--clearenv"]
    for name, value in sandbox.environment().items():
        argv += ["--setenv", name, value]
    return argv + [sys.executable, "-c", FORKSERVER, str(socket), json.dumps(modules), LAUNCHER]


def _link_tree(source: Path, target: Path) -> None:
    """The grader's files of one start, linked (copied across file systems) into its run folder."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            shutil.copy2(src, dst, follow_symlinks=False)

    shutil.copytree(source, target, symlinks=True, copy_function=link)


_lock = threading.Lock()
_zygotes: dict[tuple[int, ZygoteSandbox], Zygote] = {}


def zygote_for(sandbox: ZygoteSandbox) -> Zygote:
    """This process's zygote for `sandbox`, started (again) when there is none alive."""
    key = (os.getpid(), sandbox)
    with _lock:
        zygote = _zygotes.get(key)
        if zygote is not None and not zygote.alive():
            zygote.stop()
            zygote = None
        if zygote is None:
            _stop_at_exit()
            zygote = Zygote(sandbox)
            _zygotes[key] = zygote
        return zygote


def stop_zygotes() -> None:
    """Stop every zygote this process started (at exit, and after a probe)."""
    with _lock:
        for key in [key for key in _zygotes if key[0] == os.getpid()]:
            _zygotes.pop(key).stop()


atexit.register(stop_zygotes)
_finalizing: set[int] = set()


def _stop_at_exit() -> None:
    """A worker of a multiprocessing pool ends without atexit (and forgets the finalizers of the
    process it was forked from): stop its zygotes among its own finalizers, so that their slots
    are removed and their time reaches the worker's accounts."""
    if os.getpid() not in _finalizing:
        _finalizing.add(os.getpid())
        multiprocessing.util.Finalize(None, stop_zygotes, exitpriority=10)
