"""Kernels forked from a zygote (GRADER_KERNEL_START=zygote): each is the fresh kernel's twin, and
two kernels of one worker share no process, file or module state.

A forked kernel must look, to the student's code, like a kernel started fresh in bubblewrap: the
same uid, environment, limits, capabilities, file system and processes. Whatever one submission
does to its kernel (monkeypatching numpy, writing a preloaded module's globals, leaving files and
processes behind) must not reach the next submission's kernel, forked from the same zygote.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.assignment.manifest import load_assignment
from grader.assignment.preload import imported, setup_modules
from grader.kernel import zygote
from grader.kernel.isolation import forked
from grader.kernel.processes import living
from grader.kernel.sandbox import Sandbox, hidden_folders
from grader.kernel.session import KernelSession
from grader.model import CellStatus, Limits
from grader.model.isolation import Unavailable
from grader.model.notes import DeathKind
from tests.fixtures import ASSIGNMENT_DIR, grade_cli, needed, proven_sandbox

LIMITS = Limits(memory_mb=2048, cpu_seconds=60, processes=64, file_mb=64)

# What the student's code can learn of its kernel, compared between a fresh and a forked one.
FACTS = r"""
import json, os, resource, sys
def listing(path):
    return sorted((e.name, oct(e.stat(follow_symlinks=False).st_mode)) for e in os.scandir(path))
status = [l for l in open("/proc/self/status") if l.split(":")[0] in
          ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Threads")]
print(json.dumps({
    "ids": [os.getresuid(), os.getresgid(), os.getgroups()], "pid": os.getpid(), "ppid": os.getppid(),
    "env": dict(os.environ), "cwd": os.getcwd(), "host": os.uname().nodename, "umask": os.umask(0o22),
    "root": listing("/"), "dev": listing("/dev"), "shm": listing("/dev/shm"), "tmp": listing("/tmp"),
    "limits": [resource.getrlimit(n) for n in (resource.RLIMIT_CPU, resource.RLIMIT_AS,
               resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE, resource.RLIMIT_CORE, resource.RLIMIT_NOFILE)],
    "status": status, "mounts": [" ".join(l.split()[3:]) for l in open("/proc/self/mountinfo")],
    "fds": sorted(os.listdir("/proc/self/fd")), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()),
    "net": [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]],
    "uid_map": open("/proc/self/uid_map").read().split(), "path": sys.path, "flags": str(sys.flags),
    "comm": open("/proc/self/comm").read(),
}))
"""


@pytest.fixture(scope="module")
def forked_sandbox():
    """The proven sandbox, forking its kernels from a zygote (proven by its own probe)."""
    if os.geteuid() != 0:
        needed("forks kernels from a zygote, which needs root's bubblewrap")
    hidden = hidden_folders((ASSIGNMENT_DIR,))
    found = forked(proven_sandbox(), hidden)
    if isinstance(found, Unavailable):
        needed(f"forks kernels from a zygote, which cannot be had here: {found}")
    yield found.preloading(("numpy", "random"))
    zygote.stop_zygotes()


def _facts(launcher: Sandbox, tmp_path: Path, name: str) -> dict:
    """FACTS, run as `python -c` the way `launcher` runs a kernel's command."""
    workdir = tmp_path / name
    workdir.mkdir(mode=0o755)
    (workdir / "data.txt").write_text("the grader's file")
    run = launcher.new_run_folder(workdir)
    try:
        run.connection.write_text("{}")
        command = launcher.wrap([sys.executable, "-c", FACTS], LIMITS, workdir, run)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        run.remove()
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    own = {str(workdir): "WORKDIR", str(run.folder): "RUN"}
    return json.loads(re.sub("|".join(map(re.escape, own)), lambda m: own[m.group(0)], json.dumps(facts)))


@pytest.mark.kernel
def test_a_forked_kernel_is_the_fresh_kernels_twin(forked_sandbox, tmp_path):
    fresh_sandbox = Sandbox(forked_sandbox.bwrap, forked_sandbox.mode, forked_sandbox.mounts)
    fresh = _facts(fresh_sandbox, tmp_path, "fresh")
    twin = _facts(forked_sandbox, tmp_path, "forked")
    for key in ("ids", "pid", "ppid", "env", "cwd", "host", "umask", "root", "dev", "shm", "limits", "status"):
        assert twin[key] == fresh[key], key
    for key in ("fds", "pids", "net", "uid_map", "path", "flags", "comm"):
        assert twin[key] == fresh[key], key
    assert twin["ids"][0] == [65534] * 3 and "CapEff:\t0000000000000000\n" in twin["status"]
    # /tmp holds the run folder (a fresh kernel's in the temporary folder, a forked one's in the slots)
    ours = ("grader-run-", "grader-zygote-")
    kept = [[entry for entry in facts["tmp"] if not entry[0].startswith(ours)] for facts in (fresh, twin)]
    assert kept[0] == kept[1]
    # The same mounts in the same order, their sources aside (the grader's files are linked into
    # the slots); the only addition is /proc/sys made read-only, which bubblewrap may leave writable.
    strip = [re.sub(r"^\S+ ", "", line) for line in twin["mounts"] if not line.startswith("/sys /proc/sys ")]
    assert strip == [re.sub(r"^\S+ ", "", line) for line in fresh["mounts"]]


START_FACTS = """
import json, os, sys, numpy, random
print(json.dumps({
    "numpy_sum": float(numpy.sum([1.0, 2.0])) if callable(numpy.sum) else None,
    "marks": [hasattr(numpy, "grader_mark"), hasattr(random, "grader_mark")],
    "draws": [float(numpy.random.rand()), random.random()],
    "tmp": sorted(os.listdir("/tmp")), "shm": sorted(os.listdir("/dev/shm")),
    "cwd": sorted(os.listdir(".")), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "preloaded": "numpy" in sys.modules,
}))
"""

SPOIL = """
import os, subprocess, numpy, random
numpy.grader_mark = random.grader_mark = 1
numpy.sum = lambda *args, **kwargs: 42.0
numpy.random.seed(7)
open("/tmp/left-by-the-first", "w").write("x")
open("left-by-the-first", "w").write("x")
subprocess.Popen(["sleep", "300"], start_new_session=True)
"""


def _json_cell(session: KernelSession, code: str) -> dict:
    outcome = session.run(code, 60)
    assert outcome.status == CellStatus.OK, (outcome.error_name, outcome.error_value, outcome.traceback)
    return json.loads(outcome.stdout.strip().splitlines()[-1])


@pytest.mark.kernel
def test_two_submissions_of_one_worker_share_no_process_file_or_module_state(forked_sandbox, tmp_path):
    kernels = []
    for name in ("first", "second"):
        workdir = tmp_path / name
        workdir.mkdir(mode=0o755)
        (workdir / "given.txt").write_text("the grader's file")
        kernels.append(KernelSession(workdir, LIMITS, forked_sandbox))
    first, second = kernels
    try:
        first.start()
        server = zygote.zygote_for(forked_sandbox).process.pid
        before = _json_cell(first, START_FACTS)
        _json_cell(first, SPOIL + "print('{}')")
        left = first.host_processes()
        first.close()
        assert living(set(left)) == {}, "a process of the first kernel outlived it"
        second.start()
        after = _json_cell(second, START_FACTS)
        assert zygote.zygote_for(forked_sandbox).process.pid == server, "not the same worker's zygote"
    finally:
        first.close()
        second.close()
    assert after["preloaded"] and after["numpy_sum"] == 3.0 and after["marks"] == [False, False]
    assert after["tmp"] == before["tmp"] and after["shm"] == [] and after["cwd"] == ["given.txt"]
    assert after["pids"] == before["pids"] == [1, 2]
    # Each kernel draws from its own random state, as a fresh Python seeds it (never the zygote's)
    assert after["draws"][0] != before["draws"][0] and after["draws"][1] != before["draws"][1]


@pytest.mark.kernel
def test_a_forked_kernel_dies_of_its_limits_as_a_fresh_one(forked_sandbox, tmp_path):
    tight = dataclasses.replace(LIMITS, cpu_seconds=1)
    session = KernelSession(tmp_path, tight, forked_sandbox)
    try:
        session.start()
        outcome = session.run("while True:\n    pass\n", 30)
    finally:
        session.close()
    assert outcome.status == CellStatus.DIED and outcome.death is not None
    assert outcome.death.kind == DeathKind.CPU


@pytest.mark.kernel
def test_a_module_not_preloaded_is_imported_as_ever(forked_sandbox, tmp_path):
    (tmp_path / "helper_of_the_assignment.py").write_text("VALUE = 7\n")
    session = KernelSession(tmp_path, LIMITS, forked_sandbox)
    try:
        session.start()
        code = "import fractions, helper_of_the_assignment as h\nprint(h.VALUE, fractions.Fraction(1, 2))"
        outcome = session.run(code, 60)
    finally:
        session.close()
    assert outcome.status == CellStatus.OK and outcome.stdout.split() == ["7", "1/2"]


# What the kernel loaded before the first cell, and what the student's own import gets.
DEBUGGER = """
import json, sys
loaded = "debugpy" in sys.modules
import debugpy
print(json.dumps({"loaded": loaded, "imported": debugpy.__name__, "argv0": sys.argv[0].rsplit("/", 1)[-1],
                  "main": sys.modules["__main__"].__name__}))
"""


@pytest.mark.kernel
def test_fresh_and_forked_kernels_start_without_ipykernels_debugger(forked_sandbox, tmp_path):
    """debugpy, a third of a fresh kernel's start, is left unloaded alike; a student may import it."""
    fresh_sandbox = Sandbox(forked_sandbox.bwrap, forked_sandbox.mode, forked_sandbox.mounts)
    seen = []
    for launcher in (fresh_sandbox, forked_sandbox):
        session = KernelSession(tmp_path, LIMITS, launcher)
        try:
            session.start()
            seen.append(_json_cell(session, DEBUGGER))
        finally:
            session.close()
    assert seen[0] == seen[1]
    assert seen[0] == {"loaded": False, "imported": "debugpy", "argv0": "ipykernel_launcher.py", "main": "__main__"}


@pytest.mark.kernel
def test_the_kernel_dies_with_the_command_the_grader_started(forked_sandbox, tmp_path):
    """As bubblewrap's --die-with-parent: killing the client kills the kernel, with no group kill."""
    session = KernelSession(tmp_path, LIMITS, forked_sandbox)
    try:
        session.start()
        kernel = session.host_processes()
        client = session.client.km.provisioner.pid
        os.kill(client, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while living(set(kernel)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert living(set(kernel)) == {}
    finally:
        session.close()


# --- what a zygote preloads (no kernel) ---------------------------------------------------------------


def test_the_setup_cells_installed_modules_are_preloaded_never_the_assignments_own():
    modules = setup_modules(load_assignment(ASSIGNMENT_DIR))
    assert {"numpy", "h5py", "matplotlib.pyplot", "PIL.Image"} <= set(modules)
    assert not {"dnn_app_utils_v3", "public_tests"} & {name.split(".")[0] for name in modules}


def test_magics_and_relative_imports_are_not_modules():
    source = "%matplotlib inline\n!ls\nimport a.b as c, d\nfrom e import f\nfrom h import *\nfrom . import g\n"
    assert imported(source) == ["a.b", "d", "e", "e.f", "h"]


# --- a batch: two submissions graded by the same worker ------------------------------------------------

PATCH = """
np.mean = lambda *args, **kwargs: 42.0
np.grader_mark = 1
open("/tmp/left-by-the-first", "w").write("x")
"""
CHECK = """
import os
clean = not hasattr(np, "grader_mark") and not os.path.exists("/tmp/left-by-the-first")
forked = open("/proc/1/comm").read().strip() == "zygote"  # PID 1 is the zygote's child, not bubblewrap
if not (clean and forked):
    np.asarray = np.full = np.zeros = None  # spoils every case: the gradebook's row shows it
"""


@pytest.mark.kernel
def test_a_worker_grades_the_next_submission_in_a_clean_kernel(forked_sandbox, toy_dir, tmp_path):
    """`grader grade --workers 1`: the first notebook monkeypatches numpy in its setup cell, the
    second (the solution, checking it runs forked and clean) keeps its full marks."""
    solution = nbformat.read(toy_dir / "toy_solution.ipynb", as_version=4)
    batch = tmp_path / "batch"
    batch.mkdir()
    for name, extra in (("a_patches_numpy", PATCH), ("b_checks", CHECK)):
        notebook = nbformat.reads(nbformat.writes(solution), as_version=4)
        setup = next(cell for cell in notebook.cells if "from toy_utils import" in cell.source)
        setup.source += "\n" + extra
        nbformat.write(notebook, batch / f"{name}.ipynb")
    out = str(tmp_path / "out")
    zygote_on = {zygote.START_VARIABLE: "zygote"}
    done = grade_cli(
        str(batch), "--out", out, "--workers", "1", cwd=tmp_path, timeout=600, assignment=toy_dir, env_add=zygote_on
    )
    assert done.returncode in (0, 1), done.stderr
    rows = {row["name"]: row for row in _gradebook_rows(tmp_path / "out")}
    assert float(rows["b_checks"]["total"]) == float(rows["b_checks"]["max_score"]) > 0, rows["b_checks"]
    assert float(rows["a_patches_numpy"]["total"]) < float(rows["a_patches_numpy"]["max_score"])


def _gradebook_rows(out: Path) -> list[dict]:
    import csv

    with open(out / "gradebook.csv", newline="") as handle:
        return list(csv.DictReader(handle))
