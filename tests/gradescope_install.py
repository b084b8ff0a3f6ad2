"""A Gradescope autograder installed as Gradescope installs it: the bundle unzipped into a root folder
laid out like /autograder (moved by GRADER_GRADESCOPE_ROOT), then its own setup.sh run as root,
which makes a virtual environment from the system's python3, installs the pinned requirements and
the bundled wheel, makes the account `grader-kernel` and sets the folders' modes.

The root lives in a folder every account can traverse (pytest's temporary folders are private to
root), because where bubblewrap cannot run the kernel runs as `grader-kernel` from that venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


def system_python() -> str | None:
    """A python3 of at least 3.11, with venv, that every account can run (not one under /root)."""
    for candidate in PYTHONS:
        if not os.access(candidate, os.X_OK):
            continue
        done = subprocess.run(
            [candidate, "-c", "import sys, venv, ensurepip; print(sys.version_info >= (3, 11))"],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0 and done.stdout.strip() == "True":
            return candidate
    return None


def install(assignment: Path, python: str, checkout: Path) -> Path:
    """Build the bundle of `assignment`, unzip it into a fresh root and run its setup.sh; returns the root."""
    root = Path(tempfile.mkdtemp(prefix="grader-gradescope-", dir="/tmp"))
    root.chmod(0o755)
    archive = root / "autograder.zip"
    built = subprocess.run(
        [sys.executable, "-m", "grader", "gradescope", "--assignment", str(assignment), "--out", str(archive)],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    (root / "source").mkdir()
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(root / "source")
    archive.unlink()
    for name in ("setup.sh", "run_autograder"):  # zipfile drops modes; Gradescope's unzip keeps them
        (root / "source" / name).chmod(0o755)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    env = base_environment(root) | {"GRADER_SKIP_APT": "1", "GRADER_PYTHON": python}
    setup = subprocess.run(
        ["bash", "setup.sh"], cwd=root / "source", env=env, capture_output=True, text=True, timeout=900
    )
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    return root


def base_environment(root: Path) -> dict[str, str]:
    """The environment Gradescope gives its scripts, give or take: nothing of the test's Python."""
    keep = ("PATH", "HOME", "LANG", "PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT", "PIP_CERT", "SSL_CERT_FILE")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return env | {"GRADER_GRADESCOPE_ROOT": str(root)}


def run_autograder(root: Path, files: dict[str, bytes], **env: str) -> tuple[dict, subprocess.CompletedProcess]:
    """Put `files` in the submission folder, run run_autograder; returns (results.json, the run)."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    results = root / "results" / "results.json"
    if results.exists():
        results.unlink()
    (root / "submission").mkdir()
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    metadata = root / "submission_metadata.json"  # as Gradescope writes it: earlier results, readable by all
    metadata.write_text('{"previous_submissions": [{"results": {"score": 42}}]}')
    metadata.chmod(0o644)
    done = subprocess.run(
        [str(root / "run_autograder")],
        cwd="/",
        env=base_environment(root) | env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return json.loads(results.read_text()), done


def tree_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below `folder`: (size, modification time), to show that nothing changed."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            info = path.stat()
            state[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return state
