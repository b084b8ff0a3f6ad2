"""The reference reproduces the course's published numbers, and its fast loop is exact."""

import contextlib
import importlib.util
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from reference import helpers, models, training
from reference.__main__ import accuracy, flatten
from tests.fixtures import ROOT, printed_costs, printed_lines

PUBLISHED = {
    "two_layer_model": {
        "dims": (12288, 7, 1),
        "costs": {0: 0.693049735659989, 100: 0.6464320953428849, 2499: 0.04421498215868956},
        "train": 0.9999999999999998,
        "test": 0.72,
    },
    "L_layer_model": {
        "dims": [12288, 20, 7, 5, 1],
        "costs": {0: 0.7717493284237686, 100: 0.6720534400822914, 2499: 0.08843994344170202},
        "train": 0.9856459330143539,
        "test": 0.8,
    },
}


@pytest.fixture(scope="module")
def real(real_data_dir):
    train_x, train_y, test_x, test_y, classes = helpers.load_data(str(real_data_dir))
    return flatten(train_x), train_y, flatten(test_x), test_y


@pytest.mark.slow  # the two whole trainings on the real data: minutes, no kernel
@pytest.mark.parametrize("name", PUBLISHED)
def test_published_numbers_on_the_real_data(real, name):
    train_x, train_y, test_x, test_y = real
    published = PUBLISHED[name]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        parameters, costs = training.FAST_FUNCTIONS[name](
            train_x, train_y, published["dims"], num_iterations=2500, print_cost=True
        )
    printed = printed_costs(out.getvalue())
    for iteration, value in published["costs"].items():
        assert printed[iteration] == pytest.approx(value, rel=1e-9)
    assert float(costs[0]) == pytest.approx(published["costs"][0], rel=1e-9)
    assert float(costs[1]) == pytest.approx(published["costs"][100], rel=1e-9)
    assert len(costs) == 25
    assert accuracy(train_x, train_y, parameters) == pytest.approx(published["train"], rel=1e-9)
    assert accuracy(test_x, test_y, parameters) == pytest.approx(published["test"], rel=1e-9)


@pytest.mark.slow  # the textbook loop trains for a minute, no kernel
@pytest.mark.parametrize("name", PUBLISHED)
def test_fast_loop_matches_the_textbook_loop_exactly(real, name):
    train_x, train_y = real[0][:, :60], real[1][:, :60]
    dims = PUBLISHED[name]["dims"]
    slow_out, fast_out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(slow_out):
        slow, slow_costs = models.GRADED_FUNCTIONS[name](train_x, train_y, dims, num_iterations=201, print_cost=True)
    with contextlib.redirect_stdout(fast_out):
        fast, fast_costs = training.FAST_FUNCTIONS[name](train_x, train_y, dims, num_iterations=201, print_cost=True)
    assert slow.keys() == fast.keys()
    for key in slow:
        np.testing.assert_array_equal(slow[key], fast[key])
    assert [float(c) for c in slow_costs] == [float(c) for c in fast_costs]
    assert slow_out.getvalue() == fast_out.getvalue()


PUBLIC_PRINTS = {
    "two_layer_model": ["Cost after iteration 1: 0.6915746967050506"] * 3
    + ["Cost after iteration 2: 0.6524135179683452"],
    "L_layer_model": ["Cost after iteration 1: 0.7070709008912569"] * 3
    + ["Cost after iteration 2: 0.7063462654190897"],
}


def _dnn_app_public_tests(monkeypatch):
    """dnn_app's public_tests.py, loaded by path: another assignment's module of the same name may
    already sit in sys.modules (the mutants run a solution's setup cell in this process)."""
    folder = ROOT / "assignments" / "dnn_app"
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location("_dnn_app_public_tests", folder / "public_tests.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", PUBLIC_PRINTS)
def test_public_tests_print_the_published_lines(monkeypatch, capsys, name):
    monkeypatch.chdir(ROOT / "assignments" / "dnn_app")
    public_tests = _dnn_app_public_tests(monkeypatch)
    getattr(public_tests, name + "_test")(models.GRADED_FUNCTIONS[name])
    lines = capsys.readouterr().out.splitlines()
    assert printed_lines(lines[:4], PUBLIC_PRINTS[name]), lines[:4]
    assert "All tests passed." in lines[4]


def test_public_tests_name_what_differs(monkeypatch, capsys):
    public_tests = _dnn_app_public_tests(monkeypatch)

    def costs_every_iteration(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
        parameters, _ = models.L_layer_model(X, Y, layers_dims, learning_rate, num_iterations, print_cost)
        return parameters, [0.7] * num_iterations

    with pytest.raises(AssertionError):
        public_tests.L_layer_model_test(costs_every_iteration)
    assert "costs has 2 entries, expected 1" in capsys.readouterr().out


def test_template_quirk_last_iteration_always_prints(capsys):
    np.random.seed(3)
    X, Y = np.random.randn(4, 6), (np.random.rand(1, 6) > 0.5).astype(float)
    for function in (models.two_layer_model, training.two_layer_model):
        _, costs = function(X, Y, (4, 2, 1), num_iterations=150, print_cost=False)
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Cost after iteration 149: ")
        assert len(costs) == 2 and all(isinstance(c, np.ndarray) and c.shape == () for c in costs)


def test_helpers_keep_the_course_conventions(capsys):
    Z = np.array([[-1.0, 0.0, 2.0]])
    A, cache = helpers.relu(Z)
    assert cache is Z and A.tolist() == [[0.0, 0.0, 2.0]]
    A, cache = helpers.sigmoid(Z)
    assert cache is Z and A[0, 1] == 0.5
    assert helpers.relu_backward(np.ones_like(Z), Z).tolist() == [[0.0, 0.0, 1.0]]
    first = helpers.initialize_parameters_deep([5, 3, 1])
    np.random.seed(99)
    again = helpers.initialize_parameters_deep([5, 3, 1])
    np.testing.assert_array_equal(first["W1"], again["W1"])  # seeds itself with 1
    np.random.seed(1)
    np.testing.assert_array_equal(first["W1"], np.random.randn(3, 5) / np.sqrt(5))
    two = helpers.initialize_parameters(5, 3, 1)
    np.random.seed(1)
    np.testing.assert_array_equal(two["W1"], np.random.randn(3, 5) * 0.01)
    X = np.random.randn(5, 4)
    AL, caches = helpers.L_model_forward(X, first)
    assert len(caches) == 2 and caches[0][0][0] is X
    Y = np.array([[1, 0, 1, 0]])
    cost = helpers.compute_cost(AL, Y)
    assert isinstance(cost, np.ndarray) and cost.shape == ()
    grads = helpers.L_model_backward(AL, Y, caches)
    assert set(grads) == {"dA0", "dA1", "dW1", "db1", "dW2", "db2"}
    updated = helpers.update_parameters(first, grads, 0.1)
    np.testing.assert_array_equal(updated["W2"], first["W2"] - 0.1 * grads["dW2"])
    p = helpers.predict(X, Y, first)
    assert p.shape == (1, 4) and set(np.unique(p)) <= {0.0, 1.0}
    assert capsys.readouterr().out.startswith("Accuracy: ")


def test_load_data_explains_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="DNN_DATA_DIR"):
        helpers.load_data(str(tmp_path))


def test_synthetic_dataset_has_the_real_format_and_is_deterministic(tmp_path, synthetic_data_dir):
    import h5py

    from reference.synthetic import write_synthetic_dataset

    again = write_synthetic_dataset(tmp_path / "again")
    for name, size in (("train", 209), ("test", 50)):
        path = synthetic_data_dir / f"{name}_catvnoncat.h5"
        assert path.read_bytes() == (again / path.name).read_bytes()
        with h5py.File(path) as f:
            assert f[f"{name}_set_x"].shape == (size, 64, 64, 3) and f[f"{name}_set_x"].dtype == np.uint8
            assert f[f"{name}_set_y"].shape == (size,) and f[f"{name}_set_y"].dtype == np.int64
            assert f["list_classes"][:].tolist() == [b"non-cat", b"cat"]


@pytest.mark.slow  # trains both models in a subprocess, no kernel
def test_both_models_learn_the_synthetic_data(synthetic_data_dir):
    result = subprocess.run(
        [sys.executable, "-m", "reference", "train", "--data", str(synthetic_data_dir), "--iterations", "600"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["model"] for r in rows] == ["two_layer", "L_layer"]
    _, test_y = helpers.load_data(str(synthetic_data_dir))[2:4]
    chance = max(test_y.mean(), 1 - test_y.mean())
    for row in rows:
        assert set(row) == {"model", "layers_dims", "costs", "train_accuracy", "test_accuracy", "seconds"}
        assert row["test_accuracy"] >= chance + 0.15, row
        assert list(row["costs"])[:2] == ["0", "100"] and "599" in row["costs"]


@pytest.mark.slow  # trains both loops in a subprocess, no kernel
def test_bench_reports_identical_results_and_a_ratio(synthetic_data_dir):
    result = subprocess.run(
        [sys.executable, "-m", "reference", "bench", "--data", str(synthetic_data_dir), "--iterations", "30"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    figures = json.loads(result.stdout)
    assert figures["identical_results"] is True
    assert figures["speedup"] > 0 and figures["textbook_seconds"] > 0


def test_cli_rejects_a_folder_without_the_data(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "reference", "train", "--data", str(tmp_path)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 2 and "python -m reference synth" in result.stderr
    assert "Traceback" not in result.stderr
