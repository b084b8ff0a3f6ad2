"""The catalogue's family hooks run, during diagnosis, in a folder prepared as a kernel's: the case
inputs they read (dnn_app's curve cases read case_images.h5, written by the cases' prepare_workdir)
are there, so a curve case can name a family instead of reporting a hook that could not open a file."""

from __future__ import annotations

import nbformat

from grader.assignment.manifest import load_assignment
from grader.judge.catalogue import load_catalogue
from grader.judge.expected import ExpectedValues
from grader.judge.families import family_mistake, hook_folder
from grader.kernel.untrusted import result_of_value
from grader.model.diagnosis import DiagnosisBudget
from grader.model.notebook import CodeCell
from tests.fixtures import ASSIGNMENT_DIR
from tests.mistakes_corpus import SOLUTION, UPDATE


def test_a_curve_case_names_the_family_its_outputs_come_from(monkeypatch):
    """The student's outputs are the family's own with the rate the cell states: the hooks run in a
    folder holding the case's images, and the curve case names the family (before, its hooks could
    not open case_images.h5 and the case named no family)."""
    assignment = load_assignment(ASSIGNMENT_DIR)
    case = next(c for c in assignment.cases() if c.id == "L_layer_model/curve")
    notebook = nbformat.read(SOLUTION, as_version=4)
    source = next(c.source for c in notebook.cells if c.cell_type == "code" and "def L_layer_model" in c.source)
    assert UPDATE in source  # a rate stated in the cell: the family's evidence, so its hook runs
    cell = CodeCell(30, source.replace(UPDATE, "parameters = update_parameters(parameters, grads, 0.05)"))
    module = load_catalogue(assignment).module
    raw = module.family_outputs("learning-rate-constant", 0.05, case, hook_folder(assignment))
    student = result_of_value(raw["returned"], "".join(f"{line}\n" for line in raw["stdout"]))
    folders, real = [], module.family_outputs

    def recording(family_id, value, run_case, folder):
        folders.append(folder)
        return real(family_id, value, run_case, folder)

    monkeypatch.setattr(module, "family_outputs", recording)
    budget = DiagnosisBudget(seconds=120.0, runs=2)
    found = family_mistake(assignment, case, ExpectedValues(assignment).for_case(case.id), student, cell, budget)
    assert folders and all((folder / "case_images.h5").is_file() for folder in folders)
    assert all(folder != assignment.folder for folder in folders)  # never the instructor's folder itself
    assert budget.hook_failures == []
    assert found is not None and found.mistake == "learning-rate-constant" and found.parameter == "0.05"
