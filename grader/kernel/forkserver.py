"""The zygote: a Python that imported the kernel's machinery once and forks one fresh sandboxed kernel per start.

Its source is passed to `python -c` inside a bubblewrap sandbox of its own (grader/kernel/zygote.py
builds it like a kernel's, keeping the capabilities it needs to build the kernels' sandboxes). It
imports only the standard library, then the modules it is told to preload from the Python paths,
and never runs a student's code. For each kernel start the grader's client (CLIENT in zygote.py)
sends it, over a socket only root can reach, the very bubblewrap command line a fresh kernel would
have been started with, and the client's standard streams and control-group files. Then:

- a first child joins the kernel's control groups and unshares a new PID namespace; it waits for
  the kernel and reports its exit status to the client, and kills the kernel's whole PID namespace
  when the client goes away (bubblewrap's --die-with-parent);
- its child is PID 1 of the new namespace (bubblewrap's init): in new mount, network, IPC, UTS and
  cgroup namespaces it builds a new root from that command line exactly as bubblewrap would (the
  same mounts, folders, links, /proc and /dev), moves into it, detaching the zygote's file system
  whole, and forks the kernel, whose exit status it passes on as bubblewrap does (128 + N for a
  signal N);
- the kernel (PID 2) closes every descriptor but its standard streams, takes the environment of the
  command line, runs the launcher's own code (uid 65534, its own user namespace, no_new_privs,
  seccomp, the limits) and only then starts the kernel from the modules already imported.

Command line: `python -c SOURCE SOCKET PRELOAD_JSON LAUNCHER_SOURCE`.
"""

import ctypes
import json
import os
import select
import socket
import struct
import sys

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH, PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NAME = 2, 1, 4, 15
HELPER_NAME = b"zygote"  # the zygote's and its helpers' process name; a kernel's is its program's
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
CAPSET = {"x86_64": 126, "aarch64": 91}
BASE = "/.zygote"  # an empty folder of the zygote's sandbox, where each kernel's root is built
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
COVERED_PROC = ("sys", "sysrq-trigger", "irq", "bus")
MAX_REQUEST = 1 << 20
# bubblewrap's options that the grader's command lines use, and how many arguments each takes
OPTIONS = {
    "--perms": 1, "--size": 1, "--tmpfs": 1, "--ro-bind": 2, "--bind": 2, "--dir": 1, "--symlink": 2,
    "--chdir": 1, "--proc": 1, "--dev": 1, "--hostname": 1, "--cap-drop": 1, "--cap-add": 1,
    "--setenv": 2, "--unsetenv": 1, "--clearenv": 0, "--unshare-pid": 0, "--unshare-net": 0,
    "--unshare-ipc": 0, "--unshare-uts": 0, "--unshare-cgroup-try": 0, "--die-with-parent": 0,
    "--new-session": 0,
}  # fmt: skip
libc = ctypes.CDLL(None, use_errno=True)
launcher: dict = {}  # the launcher's own functions (drop_to, own_user_namespace, forbid, cap)


def fail(what: str) -> None:
    error = ctypes.get_errno()
    raise OSError(error, f"{what}: {os.strerror(error)}")


def mount(source, target: str, kind, flags: int, data=None) -> None:
    def encode(text):
        return None if text is None else text.encode()

    if libc.mount(encode(source), target.encode(), encode(kind), flags, encode(data)) != 0:
        fail(f"mount {target}")


def parse(argv: list) -> dict:
    """The bubblewrap command line, read: its steps in order, and the launcher's spec and command."""
    steps, at = [], 0
    while at < len(argv) and argv[at].startswith("--"):
        name = argv[at]
        if name not in OPTIONS:
            raise ValueError(f"the zygote does not know bubblewrap's {name}")
        steps.append((name, argv[at + 1 : at + 1 + OPTIONS[name]]))
        at += 1 + OPTIONS[name]
    rest = argv[at:]
    if len(rest) < 8 or rest[1:4] != ["-I", "-S", "-c"] or rest[6] != "--":
        raise ValueError("the zygote got no launcher command")
    return {"steps": steps, "spec": json.loads(rest[5]), "command": rest[7:]}


def inside(root: str, path: str) -> str:
    """`path` of the new root, refused if any folder on the way is a link (it could lead out)."""
    target = root + path
    if os.path.realpath(os.path.dirname(target)) != os.path.dirname(target):
        raise ValueError(f"{path}: a link on the way")
    return target


def make_parents(target: str) -> None:
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        make_parents(parent)
        os.mkdir(parent, 0o755)
        os.chmod(parent, 0o755)


def bind(source: str, target: str, flags: int) -> None:
    """bubblewrap's bind: the same kind of mount point, the source bound, then the mount's own flags."""
    make_parents(target)
    if not os.path.lexists(target):
        if os.path.isdir(source):
            os.mkdir(target, 0o755)
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444))
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | flags)


def tmpfs(target: str, perms: int, size) -> None:
    make_parents(target)
    if not os.path.isdir(target):
        os.mkdir(target, 0o755)
    data = f"mode={perms:o}" + (f",size={size}" if size else "")
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data)


def proc(target: str) -> None:
    make_parents(target)
    os.makedirs(target, 0o755, exist_ok=True)
    mount("proc", target, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV)
    for name in COVERED_PROC:  # as bubblewrap: the old writable corners read-only (all of them, always)
        path = f"{target}/{name}"
        if os.path.exists(path):
            mount(path, path, None, MS_BIND | MS_REC)
            mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def dev(target: str) -> None:
    """bubblewrap's --dev: a fresh /dev with the harmless devices, a private devpts and an empty shm."""
    tmpfs(target, 0o755, None)
    for name in DEVICES:
        bind(f"/dev/{name}", f"{target}/{name}", MS_NOSUID)
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{number}", f"{target}/{name}")
    os.symlink("/proc/self/fd", f"{target}/fd")
    os.symlink("/proc/kcore", f"{target}/core")
    os.mkdir(f"{target}/shm", 0o755)
    os.mkdir(f"{target}/pts", 0o755)
    mount("devpts", f"{target}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    os.symlink("pts/ptmx", f"{target}/ptmx")


def build_root(steps: list) -> dict:
    """Make the kernel's file system from bubblewrap's steps, move into it; return the rest of the setting."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV)
    root = BASE + "/newroot"
    os.mkdir(root, 0o755)
    mount(root, root, None, MS_BIND)
    mount(None, root, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    setting: dict = {"env": dict(os.environ), "chdir": "/", "hostname": None}
    perms, size = None, None
    for name, args in steps:
        if name == "--perms":
            perms = int(args[0], 8)
            continue
        if name == "--size":
            size = int(args[0])
            continue
        apply(root, name, args, perms, size, setting)
        perms, size = None, None
    os.chdir(root)
    if libc.syscall(PIVOT_ROOT[os.uname().machine], b".", b".") != 0:
        fail("pivot_root")
    if libc.umount2(b".", MNT_DETACH) != 0:  # the zygote's whole file system, the slots folder with it
        fail("umount the zygote's root")
    os.chdir("/")
    setting["env"]["PWD"] = setting["chdir"]  # as bubblewrap sets it
    return setting


def apply(root: str, name: str, args: list, perms, size, setting: dict) -> None:
    """One step of bubblewrap's command line."""
    if name == "--tmpfs":
        tmpfs(inside(root, args[0]), 0o755 if perms is None else perms, size)
    elif name in ("--ro-bind", "--bind"):
        flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if name == "--ro-bind" else 0)
        bind(args[0], inside(root, args[1]), flags)
    elif name == "--dir":
        target = inside(root, args[0])
        make_parents(target)
        if not os.path.isdir(target):
            os.mkdir(target, 0o755)
        os.chmod(target, 0o755 if perms is None else perms)
    elif name == "--symlink":
        target = inside(root, args[1])
        make_parents(target)
        os.symlink(args[0], target)
    elif name == "--proc":
        proc(inside(root, args[0]))
    elif name == "--dev":
        dev(inside(root, args[0]))
    elif name == "--chdir":
        setting["chdir"] = args[0]
    elif name == "--hostname":
        setting["hostname"] = args[0]
    elif name == "--clearenv":
        setting["env"] = {}
    elif name == "--setenv":
        setting["env"][args[0]] = args[1]
    elif name == "--unsetenv":
        setting["env"].pop(args[0], None)


# ----------------------------------------------------------------------------------------------
# The kernel (PID 2 of its namespace)


def close_all_but_stdio() -> None:
    for name in os.listdir("/proc/self/fd"):
        if int(name) > 2:
            try:
                os.close(int(name))
            except OSError:
                pass


def become(request: dict, setting: dict) -> None:
    """Run the launcher's steps, then be the command: never returns."""
    code = 1
    try:
        os.setsid()  # bubblewrap's --new-session
        close_all_but_stdio()
        libc.prctl(PR_SET_NAME, os.path.basename(sys.executable).encode()[:15], 0, 0, 0)  # as executing it names it
        os.environ.clear()
        os.environ.update(setting["env"])
        spec = request["spec"]
        launcher["drop_to"](int(spec["uid"]), int(spec["gid"]))
        launcher["own_user_namespace"](libc, int(spec["uid"]), int(spec["gid"]))
        launcher["forbid"](libc)
        launcher["cap"]([int(n) for n in spec["limits"]])
        drop_capabilities()  # what executing the kernel's program does: none left, even in its own namespace
        code = run_command(request["command"])
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - whatever the command raised, as Python itself would say it
        import traceback

        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def reseed() -> None:
    """Fresh random states: a fresh Python seeds them from the system when they are imported."""
    if "random" in sys.modules:
        sys.modules["random"].seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def run_command(command: list) -> int:
    """`python -c CODE ...` (a kernel's is grader/kernel/kernelmain.py), from the modules already
    imported; anything else is executed."""
    import types

    reseed()
    if command[:1] == [sys.executable] and command[1:2] == ["-c"] and len(command) > 2:
        sys.argv = ["-c", *command[3:]]
        sys.path[0] = ""
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        exec(compile(command[2], "<string>", "exec"), main.__dict__)  # noqa: S102 - what `python -c` does
        return 0
    os.execv(command[0], command)
    return 1


# ----------------------------------------------------------------------------------------------
# PID 1 of the kernel's namespace, and the first child that watches it


def drop_capabilities() -> None:
    """No capability left: PID 1 needs none once the kernel is started (it stays root, so the
    kernel cannot signal it), and a fresh kernel holds none after executing its program."""
    header = struct.pack("Ii", 0x20080522, 0)
    data = ctypes.create_string_buffer(24)
    if libc.syscall(CAPSET[os.uname().machine], ctypes.c_char_p(header), data) != 0:
        fail("capset")


def init(request: dict) -> None:
    """PID 1: build the root, start the kernel, reap every orphan, exit as the kernel did."""
    code = 1
    try:
        libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) != 0:
            fail("unshare")
        setting = build_root(request["steps"])
        if setting["hostname"]:
            socket.sethostname(setting["hostname"])
        os.chdir(setting["chdir"])
        kernel = os.fork()
        if kernel == 0:
            become(request, setting)
        drop_capabilities()
        close_all_but_stdio()
        while True:
            pid, status = os.waitpid(-1, 0)
            if pid == kernel:
                code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                break
    except BaseException as error:  # noqa: BLE001 - said on the kernel's stderr, as bubblewrap would
        os.write(2, f"zygote: {error}\n".encode())
    finally:
        os._exit(code)


def watch(connection: socket.socket, request: dict, cgroups: list) -> None:
    """The first child: into the kernel's groups and new namespaces, then wait for PID 1 or the client."""
    code = 1
    try:
        for descriptor in cgroups:
            os.write(descriptor, b"0")  # this process, and so everything below it
            os.close(descriptor)
        if libc.unshare(CLONE_NEWPID) != 0:  # for its child, PID 1 of the kernel's namespace
            fail("unshare")
        first = os.fork()
        if first == 0:
            connection.close()
            init(request)
        watcher = os.pidfd_open(first)
        while True:
            ready, _, _ = select.select([connection.fileno(), watcher], [], [])
            if watcher in ready:
                code = os.waitstatus_to_exitcode(os.waitpid(first, 0)[1])
                break
            if not connection.recv(1):  # the client is gone: so is the kernel (--die-with-parent)
                os.kill(first, 9)
                os.waitpid(first, 0)
                break
        connection.sendall(struct.pack("i", code))
    except BaseException as error:  # noqa: BLE001 - said on the kernel's stderr
        os.write(2, f"zygote: {error}\n".encode())
    finally:
        os._exit(0)


def serve_one(connection: socket.socket) -> None:
    """In a fresh child: read one request and its descriptors, then watch that kernel."""
    message, fds, _, _ = socket.recv_fds(connection, MAX_REQUEST, 16)
    if len(fds) < 3:
        os._exit(1)
    for number in range(3):
        os.dup2(fds[number], number)
        os.close(fds[number])
    try:
        request = parse(json.loads(message.decode())["argv"])
    except (ValueError, KeyError) as error:
        os.write(2, f"zygote: {error}\n".encode())
        connection.sendall(struct.pack("i", 1))
        os._exit(0)
    watch(connection, request, fds[3:])


def preload(names: list) -> None:
    """Import what every kernel imports, from the Python paths only (never the working folder)."""
    import importlib

    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel sets it
    kept, sys.path[:] = sys.path[:], [p for p in sys.path if p not in ("", os.getcwd())]
    for name in names:
        blocked = name.startswith("ipykernel") and "debugpy" not in sys.modules
        if blocked:  # ipykernel without its debugger, as grader/kernel/kernelmain.py starts it
            sys.modules["debugpy"] = None  # type: ignore[assignment]
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - not importable here: the kernel imports it itself
            pass
        finally:
            if blocked and sys.modules.get("debugpy", 0) is None:
                del sys.modules["debugpy"]
    sys.path[:] = kept
    os.environ.pop("MPLBACKEND")


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def main(argv: list) -> None:
    path, names, source = argv[1], json.loads(argv[2]), argv[3]
    exec(compile(source, "launcher", "exec"), launcher)  # noqa: S102 - the grader's own launcher
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(HELPER_NAME), 0, 0, 0)
    os.chdir("/")
    preload(names)
    import gc

    gc.collect()
    gc.freeze()  # the kernels' collector leaves the zygote's objects alone: fewer pages copied on write
    if threads() != 1:  # a fork keeps only the calling thread: refuse rather than fork a broken state
        raise SystemExit(f"zygote: {threads()} threads after preloading, cannot fork safely")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [], 1.0)
        reap()
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            return  # the grader closed its end: stop
        if listener in ready:
            connection, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                serve_one(connection)
            connection.close()


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    main(sys.argv)
