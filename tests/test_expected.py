"""The stored expected values are what the reference produces now (CI keeps them honest), and
`grader expected --check` notices when they are not."""

import functools
import shutil

import numpy as np
import pytest

from grader import expected
from grader.assignment import load_assignment
from grader.cli import main
from tests.conftest import ASSIGNMENT_DIR


@pytest.fixture(scope="module")
def copy_with_one_reference_run(tmp_path_factory):
    """A copy of the assignment folder; the reference runs once for all the checks below."""
    folder = tmp_path_factory.mktemp("expected") / "dnn_app"
    shutil.copytree(ASSIGNMENT_DIR, folder)
    patch = pytest.MonkeyPatch()
    run_once = functools.lru_cache(maxsize=None)(lambda key: expected_reference(load_assignment(key)))
    expected_reference = expected._reference_outputs
    patch.setattr(expected, "_reference_outputs", lambda assignment: run_once(str(assignment.folder)))
    yield folder
    patch.undo()


def test_the_stored_expected_values_are_current(copy_with_one_reference_run, capsys):
    assert main(["expected", "--check", "--assignment", str(copy_with_one_reference_run)]) == 0
    assert "expected values are current" in capsys.readouterr().out


def test_a_stale_value_is_named(copy_with_one_reference_run, capsys):
    path = copy_with_one_reference_run / "expected.npz"
    with np.load(path, allow_pickle=False) as stored:
        values = {key: stored[key] for key in stored.files}
    key = "L_layer_model/five-layers|parameters|W2"
    values[key] = values[key] * (1 + 1e-6)
    np.savez_compressed(path, **values)
    assert main(["expected", "--check", "--assignment", str(copy_with_one_reference_run)]) == 1
    out = capsys.readouterr().out
    assert f"{key}: stored value differs from the reference's" in out
    assert "run `grader expected`" in out


def test_a_bundle_has_no_expected_values_to_make(tmp_path, capsys):
    from grader.release import build_release

    bundle, _ = build_release(load_assignment(ASSIGNMENT_DIR), tmp_path / "bundle", None)
    assert main(["expected", "--assignment", str(bundle)]) == 2
    assert "release bundle" in capsys.readouterr().err
