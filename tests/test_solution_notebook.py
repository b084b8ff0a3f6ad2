"""The instructor's solution notebook runs top to bottom in a fresh kernel, on both datasets."""

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from tests.fixtures import ASSIGNMENT_DIR, printed, printed_costs, printed_lines

pytestmark = pytest.mark.kernel  # runs the notebook in a kernel: the sandbox is proven first (conftest.py)

TRAINING = "num_iterations = 2500"  # both training calls of the notebook


def execute_solution(tmp_path, data_dir, monkeypatch, iterations: int = 2500) -> str:
    """Run the solution notebook beside copies of its support files, its two trainings cut to
    `iterations`; return all its text output."""
    folder = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT_DIR, folder, ignore=shutil.ignore_patterns("cases.py", "expected.npz", "mistakes*"))
    notebook = nbformat.read(folder / "dnn_app_solution.ipynb", as_version=4)
    trainings = [cell for cell in notebook.cells if TRAINING in cell.source]
    assert len(trainings) == 2, "the solution notebook no longer trains twice for 2500 iterations"
    for cell in trainings:
        cell.source = cell.source.replace(TRAINING, f"num_iterations = {iterations}")
    monkeypatch.setenv("DNN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MPLBACKEND", "agg")
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                texts.append(output.text)
            elif output.output_type == "error":
                pytest.fail(f"cell raised {output.ename}: {output.evalue}")
    return "".join(texts)


def test_solution_notebook_prints_the_published_numbers(tmp_path, real_data_dir, monkeypatch):
    text = execute_solution(tmp_path, real_data_dir, monkeypatch)
    assert text.count("All tests passed.") == 2
    assert printed(text, "Cost after iteration 1: 0.6926114346158595")
    assert "Number of training examples: 209" in text and "test_x's shape: (12288, 50)" in text
    costs = printed_costs(text)  # the L-layer run comes last, so its lines win for equal iterations
    assert costs[0] == pytest.approx(0.7717493284237686, rel=1e-9)
    assert costs[100] == pytest.approx(0.6720534400822914, rel=1e-9)
    assert costs[2499] == pytest.approx(0.08843994344170202, rel=1e-9)
    assert printed(text, "Cost after iteration 2499: 0.04421498215868956")
    accuracies = [line for line in text.splitlines() if line.startswith("Accuracy: ")]
    assert printed_lines(
        accuracies[:4],
        ["Accuracy: 0.9999999999999998", "Accuracy: 0.72", "Accuracy: 0.9856459330143539", "Accuracy: 0.8"],
    )
    assert "your L-layer model predicts a" in text


def test_solution_notebook_runs_on_the_synthetic_data(tmp_path, synthetic_data_dir, monkeypatch):
    """Top to bottom on the synthetic files; the trainings cut short (the real data's run checks
    the published numbers of the whole trainings)."""
    text = execute_solution(tmp_path, synthetic_data_dir, monkeypatch, iterations=300)
    assert text.count("All tests passed.") == 2
    assert "Number of training examples: 209" in text
    assert "Cost after iteration 299: " in text and "Cost after iteration 300" not in text
