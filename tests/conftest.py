"""Shared fixtures: where the datasets are, and the assignment.

The real dataset is found through DNN_DATA_DIR (.ci/run sets it). Without it, tests that need
the real numbers skip with a reason saying how to provide it; under CI (CI=true) they fail
instead, so a misconfigured CI can never pass by skipping.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the reference package lives in the checkout, not in the wheel
    sys.path.insert(0, str(ROOT))

ASSIGNMENT_DIR = ROOT / "assignments" / "dnn_app"
DATA_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def _real_data() -> Path | None:
    folder = os.environ.get("DNN_DATA_DIR")
    if folder and all((Path(folder) / name).is_file() for name in DATA_FILES):
        return Path(folder).resolve()  # kernels run in other folders
    return None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    folder = _real_data()
    if folder is None:
        reason = ("needs the real cat/non-cat dataset: set DNN_DATA_DIR to the folder holding "
                  "train_catvnoncat.h5 and test_catvnoncat.h5 (in this workspace: ../shared/data/catvnoncat)")
        if os.environ.get("CI"):
            pytest.fail("CI must run this test, but " + reason)
        pytest.skip(reason)
    return folder


def proven_sandbox():
    """The bubblewrap sandbox, proven by its probe (the checkout and dnn_app hidden), before a test runs
    any student code. Without one a test fails under CI (CI=true) and skips elsewhere, with the reason."""
    from grader.kernel.isolation import bubblewrap
    from grader.kernel.sandbox import hidden_folders
    from grader.model.isolation import Unavailable
    from grader.render.isolation import unavailable_text

    found = bubblewrap(hidden_folders((ASSIGNMENT_DIR,)))
    if isinstance(found, Unavailable):
        needed(f"runs student code, which needs the sandbox, and there is none here: {unavailable_text(found)}")
    return found


@pytest.fixture(scope="session")
def sandbox():
    """The proven sandbox (see proven_sandbox)."""
    return proven_sandbox()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `kernel` runs student code: the sandbox is proven before anything of it runs."""
    if item.get_closest_marker("kernel") is not None:
        proven_sandbox()


def needed(reason: str) -> None:
    """A test cannot run here: it fails under CI (CI=true) and skips elsewhere, saying why."""
    if os.environ.get("CI"):
        pytest.fail("CI must run this test, but it " + reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def gradescope_root():
    """dnn_app's Gradescope autograder, installed by its own setup.sh (tests/gradescope_install.py);
    removed after the session. Its venv also serves the tests of kernels run without bubblewrap."""
    import shutil

    from tests.gradescope_install import install, system_python

    if os.geteuid() != 0:
        needed("runs Gradescope's setup.sh, which needs root (it makes the account grader-kernel)")
    python = system_python()
    if python is None:
        needed("needs a system python3 (3.11 or later, with venv) that every account can run: apt-get install "
               "python3-venv")
    root = install(ASSIGNMENT_DIR, python, ROOT)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> Path:
    from reference.synthetic import write_synthetic_dataset

    return write_synthetic_dataset(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="session")
def assignment():
    from grader.assignment.manifest import load_assignment

    return load_assignment(ASSIGNMENT_DIR)


def printed(text: str, want: str) -> bool:
    """Does `text` hold the line `want`? Its floats may differ by another NumPy's rounding (the stale tolerance)."""
    from grader.judge.compare import same_line
    from grader.judge.expected import STALE_ATOL, STALE_RTOL

    return any(same_line(line, want, STALE_RTOL, STALE_ATOL) for line in text.splitlines())


def printed_lines(got: list[str], want: list[str]) -> bool:
    """The same lines in the same order, floats compared within the stale tolerance."""
    from grader.judge.compare import same_line
    from grader.judge.expected import STALE_ATOL, STALE_RTOL

    pairs = zip(got, want, strict=False)
    return len(got) == len(want) and all(same_line(g, w, STALE_RTOL, STALE_ATOL) for g, w in pairs)


def ensure_toy_data() -> Path:
    """The toy assignment's small data file is generated, never committed: its reference writes it."""
    import importlib.util

    folder = ROOT / "tests" / "toy_assignment"
    target = folder / "toy_data.h5"
    if not target.is_file():
        spec = importlib.util.spec_from_file_location("_toy_reference_writer", folder / "reference.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.write_data(target)
    return target


@pytest.fixture(scope="session", autouse=True)
def toy_data_file():
    return ensure_toy_data()


@pytest.fixture(scope="session")
def hostile_batch(tmp_path_factory):
    """The hostile corpus and the calm notebooks, graded once by `grader grade --workers 2` (tests/hostile_grading.py):
    shared by tests/test_hostile.py and tests/test_dask.py, which grades the same batch on a LocalCluster."""
    from tests.hostile_grading import grade_hostile_batch

    folder = tmp_path_factory.mktemp("hostile")
    return grade_hostile_batch(folder, tmp_path_factory.mktemp("outside"), tmp_path_factory.mktemp("graded"))
