"""Shared fixtures: where the datasets are, the assignments (the toy one copied out of the checkout),
and the sandbox a kernel test proves first. The helpers they use live in tests/fixtures.py.

The real dataset is found through DNN_DATA_DIR (.ci/run sets it). Without it, tests that need
the real numbers skip with a reason saying how to provide it; under CI (CI=true) they fail
instead, so a misconfigured CI can never pass by skipping.
"""

import os
import sys
from pathlib import Path

import pytest

from tests.fixtures import ASSIGNMENT_DIR, ROOT, needed, proven_sandbox

if str(ROOT) not in sys.path:  # the reference package lives in the checkout, not in the wheel
    sys.path.insert(0, str(ROOT))

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
        reason = (
            "needs the real cat/non-cat dataset: set DNN_DATA_DIR to the folder holding "
            "train_catvnoncat.h5 and test_catvnoncat.h5 (in this workspace: ../shared/data/catvnoncat)"
        )
        if os.environ.get("CI"):
            pytest.fail("CI must run this test, but " + reason)
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="session")
def sandbox():
    """The proven sandbox (see proven_sandbox)."""
    return proven_sandbox()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `kernel` runs student code: the sandbox is proven before anything of it runs."""
    if item.get_closest_marker("kernel") is not None:
        proven_sandbox()


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
        needed(
            "needs a system python3 (3.11 or later, with venv) that every account can run: apt-get install python3-venv"
        )
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


@pytest.fixture(scope="session")
def toy_dir(tmp_path_factory) -> Path:
    """The toy assignment (tests/toy_assignment), copied into a temporary folder with the data file its
    reference writes (generated, never committed): the tests use this copy and write nothing into the
    checkout. A test that changes the assignment copies this folder first."""
    from tests.toy_corpus import copy_assignment

    return copy_assignment(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="session")
def hostile_batch(tmp_path_factory):
    """The hostile corpus and the calm notebooks, graded once by `grader grade --workers 2` (tests/hostile_grading.py):
    shared by tests/test_hostile_submissions_are_contained.py and tests/test_dask.py, which grades the same
    batch on a LocalCluster."""
    from tests.hostile_grading import grade_hostile_batch

    folder = tmp_path_factory.mktemp("hostile")
    return grade_hostile_batch(folder, tmp_path_factory.mktemp("outside"), tmp_path_factory.mktemp("graded"))
