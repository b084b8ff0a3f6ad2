"""The stored expected values are what the reference produces now (CI keeps them honest), and
`grader expected --check` notices when they are not."""

import functools
import shutil

import numpy as np
import pytest

from grader.assignment.manifest import load_assignment
from grader.cli import main
from grader.judge import expected
from tests.fixtures import ASSIGNMENT_DIR

# critical: also run under the oldest supported versions; slow: the reference runs on every case (no kernel)
pytestmark = [pytest.mark.critical, pytest.mark.slow]


@pytest.fixture(scope="module")
def copy_with_one_reference_run(tmp_path_factory):
    """A copy of the assignment folder; the reference runs once for all the checks below."""
    folder = tmp_path_factory.mktemp("expected") / "dnn_app"
    shutil.copytree(ASSIGNMENT_DIR, folder)
    patch = pytest.MonkeyPatch()
    run_once = functools.lru_cache(maxsize=None)(lambda key: expected_reference(load_assignment(key)))
    expected_reference = expected._reference_outputs
    patch.setattr(expected, "_reference_outputs", lambda assignment, solution=None: run_once(str(assignment.folder)))
    yield folder
    patch.undo()


def test_the_stored_expected_values_are_current(copy_with_one_reference_run, capsys):
    assert main(["expected", "--check", "--assignment", str(copy_with_one_reference_run)]) == 0
    assert "expected values are current" in capsys.readouterr().out


def test_a_stale_value_is_named(copy_with_one_reference_run, capsys):
    path = copy_with_one_reference_run / "expected.npz"
    original = path.read_bytes()
    key = "L_layer_model/five-layers|leaf|2"  # the returned tuple's parameters dict holds W1, b1, W2, ...
    try:
        _rewrite(path, lambda values: values.update({key: values[key] * (1 + 1e-6)}))
        assert main(["expected", "--check", "--assignment", str(copy_with_one_reference_run)]) == 1
        out = capsys.readouterr().out
    finally:
        path.write_bytes(original)
    assert f"{key}: stored value differs from the reference's" in out
    assert "run `grader expected`" in out


def test_a_bundle_has_no_expected_values_to_make(tmp_path, capsys):
    from grader.verbs.release import build_release

    bundle, _ = build_release(load_assignment(ASSIGNMENT_DIR), tmp_path / "bundle", None)
    assert main(["expected", "--assignment", str(bundle)]) == 2
    assert "release bundle" in capsys.readouterr().err


def _rewrite(path, change):
    with np.load(path, allow_pickle=False) as stored:
        values = {key: stored[key] for key in stored.files}
    change(values)
    np.savez_compressed(path, **values)


def test_another_numpys_rounding_is_not_stale_and_the_deviation_is_reported(copy_with_one_reference_run, capsys):
    """Last-bit differences (another NumPy, another BLAS) pass, and --check says how large they were."""
    path = copy_with_one_reference_run / "expected.npz"
    original = path.read_bytes()
    weights, line = "two_layer_model/curve|leaf|0", "two_layer_model/print-cost|stdout"

    def round_differently(values):
        values[weights] = values[weights] * (1 + 1e-13)
        printed = [str(s) for s in values[line]]
        label, number = printed[-1].rsplit(" ", 1)
        printed[-1] = f"{label} {float(number) * (1 + 1e-12)!r}"  # another decimal string, nearly the same float
        values[line] = np.array(printed)

    try:
        _rewrite(path, round_differently)
        assert main(["expected", "--check", "--assignment", str(copy_with_one_reference_run)]) == 0
        out = capsys.readouterr().out
        assert "expected values are current" in out
        deviation = next(s for s in out.splitlines() if s.startswith("largest deviation: "))
        assert "relative, at " in deviation and f"rtol={expected.STALE_RTOL:g}" in deviation
        assert expected.STALE_RTOL < load_assignment(ASSIGNMENT_DIR).rtol / 100  # far tighter than grading
    finally:
        path.write_bytes(original)


def test_a_printed_number_off_by_the_grading_tolerance_is_stale(copy_with_one_reference_run, capsys):
    path = copy_with_one_reference_run / "expected.npz"
    original = path.read_bytes()
    line = "L_layer_model/print-cost|stdout"

    def change_a_printed_cost(values):
        printed = [str(s) for s in values[line]]
        label, number = printed[0].rsplit(" ", 1)
        printed[0] = f"{label} {float(number) * (1 + 1e-7)!r}"
        values[line] = np.array(printed)

    try:
        _rewrite(path, change_a_printed_cost)
        assert main(["expected", "--check", "--assignment", str(copy_with_one_reference_run)]) == 1
        assert f"{line}: stored value differs" in capsys.readouterr().out
    finally:
        path.write_bytes(original)


def test_another_numpys_wording_of_a_mistakes_error_is_not_stale(copy_with_one_reference_run, capsys):
    """NumPy rewords its exceptions between versions; the public mistakes file's errors compare by
    type and by the numbers and names they quote, so --check stays green, but a changed type is stale."""
    import json
    import re

    path = copy_with_one_reference_run / "public_mistakes.json"
    original = path.read_text()
    document = json.loads(original)
    errors = [key for key in document["outcomes"] if key.endswith("|error")]
    assert errors, "the catalogue should hold a mistake that raises on a public case"

    def reworded(kind: str | None) -> str:
        """Each error in other words; with its own type, or with `kind` when one is given."""
        for key in errors:
            own_kind, message = json.loads(original)["outcomes"][key]
            kind_now = kind or own_kind
            kept = re.findall(r"'[^']*'", message) or re.findall(r"\d+", message)
            document["outcomes"][key] = [kind_now, "worded otherwise: " + " and ".join(kept)]
        return json.dumps(document)

    try:
        path.write_text(reworded(None))
        assert main(["expected", "--check", "--assignment", str(copy_with_one_reference_run)]) == 0
        capsys.readouterr()
        path.write_text(reworded("KeyError"))
        assert main(["expected", "--check", "--assignment", str(copy_with_one_reference_run)]) == 1
        assert "public_mistakes.json: differs" in capsys.readouterr().out
    finally:
        path.write_text(original)
