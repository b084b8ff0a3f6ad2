"""`grader gradescope`: Gradescope's programming-assignment autograder bundle (autograder.zip).

The zip holds setup.sh and run_autograder at its root (Gradescope's layout), the grader as a wheel
with a requirements file pinned to the versions installed here, and the instructor's side of the
assignment: its folder (cases, expected values, catalogue) and the top-level packages under its
`instructor_path` that the cases and mistakes modules import. All of it stays on Gradescope's side.

Inside Gradescope, run_autograder calls `python -m grader.verbs.gradescope run`, which grades the
one notebook in /autograder/submission and writes /autograder/results/results.json. The root is
/autograder unless GRADER_GRADESCOPE_ROOT names another folder (the tests use a temporary one).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import sys
import tempfile
import tomllib
import zipfile
from contextlib import suppress
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path

from grader.assignment.manifest import Assignment, load_assignment
from grader.errors import UserError

DISTRIBUTION = "nbgrade-dnn"
IGNORED = ("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Gradescope's test-level visibility for hidden cases: name, verdict and message appear only once the
# instructor publishes the grades. Public cases are "visible" at once.
HIDDEN_VISIBILITY = "after_published"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built (cwd: /autograder/source).
# Variables (for tests and other containers): GRADER_GRADESCOPE_ROOT (instead of /autograder),
# GRADER_SKIP_APT=1, GRADER_PYTHON (the python3 that makes the venv), GRADER_KERNEL_ACCOUNT (the
# account student code runs as where bubblewrap cannot run; default grader-kernel).
set -euo pipefail
ROOT="${GRADER_GRADESCOPE_ROOT:-/autograder}"
SOURCE="$ROOT/source"
ACCOUNT="${GRADER_KERNEL_ACCOUNT:-grader-kernel}"
if [ -z "${GRADER_SKIP_APT:-}" ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip passwd \\
        || echo "setup.sh: apt-get could not install python3-venv" >&2
    # The sandbox, where the container lets bubblewrap run; elsewhere kernels run as $ACCOUNT.
    apt-get install -y -qq bubblewrap || echo "setup.sh: bubblewrap not installed; kernels will run as $ACCOUNT" >&2
fi
"${GRADER_PYTHON:-python3}" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet -r "$SOURCE/requirements.txt"
"$ROOT/venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$SOURCE"/wheels/*.whl
# Student code never runs as root. Where bubblewrap cannot run, each kernel runs as $ACCOUNT, which
# must not read the assignment (cases, expected values) nor write the grader or the results.
id -u "$ACCOUNT" >/dev/null 2>&1 \\
    || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ACCOUNT"
chmod 755 "$ROOT"
chmod -R go-rwx "$SOURCE"
chmod -R go-w "$ROOT/venv"
mkdir -p "$ROOT/results"
chown root:root "$ROOT/results"
chmod 755 "$ROOT/results"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this once per submission; it writes $ROOT/results/results.json.
ROOT="${GRADER_GRADESCOPE_ROOT:-/autograder}"
cd "$ROOT/source" || exit 1
exec "$ROOT/venv/bin/python" -m grader.verbs.gradescope run "$ROOT"
"""


def _imported_names(path: Path) -> set[str]:
    """Top-level names a Python file imports, function-level imports included."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def instructor_files(assignment: Assignment) -> list[Path]:
    """The packages and modules under the instructor paths that the cases and mistakes modules
    import (and what those import in turn), found by reading their import statements."""
    pending = [
        assignment.folder / name
        for name in (assignment.cases_file, assignment.mistakes_file, getattr(assignment, "reference", ""))
        if name
    ]
    found: list[Path] = []
    seen: set[Path] = set()
    while pending:
        source = pending.pop()
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        for name in set().union(*(_imported_names(f) for f in files if f.is_file())):
            for folder in assignment.instructor_paths:
                for candidate in (folder / name, folder / f"{name}.py"):
                    if candidate.exists() and candidate not in seen and assignment.folder not in candidate.parents:
                        seen.add(candidate)
                        found.append(candidate)
                        pending.append(candidate)
    return found


def _common_root(assignment: Assignment) -> Path:
    folders = [assignment.folder, *assignment.instructor_paths]
    return Path(os.path.commonpath([str(f.resolve()) for f in folders]))


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def _wheel_metadata(project: dict) -> dict[str, bytes]:
    """The dist-info files of a pure-Python wheel, from pyproject.toml's [project] table."""
    head = project["project"]
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {head['name']}",
        f"Version: {head['version']}",
        f"Requires-Python: {head.get('requires-python', '>=3')}",
    ]
    lines += [f"Requires-Dist: {dependency}" for dependency in head.get("dependencies", [])]
    points = [("console_scripts", head.get("scripts", {})), *head.get("entry-points", {}).items()]
    entry_points = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in table.items()) + "\n" for group, table in points if table
    )
    return {
        "METADATA": ("\n".join(lines) + "\n").encode(),
        "entry_points.txt": entry_points.encode(),
        "WHEEL": b"Wheel-Version: 1.0\nGenerator: grader gradescope\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }


def _build_wheel(into: Path) -> Path:
    """The grader as a pure-Python wheel, written from the checkout this grader runs from (no build
    backend needed): every file of the grader package, caches left out."""
    project = Path(__file__).resolve().parents[2]
    if not (project / "pyproject.toml").is_file():
        raise UserError(
            "grader gradescope bundles the grader as a wheel and needs its source checkout (with "
            "pyproject.toml): install the grader from a git checkout (pip install -e .)"
        )
    config = tomllib.loads((project / "pyproject.toml").read_text())
    name, version = config["project"]["name"].replace("-", "_"), config["project"]["version"]
    files = {
        f"grader/{p.relative_to(project / 'grader').as_posix()}": p.read_bytes()
        for p in sorted((project / "grader").rglob("*"))
        if p.is_file() and not any(fnmatch(part, pattern) for part in p.parts for pattern in IGNORED)
    }
    info = f"{name}-{version}.dist-info"
    files |= {f"{info}/{key}": value for key, value in _wheel_metadata(config).items()}
    record = "".join(f"{path},{_record_hash(data)}\n" for path, data in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    wheel = into / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zipped:
        for path, data in files.items():
            _add(zipped, data, path)
    return wheel


def requirements() -> str:
    """The grader's dependencies pinned to the versions installed here (tested together)."""
    lines = []
    for requirement in metadata.requires(DISTRIBUTION) or []:
        if "extra ==" in requirement:
            continue
        name = requirement.split(";")[0].strip()
        for sign in "<>=!~[ ":
            name = name.split(sign)[0]
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(requirement)
    return "\n".join(lines) + "\n"


def _add(zipped: zipfile.ZipFile, path: Path | bytes, name: str, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = mode << 16
    zipped.writestr(info, path.read_bytes() if isinstance(path, Path) else path)


def _add_tree(zipped: zipfile.ZipFile, source: Path, name: str) -> None:
    if source.is_file():
        _add(zipped, source, name)
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not any(fnmatch(part, pattern) for part in relative.parts for pattern in IGNORED):
            _add(zipped, path, f"{name}/{relative.as_posix()}")


def build_gradescope(assignment: Assignment, out: Path) -> Path:
    """Write Gradescope's autograder.zip for an instructor's assignment folder; returns its path."""
    if assignment.is_bundle:
        raise UserError(
            f"{assignment.folder} is a release bundle: build the Gradescope autograder from the "
            "instructor's assignment folder, which has the cases and the expected values"
        )
    assignment.cases()  # a broken cases module is said now, not on Gradescope
    out = _zip_path(Path(out))
    root = _common_root(assignment)
    config = {"assignment": str(assignment.folder.resolve().relative_to(root).as_posix())}
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with tempfile.TemporaryDirectory(prefix="grader-wheel-") as wheel_dir:
            wheel = _build_wheel(Path(wheel_dir))
            with zipfile.ZipFile(partial, "w") as zipped:
                _add(zipped, SETUP_SH.encode(), "setup.sh", 0o755)
                _add(zipped, RUN_AUTOGRADER.encode(), "run_autograder", 0o755)
                _add(zipped, requirements().encode(), "requirements.txt")
                _add(zipped, json.dumps(config).encode(), "gradescope.json")
                _add(zipped, wheel, f"wheels/{wheel.name}")
                _add_tree(zipped, assignment.folder, f"tree/{config['assignment']}")
                for path in instructor_files(assignment):
                    _add_tree(zipped, path, f"tree/{path.resolve().relative_to(root).as_posix()}")
            partial.replace(out)
    except BaseException:  # a half-written zip is never left where an upload could pick it up
        partial.unlink(missing_ok=True)
        raise
    return out


def _zip_path(out: Path) -> Path:
    """--out as the zip file to write, refused up front when it names a folder (or sits in a file)."""
    if out.is_dir():
        raise UserError(
            f"--out {out} is a folder: --out names the zip file to write, e.g. --out {out / 'autograder.zip'}"
        )
    if any(parent.exists() and not parent.is_dir() for parent in out.parents):
        raise UserError(f"--out {out}: a folder on its way is a file; name a zip file in a folder, e.g. autograder.zip")
    return out


# --- inside Gradescope -----------------------------------------------------------------------------


def _notebooks(submission: Path) -> list[Path]:
    if not submission.is_dir():
        return []
    return sorted(
        p
        for p in submission.rglob("*.ipynb")
        if p.is_file() and not p.is_symlink() and ".ipynb_checkpoints" not in p.parts
    )


def choose_notebook(submission: Path, expected_name: str) -> tuple[Path | None, str]:
    """The notebook to grade, or None and what to tell the student."""
    notebooks = _notebooks(submission)
    if len(notebooks) == 1:
        return notebooks[0], ""
    named = [p for p in notebooks if p.name == expected_name]
    if len(named) == 1:
        return named[0], ""
    if not notebooks:
        others = sorted(p.name for p in submission.rglob("*") if p.is_file()) if submission.is_dir() else []
        seen = f" (the submission holds: {', '.join(others[:10])})" if others else " (the submission is empty)"
        return None, (
            f"No notebook was found in your submission{seen}. Upload your notebook, {expected_name}, "
            "as an .ipynb file and submit again."
        )
    listed = ", ".join(str(p.relative_to(submission)) for p in notebooks[:10])
    return None, (
        f"Your submission holds {len(notebooks)} notebooks ({listed}) and none of them alone is "
        f"named {expected_name}: submit only the one notebook to grade, named {expected_name}."
    )


def _failure_results(message: str) -> dict:
    return {"score": 0.0, "output": message, "visibility": "visible", "tests": []}


def gradescope_document(report, assignment: Assignment) -> dict:
    """The grader's results.json, with hidden cases shown only once grades are published."""
    from grader.render.feedback import gradescope_results

    document = gradescope_results(report, assignment)
    for test in document["tests"]:
        if "hidden" in test.get("tags", []):
            test["visibility"] = HIDDEN_VISIBILITY
    document["visibility"] = "visible"
    return document


def run_on_gradescope(root: Path) -> int:
    """Grade the submission under `root` and write results/results.json; always writes one.

    Exit status 2 when student code could not be isolated here (results.json then says so).
    The document is written by this process, as root, only once every process of the kernel's
    account is gone: nothing the kernel ran can change it or the code that writes it.
    """
    from grader.kernel.isolation import IsolationRefused
    from grader.render.isolation import refused_text

    status = 0
    try:
        document = _grade_submission(root)
    except IsolationRefused as refused:
        said = refused_text(refused, None)
        document, status = (
            _failure_results(f"The autograder did not run this submission: {said}\nTell your instructor."),
            2,
        )
    except Exception as error:  # noqa: BLE001 - Gradescope must always get a results.json
        document = _failure_results(
            f"The autograder could not grade this submission ({type(error).__name__}: {error}). Tell your instructor."
        )
    write_results(root / "results", json.dumps(document, indent=1) + "\n")
    return status


def write_results(folder: Path, text: str) -> None:
    """results.json, written through descriptors that follow no link (folder made when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    flags = os.O_NOFOLLOW | os.O_CLOEXEC
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | flags)
    try:
        with suppress(FileNotFoundError):
            os.unlink("results.json", dir_fd=directory)
        handle = os.open("results.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL | flags, 0o644, dir_fd=directory)
        with open(handle, "w", encoding="utf-8", errors="replace") as out:
            out.write(text)
    finally:
        os.close(directory)


def _make_private(path: Path) -> None:
    """Root's only, through a descriptor that follows no link (nothing when there is no such file)."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.fchmod(handle, 0o600)
    finally:
        os.close(handle)


def _grade_submission(root: Path) -> dict:
    from grader.grading import GradeOptions, grade_one
    from grader.judge.expected import ExpectedValues
    from grader.kernel.account import kill_account
    from grader.kernel.isolation import kernel_launcher
    from grader.render.isolation import describe

    config = json.loads((root / "source" / "gradescope.json").read_text())
    assignment = load_assignment(root / "source" / "tree" / config["assignment"])
    notebook, problem = choose_notebook(root / "submission", assignment.student_notebook)
    if notebook is None:
        return _failure_results(problem)
    metadata = root / "submission_metadata.json"  # earlier runs' results, hidden verdicts included
    _make_private(metadata)
    launcher = kernel_launcher(
        own_code=False,
        no_sandbox=False,
        protect=(root / "results",),
        hidden=(
            root / "source",
            assignment.folder,
            *assignment.instructor_paths,
            *([metadata] if metadata.exists() else []),
        ),
    )
    report = grade_one(
        notebook,
        assignment,
        ExpectedValues(assignment),
        GradeOptions(public_only=False, sandbox=launcher, name=notebook.stem),
    )
    account = getattr(launcher, "account", None)
    if account is not None and not kill_account(account):
        raise RuntimeError(f"processes of the account {account.name} outlived the grading")
    document = gradescope_document(report, assignment)
    document["extra_data"]["isolation"] = describe(launcher)
    return document


if __name__ == "__main__":  # run_autograder: python -m grader.verbs.gradescope run ROOT
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        sys.exit(run_on_gradescope(Path(sys.argv[2])))
    print("usage: python -m grader.verbs.gradescope run ROOT", file=sys.stderr)
    sys.exit(2)
