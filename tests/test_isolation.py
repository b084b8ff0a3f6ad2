"""Failing closed: no student code runs without isolation unless the command says --no-sandbox, and
none runs as root.

Kernels without bubblewrap run as an unprivileged account, which must be able to run the grader's
Python: these tests use the venv that Gradescope's setup.sh makes from the system's python3
(tests/gradescope_install.py), and GRADER_BWRAP=none to stand for a machine where bubblewrap
cannot run. Each notebook records the uid its code ran as in a file, so that "no kernel ran" and
"the kernel was not root" are observed, not inferred from the grader's words.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from grader.assignment.manifest import load_assignment
from grader.assignment.released import released_notebook
from grader.verbs.release import build_release
from tests.fixtures import ASSIGNMENT_DIR, ROOT
from tests.gradescope_install import base_environment

pytestmark = pytest.mark.kernel

NO_BUBBLEWRAP = {"GRADER_BWRAP": "none"}
RECORD_UID = "\nimport os as _os\nopen({path!r}, 'a').write(str(_os.getuid()) + '\\n')\n"


@pytest.fixture
def shared(tmp_path_factory):
    """A folder every account can read and write (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-isolation-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _recording(notebook, path: Path, setup_marker: str) -> bytes:
    setup = next(cell for cell in notebook.cells if setup_marker in cell.source)
    setup.source += RECORD_UID.format(path=str(path))
    return nbformat.writes(notebook).encode()


def _solution_recording(path: Path) -> bytes:
    assignment = load_assignment(ASSIGNMENT_DIR)
    return _recording(
        nbformat.read(ASSIGNMENT_DIR / "dnn_app_solution.ipynb", as_version=4), path, assignment.setup_marker
    )


def _grader(root: Path, *argv: str, user=None, **env: str) -> subprocess.CompletedProcess:
    """The installed grader (Gradescope's venv), as root or as the account `user`, with `env` added."""
    environment = base_environment(root) | env
    who = {}
    if user is not None:  # a home of its own: IPython and matplotlib write there
        home = Path(tempfile.mkdtemp(prefix="grader-home-"))
        os.chown(home, user.uid, user.gid)
        environment["HOME"] = str(home)
        who = {"user": user.uid, "group": user.gid, "extra_groups": []}
    return subprocess.run(
        [str(root / "venv" / "bin" / "grader"), *argv],
        cwd="/tmp",
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        **who,
    )


def _uids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_without_bubblewrap_grade_refuses_and_runs_nothing(gradescope_root, shared):
    record = shared / "uids"
    (shared / "mine.ipynb").write_bytes(_solution_recording(record))
    done = _grader(
        gradescope_root,
        "grade",
        str(shared / "mine.ipynb"),
        "--assignment",
        str(ASSIGNMENT_DIR),
        "--out",
        str(shared / "out"),
        "--quiet",
        GRADER_KERNEL_ACCOUNT="no-such-account",
        **NO_BUBBLEWRAP,
    )
    assert done.returncode == 2, done.stderr
    assert "no student code was run, because it cannot be isolated here" in done.stderr
    assert "bubblewrap is turned off (GRADER_BWRAP=none); to fix it, unset GRADER_BWRAP." in done.stderr
    assert "no unprivileged account no-such-account" in done.stderr and "useradd" in done.stderr
    assert "add --no-sandbox" in done.stderr and "Traceback" not in done.stderr
    assert _uids(record) == [] and not (shared / "out" / "gradebook.sqlite").exists()


def test_the_account_stands_in_only_where_it_can_read_nothing_hidden(gradescope_root, shared, toy_dir):
    """As root without bubblewrap, the dedicated account isolates kernels only when the assignment's
    folder is private to root: an assignment readable by every account is refused, naming the file."""
    readable = shutil.copytree(toy_dir, shared / "toy")
    done = _grader(gradescope_root, "isolation", "--assignment", str(readable), **NO_BUBBLEWRAP)
    assert done.returncode == 2, done.stdout
    said = rf"the account grader-kernel can read \d+ file\(s\) it must not see, such as {readable}/"
    assert re.search(said, done.stderr), done.stderr
    assert f"chmod -R go-rwx {readable}" in done.stderr
    private = shared / "private"
    private.mkdir(mode=0o700)
    shutil.copytree(toy_dir, private / "toy")
    done = _grader(gradescope_root, "isolation", "--assignment", str(private / "toy"), **NO_BUBBLEWRAP)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("student code would run isolated: dedicated unprivileged account grader-kernel")


def test_as_the_account_no_kernel_may_read_the_classmates_or_the_reports(gradescope_root, shared, toy_dir):
    """As root without bubblewrap, `grade` proves that the account reads neither the submissions of
    the batch (a kernel would copy a classmate's) nor its output folder, naming every folder to make
    private at once; private, they are graded, into an output folder and gradebook of root's only."""
    private = shared / "private"
    private.mkdir(mode=0o700)
    toy = shutil.copytree(toy_dir, private / "toy")
    submissions = shared / "submissions"
    submissions.mkdir()
    shutil.copy(toy / "toy_solution.ipynb", submissions / "alice.ipynb")
    (submissions / "alice.ipynb").chmod(0o644)
    out = shared / "out"
    done = _grader(
        gradescope_root,
        "grade",
        str(submissions),
        "--assignment",
        str(toy),
        "--out",
        str(out),
        "--quiet",
        **NO_BUBBLEWRAP,
    )
    assert done.returncode == 2 and f"chmod -R go-rwx {submissions}" in done.stderr, done.stderr
    assert not out.exists()
    submissions.chmod(0o700)
    done = _grader(
        gradescope_root,
        "grade",
        str(submissions),
        "--assignment",
        str(toy),
        "--out",
        str(out),
        "--quiet",
        **NO_BUBBLEWRAP,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "alice" / "results.json").read_text())["score"] > 0
    assert (out.stat().st_mode & 0o777, (out / "gradebook.sqlite").stat().st_mode & 0o777) == (0o700, 0o600)


def test_the_account_is_killed_from_root_and_held_by_one_grader_at_a_time(gradescope_root):
    """A process of the account that stops every new child of the grader (as a killer running as the
    account would be) is killed anyway; while one grader holds the account, another waits."""
    from grader.kernel.account import find_account, hold_account, kill_account, living_processes, release_account

    account = find_account("grader-kernel")
    stopper = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "while True:\n"
        "    for pid in os.listdir('/proc'):\n"
        "        if pid.isdigit() and os.stat('/proc/' + pid).st_uid != os.getuid():\n"
        "            try: os.kill(int(pid), signal.SIGSTOP)\n"
        "            except OSError: pass\n"
        "    time.sleep(0.001)\n"
    )
    python = str(gradescope_root / "venv" / "bin" / "python")
    for _ in range(3):
        subprocess.Popen(
            [python, "-c", stopper],
            user=account.uid,
            group=account.gid,
            extra_groups=[],
            cwd="/",
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 30
    while len(living_processes(account.uid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kill_account(account) and living_processes(account.uid) == []
    other = [
        sys.executable,
        "-c",
        "from grader.kernel.account import find_account, hold_account\nhold_account(find_account('grader-kernel'))",
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    hold_account(account)
    try:
        with pytest.raises(subprocess.TimeoutExpired):  # waits on the lock as long as this grader holds it
            subprocess.run(other, timeout=3, cwd=ROOT, env=environment, capture_output=True)
    finally:
        release_account(account)
    assert subprocess.run(other, timeout=60, cwd=ROOT, env=environment).returncode == 0


def test_with_no_sandbox_root_grades_as_an_unprivileged_account_and_every_report_says_so(gradescope_root, shared):
    record = shared / "uids"
    (shared / "mine.ipynb").write_bytes(_solution_recording(record))
    out = shared / "out"
    done = _grader(
        gradescope_root,
        "grade",
        str(shared / "mine.ipynb"),
        "--assignment",
        str(ASSIGNMENT_DIR),
        "--out",
        str(out),
        "--quiet",
        "--no-sandbox",
        **NO_BUBBLEWRAP,
    )
    assert done.returncode == 0, done.stderr
    assert "kernels run WITHOUT isolation (--no-sandbox)" in done.stderr
    uids = set(_uids(record))
    assert uids and 0 not in uids, uids
    results = json.loads((out / "mine" / "results.json").read_text())
    assert results["score"] == pytest.approx(100) and results["extra_data"]["isolated"] is False
    assert "NOT ISOLATED" in (out / "mine" / "feedback.html").read_text()
    assert "NOT ISOLATED" in (out / "mine" / "feedback.md").read_text()
    assert 'id="isolation-warning"' in (out / "summary.html").read_text()


@pytest.fixture
def bundle(shared):
    folder, _ = build_release(load_assignment(ASSIGNMENT_DIR), shared / "bundle", None)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    return folder


def test_a_students_self_check_without_a_sandbox_runs_as_the_student_and_says_so_once(gradescope_root, shared, bundle):
    from grader.kernel.account import find_account

    student = find_account("grader-kernel")  # any account that is not root stands for the student
    record = shared / "uids"
    assignment = load_assignment(bundle)
    notebook = bundle / "dnn_app.ipynb"
    notebook.write_bytes(
        _recording(released_notebook(load_assignment(ASSIGNMENT_DIR)), record, assignment.setup_marker)
    )
    done = _grader(gradescope_root, "check", str(notebook), "--assignment", str(bundle), user=student, **NO_BUBBLEWRAP)
    assert done.returncode == 1, done.stdout + done.stderr  # the blank notebook fails its cases
    assert done.stdout.count("not isolated") == 1, done.stdout
    assert "bubblewrap is turned off" in done.stdout and "0 of 4 public cases passed" in done.stdout
    assert set(_uids(record)) == {student.uid}


def test_a_self_check_as_root_without_a_sandbox_refuses(gradescope_root, shared, bundle):
    record = shared / "uids"
    assignment = load_assignment(bundle)
    notebook = bundle / "dnn_app.ipynb"
    notebook.write_bytes(
        _recording(released_notebook(load_assignment(ASSIGNMENT_DIR)), record, assignment.setup_marker)
    )
    done = _grader(gradescope_root, "check", str(notebook), "--assignment", str(bundle), **NO_BUBBLEWRAP)
    assert done.returncode == 2 and "no student code was run" in done.stderr, done.stderr
    assert _uids(record) == []


def test_grader_isolation_says_how_kernels_run_here(sandbox):
    done = subprocess.run([sys.executable, "-m", "grader", "isolation"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("student code would run isolated: bubblewrap sandbox")


def test_the_engine_itself_never_starts_a_kernel_as_root_without_a_launcher(tmp_path):
    from grader.kernel.session import KernelSession, KernelStartError

    if os.geteuid() != 0:
        pytest.skip("root only: as a user, an unsandboxed kernel runs as that user")
    session = KernelSession(tmp_path)
    with pytest.raises(KernelStartError) as refused:
        session.start()
    session.close()
    assert refused.value.start.refused
