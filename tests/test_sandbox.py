"""The student's kernel in the sandbox: what it can see, reach and start, and who it runs as.

One sandboxed kernel answers most questions (it runs a probe cell and reports what it found);
the checks are made here, outside. The sandbox must be available: without it these tests fail
with the reason (install bubblewrap), they never skip.
"""

import dataclasses
import errno
import json
import os
import socket
import tempfile
from pathlib import Path

import pytest

from grader.kernel.isolation import bubblewrap
from grader.kernel.probe import ask, sentinels
from grader.kernel.processes import living, process_tree
from grader.kernel.runfolder import RunFolder
from grader.kernel.sandbox import Sandbox, bindable, hidden_folders, layout, readable_paths
from grader.kernel.session import KernelSession
from grader.model import Limits
from grader.model.notes import Death, DeathKind
from tests.fixtures import ASSIGNMENT_DIR, ROOT, proven_sandbox

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

LIMITS = Limits(cpu_seconds=60, memory_mb=1024, processes=40, file_mb=8)


def _workdir(parent: Path, name: str) -> Path:
    folder = parent / name
    folder.mkdir()
    os.chmod(folder, 0o755)
    return folder


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _run_json(session: KernelSession, code: str, timeout: float = 30) -> dict:
    """Run `code` (which prints one JSON line) in the kernel and return what it printed."""
    outcome = session.run(code, timeout)
    assert outcome.ok, (outcome.status, outcome.error_name, outcome.error_value, outcome.traceback[-2000:])
    return json.loads(outcome.stdout.strip().splitlines()[-1])


PROBE = """
import json, os, resource, socket
paths = {paths!r}
seen = {{p: os.path.exists(p) for p in paths}}
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=2):
        reached = True
except OSError as error:
    reached = str(error)
print(json.dumps({{
    "uid": os.getuid(), "gid": os.getgid(), "euid": os.geteuid(),
    "seen": seen, "top": sorted(os.listdir("/")), "tmp": sorted(os.listdir("/tmp")),
    "listings": {{a: sorted(os.listdir(a)) if os.path.isdir(a) else None for a in {ancestors!r}}},
    "home_listing": sorted(os.listdir(os.path.expanduser("~"))) if os.path.isdir(os.path.expanduser("~")) else None,
    "interfaces": [name for _, name in socket.if_nameindex()],
    "reached_host_server": reached,
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "env": sorted(os.environ),
    "limits": {{name: resource.getrlimit(getattr(resource, name))[0]
               for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE")}},
    "cwd": os.getcwd(),
}}))
"""


@pytest.fixture(scope="module")
def observed(sandbox, tmp_path_factory):
    """What a sandboxed kernel sees, with a loopback server and another submission's folder around it."""
    parent = tmp_path_factory.mktemp("kernels")
    workdir = _workdir(parent, "grader-kernel-mine")
    other = _workdir(parent, "grader-kernel-other")
    (other / "someone_else.ipynb").write_text("{}")
    home_entries = [Path.home() / name for name in sorted(os.listdir(Path.home()))]
    # The checkout's own path may exist inside, as the empty folder that holds a .venv made in it
    # (whose listing the folders-holding check below pins); its files and folders must not.
    hidden = [
        ROOT / "pyproject.toml",
        ROOT / "reference",
        ROOT / "grader",
        ASSIGNMENT_DIR / "cases.py",
        ASSIGNMENT_DIR / "expected.npz",
        other,
        other / "someone_else.ipynb",
        *[p for p in home_entries if not any(p == r or p in r.parents for r in sandbox.readable)],
    ]
    host_tmp = sorted(os.listdir(tempfile.gettempdir()))
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    os.environ["GRADER_TEST_SECRET"] = "must-not-reach-the-kernel"
    session = KernelSession(workdir, LIMITS, sandbox)
    try:
        session.start()
        bound = [*sandbox.readable, workdir]
        code = PROBE.format(
            paths=[str(p) for p in hidden] + [str(workdir)],
            port=server.getsockname()[1],
            ancestors=sorted(_folders_holding(bound)),
        )
        facts = _run_json(session, code)
        facts["workdir"] = str(workdir)
        facts["hidden"] = [str(p) for p in hidden]
        facts["host_tmp"] = host_tmp
        facts["bound"] = [str(p) for p in bound]
        root = session.client.km.provisioner.pid
        kernel = session.host_processes()  # a kernel forked from a zygote is found in its control group
        helpers = ("bwrap", "zygote")  # bubblewrap's own processes, or the zygote's helpers in its place
        facts["host_uids"] = sorted({_host_uid(pid) for pid in kernel if _name(pid) not in helpers})
        facts["transport"] = session.client.km.transport
        facts["connection"] = json.loads(Path(session.client.km.connection_file).read_text())
        session.stop()
        facts["left_after_stop"] = sorted({*process_tree(root), *living(set(kernel))})
    finally:
        session.close()
        server.close()
        os.environ.pop("GRADER_TEST_SECRET", None)
    return facts


def _folders_holding(bound: list[Path]) -> dict[str, list[str]]:
    """Each folder on the way to a bound path (outside every bound path), with what it should show.

    The sandbox creates these as empty folders to hold its binds: inside, each must list only the
    next step towards a bound path, never its host contents (a sibling of the Python prefix, of the
    working folder, another submission's folder).
    """
    bound = [Path(p) for p in bound]
    holding: dict[str, set[str]] = {}
    for path in bound:
        for parent in path.parents:
            if any(parent == b or b in parent.parents for b in bound):
                continue
            holding.setdefault(str(parent), set()).add(path.relative_to(parent).parts[0])
    return {folder: sorted(names) for folder, names in holding.items()}


def _name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _host_uid(pid: int) -> int:
    """The real uid of a process as the host sees it (not as its own user namespace shows it)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def test_kernel_cannot_see_the_checkout_home_or_other_submissions(observed):
    assert observed["seen"][observed["workdir"]] is True  # the probe itself can see what it should
    visible = [path for path in observed["hidden"] if observed["seen"][path]]
    assert visible == [], f"the sandboxed kernel can see {visible}"
    # What the kernel sees is what the sandbox binds (/usr, the Python prefix and the working folder,
    # wherever they live: /tmp, /opt, a home folder), the folders made to hold them, and its own
    # /tmp, /proc and /dev: nothing of the host beside them.
    expected = _folders_holding(observed["bound"])
    tmp = tempfile.gettempdir()
    for folder, names in expected.items():
        seen = observed["listings"][folder]
        if folder == "/":
            extra = set(seen) - set(names) - {"tmp", "proc", "dev", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}
            assert not extra, f"the kernel's / shows {sorted(extra)} beyond what the sandbox binds"
        elif folder == tmp:  # the kernel's own tmpfs: whatever it wrote there is its own
            leaked = set(seen) & set(observed["host_tmp"]) - set(names)
            assert not leaked, f"the kernel's /tmp shows the host's {sorted(leaked)}"
        else:
            assert seen == names, f"the kernel's {folder} shows {seen}, the sandbox binds only {names} in it"
    if tmp not in expected:
        leaked = set(observed["tmp"]) & set(observed["host_tmp"])
        assert not leaked, f"the kernel's /tmp shows the host's {sorted(leaked)}"
    assert observed["cwd"] == observed["workdir"]


def test_kernel_runs_as_an_unprivileged_uid_inside_and_outside(observed):
    assert (observed["uid"], observed["euid"], observed["gid"]) == (65534, 65534, 65534)
    # Every process but bubblewrap's own: as root, the sandbox drops to 65534 on the host too; as
    # a user, it stays that user there.
    assert set(observed["host_uids"]) == ({65534} if os.geteuid() == 0 else {os.getuid()})


def test_kernel_has_no_network_and_talks_over_ipc(observed):
    assert observed["interfaces"] == ["lo"]
    assert observed["reached_host_server"] is not True, "the kernel reached a server on the host's loopback"
    assert observed["transport"] == "ipc" and observed["connection"]["transport"] == "ipc"
    sockets = Path(observed["connection"]["ip"]).parent
    assert sockets.name == "sockets" and not _inside(sockets, Path(observed["workdir"]))


def test_kernel_sees_only_its_own_processes_and_environment(observed):
    assert len(observed["pids"]) <= 5, observed["pids"]  # bubblewrap's init, the kernel, nothing of ours
    assert "GRADER_TEST_SECRET" not in observed["env"] and "JPY_PARENT_PID" not in observed["env"]


def test_limits_are_in_force_inside(observed):
    assert observed["limits"] == {
        "RLIMIT_AS": LIMITS.memory_mb * 1024 * 1024,
        "RLIMIT_CPU": LIMITS.cpu_seconds,
        "RLIMIT_NPROC": LIMITS.processes,
        "RLIMIT_FSIZE": LIMITS.file_mb * 1024 * 1024,
    }


def test_stopping_the_kernel_leaves_no_process(observed):
    assert observed["left_after_stop"] == []


STORM = """
import json, os, time
children = []
for _ in range({tries}):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children.append(pid)
print(json.dumps({{"started": len(children)}}))
"""


def test_process_cap_counts_each_kernel_alone(sandbox, tmp_path):
    """Two kernels at once: one that used up its processes does not stop the other from forking."""
    first = KernelSession(_workdir(tmp_path, "first"), LIMITS, sandbox)
    second = KernelSession(_workdir(tmp_path, "second"), LIMITS, sandbox)
    try:
        first.start()
        second.start()
        flood = _run_json(first, STORM.format(tries=500))
        assert 0 < flood["started"] < LIMITS.processes, flood
        again = _run_json(first, STORM.format(tries=5))
        assert again["started"] == 0, "the cap was not reached by the first storm"
        calm = _run_json(second, STORM.format(tries=10))
        assert calm["started"] == 10, "one kernel's processes counted against another's cap"
        roots = [first.client.km.provisioner.pid, second.client.km.provisioner.pid]
        kernels = {**first.host_processes(), **second.host_processes()}
    finally:
        first.close()
        second.close()
    assert [pid for root in roots for pid in process_tree(root)] == [] and living(set(kernels)) == {}


def _fake_checkout(parent: Path) -> tuple[Path, Path]:
    """A checkout holding an assignment's secrets and a virtual environment (`.venv`) inside it."""
    checkout = parent / "checkout"
    (checkout / "assignments" / "a").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\n")
    (checkout / "assignments" / "a" / "expected.npz").write_bytes(b"secret")
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "tool").write_text("shown")
    for folder in [parent, *[p for p in checkout.rglob("*") if p.is_dir()], checkout]:
        folder.chmod(0o755)
    return checkout, checkout / ".venv"


def _probe_with(sandbox: Sandbox, hidden: tuple[Path, ...], shown: Path) -> tuple:
    answer = ask(lambda command, workdir: sandbox.wrap(command, workdir=workdir), sentinels(hidden, sandbox.readable))
    seen = ask(lambda command, workdir: sandbox.wrap(command, workdir=workdir), [shown / "bin" / "tool"])
    return answer, seen


def test_a_virtual_environment_inside_the_checkout_keeps_the_checkout_hidden(sandbox, tmp_path):
    """The usual `python -m venv .venv` in the checkout: the venv is shown, the checkout's files are not
    (the checkout's path exists inside, as the folder that holds the venv; the probe checks real files)."""
    checkout, venv = _fake_checkout(tmp_path)
    hidden = (checkout,)
    inner = dataclasses.replace(sandbox, mounts=layout([*readable_paths(), venv], hidden))
    answer, seen = _probe_with(inner, hidden, venv)
    assert len(sentinels(hidden, inner.readable)) == 2  # pyproject.toml and expected.npz, not the venv's file
    assert (answer.failure, answer.uid, answer.readable) == ("", 65534, ())
    assert seen.readable == (str(venv / "bin" / "tool"),)


def test_a_python_installation_in_a_private_folder_is_bound_entry_by_entry(sandbox, tmp_path):
    """A virtual environment made inside `mktemp -d` (mode 0700): bound whole, the kernel's user could
    not even enter it and the sandbox would not start; bound entry by entry, it sees the same files."""
    private = tmp_path / "venv"
    (private / "bin").mkdir(parents=True)
    (private / "bin" / "tool").write_text("shown")
    (private / "bin").chmod(0o755)
    tmp_path.chmod(0o755)
    private.chmod(0o700)
    assert bindable(private) == [private / "bin"] and bindable(private / "bin") == [private / "bin"]
    entries = dataclasses.replace(sandbox, mounts=layout([*readable_paths(), *bindable(private)], ()))
    assert _probe_with(entries, (), private)[1].readable == (str(private / "bin" / "tool"),)
    whole = dataclasses.replace(sandbox, mounts=layout([*readable_paths(), private], ()))
    assert _probe_with(whole, (), private)[1].readable == ()  # not vacuous: bound whole, it stays shut


def test_a_checkout_inside_a_python_installation_is_covered(sandbox, tmp_path):
    """A checkout inside a folder that Python's installation is in (here: the installation is the
    checkout's parent) is covered by an empty folder, and the venv inside it bound again on top."""
    checkout, venv = _fake_checkout(tmp_path)
    hidden = (checkout,)
    mounts = layout([*readable_paths(), tmp_path, venv], hidden)
    assert [(m.path, m.bound) for m in mounts if tmp_path in m.path.parents or m.path == tmp_path] == [
        (tmp_path, True),
        (checkout, False),
        (venv, True),
    ]
    answer, seen = _probe_with(dataclasses.replace(sandbox, mounts=mounts), hidden, venv)
    assert (answer.failure, answer.uid, answer.readable) == ("", 65534, ())
    assert seen.readable == (str(venv / "bin" / "tool"),)
    uncovered = dataclasses.replace(sandbox, mounts=layout([*readable_paths(), tmp_path], ()))
    exposed, _ = _probe_with(uncovered, hidden, venv)
    secrets = {str(checkout / "pyproject.toml"), str(checkout / "assignments" / "a" / "expected.npz")}
    assert secrets <= set(exposed.readable)  # without the cover the probe sees the secrets: it is not vacuous


def test_the_probe_runs_once_per_set_of_hidden_folders(sandbox):
    hidden = hidden_folders((ASSIGNMENT_DIR,))
    assert proven_sandbox() is sandbox and bubblewrap(hidden) is bubblewrap(hidden)


IO_URING = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 8, params)  # io_uring_setup
print(json.dumps({"result": fd, "errno": ctypes.get_errno()}))
"""


def test_io_uring_is_refused_inside(sandbox, tmp_path):
    """io_uring reaches the kernel's file and network code past every seccomp check: refused."""
    session = KernelSession(_workdir(tmp_path, "w"), LIMITS, sandbox)
    try:
        found = _run_json(session, IO_URING)
    finally:
        session.close()
    assert found == {"result": -1, "errno": errno.ENOSYS}, found


NESTED_NAMESPACE = """
import ctypes, json, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:  # in a child, so that a success would not change the kernel itself
    os._exit(0 if libc.unshare(0x10000000) == 0 else 100 + ctypes.get_errno())
_, status = os.waitpid(pid, 0)
tool = subprocess.run(["unshare", "-U", "true"], capture_output=True, text=True)
print(json.dumps({"call": os.waitstatus_to_exitcode(status), "tool": tool.returncode}))
"""


@pytest.mark.parametrize("mode", ["root", "user"])
def test_no_user_namespace_can_be_made_inside(sandbox, tmp_path, mode):
    """A nested user namespace would let the kernel mount file systems the limits do not see."""
    if mode == "root" and os.geteuid() != 0:
        pytest.skip("the root mode needs root")
    session = KernelSession(_workdir(tmp_path, "w"), LIMITS, dataclasses.replace(sandbox, mode=mode))
    try:
        found = _run_json(session, NESTED_NAMESPACE)
    finally:
        session.close()
    assert found == {"call": 100 + errno.EPERM, "tool": 1}, found


MEMFD = """
import os
chunk, held = b"x" * (4 * 1024 * 1024), []
for number in range({chunks}):
    if number % 2 == 0:  # two chunks a memfd: each stays under the file-size limit
        held.append(os.memfd_create("hoard"))
    os.write(held[-1], chunk)
print("held", {chunks} * 4, "MB")
"""


def test_memory_outside_the_address_space_counts(sandbox, tmp_path):
    """Bytes written into a memfd are mapped nowhere, so RLIMIT_AS misses them; the cgroup does not."""
    from grader.kernel import cgroups

    assert cgroups.support().version, f"this machine offers cgroups, yet: {cgroups.support().reason}"
    limits = dataclasses.replace(LIMITS, memory_mb=768)  # IPython 9 kernels need more than 512 MB to start
    session = KernelSession(_workdir(tmp_path, "w"), limits, sandbox)
    try:
        outcome = session.run(MEMFD.format(chunks=2 * limits.memory_mb // 4), 60)
        after = session.run("print(1 + 1)", 30)
    finally:
        session.close()
    assert outcome.status == "died", (outcome.status, outcome.stdout[-300:])
    assert outcome.death == Death(DeathKind.MEMORY, limit=limits.memory_mb), outcome.death
    assert after.ok and after.stdout.strip() == "2"  # a fresh kernel after the kill
    assert session.starts == 2


FILL = """
import errno, json, os

written, error = 0, None
chunk = b"x" * (4 * 1024 * 1024)
for number in range({files}):
    try:
        with open(f"filler-{{number}}.bin", "wb") as handle:
            for _ in range(8):
                handle.write(chunk)
                written += len(chunk)
    except OSError as caught:
        error = errno.errorcode[caught.errno]
        break
print(json.dumps({{"written_mb": written // (1024 * 1024), "error": error}}))
"""


def test_the_kernels_folder_is_bounded_and_not_on_the_hosts_disk(sandbox, tmp_path):
    workdir = _workdir(tmp_path, "w")
    (workdir / "given.txt").write_text("the grader's file")
    limits = dataclasses.replace(LIMITS, file_mb=64)
    session = KernelSession(workdir, limits, sandbox)
    try:
        found = _run_json(session, FILL.format(files=10))  # 320 MB, five times the bound
        given = session.run("open('given.txt', 'w').write('changed')", 30)
    finally:
        session.close()
    assert found["error"] == "ENOSPC" and 56 <= found["written_mb"] <= 64, found
    assert given.error_name == "OSError" and "Read-only file system" in given.error_value
    assert sorted(p.name for p in workdir.iterdir()) == ["given.txt"]
    assert (workdir / "given.txt").read_text() == "the grader's file"


def test_each_start_gets_fresh_folders_and_leaves_none(sandbox, tmp_path):
    from grader.kernel import cgroups

    session = KernelSession(_workdir(tmp_path, "w"), LIMITS, sandbox)
    runs, groups = [], []
    try:
        for _ in range(2):
            session.start()
            runs.append(session._run.folder)
            groups.append(session._cgroup.folders if session._cgroup else ())
            session.stop()
    finally:
        session.close()
    assert runs[0] != runs[1] and not any(run.exists() for run in runs)
    assert cgroups.support().version == 0 or (groups[0] != groups[1] and groups[0])
    assert not any(folder.exists() for folders in groups for folder in folders)


def test_removing_a_run_folder_never_follows_what_the_kernel_left_in_it(tmp_path):
    """A kernel (as a user, or before the grader takes the socket folder back) can leave links in
    the socket folder; removing the run folder deletes the links, never what they point at."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "kept.txt").write_text("kept")
    run = RunFolder.make()
    (run.sockets / "to-a-folder").symlink_to(victim)
    (run.sockets / "to-a-file").symlink_to(victim / "kept.txt")
    (run.sockets / "nested").mkdir()
    (run.sockets / "nested" / "deeper").symlink_to(victim)
    run.remove()
    assert not run.folder.exists()
    assert sorted(p.name for p in victim.iterdir()) == ["kept.txt"] and (victim / "kept.txt").read_text() == "kept"
