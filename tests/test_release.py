"""`grader release`: what the bundle holds, what it must never hold, and how its notebook fails."""

import json
import re
import zipfile
from pathlib import Path

import h5py
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from grader import cli
from grader.assignment.manifest import load_assignment
from grader.assignment.notebook import graded_name
from grader.assignment.released import MARKER_FILE, ReleaseError, region_spans
from grader.judge.catalogue import PUBLIC_MISTAKES_FILE
from grader.judge.expected import ExpectedValues
from grader.verbs.release import build_release
from tests import notebook_edits as edits
from tests.fixtures import ASSIGNMENT_DIR

DATA_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    for name in DATA_FILES:
        with h5py.File(folder / name, "w") as handle:
            handle["pictures"] = np.arange(12, dtype=np.uint8)
    (folder / "notes.txt").write_text("not a dataset")
    return folder


@pytest.fixture(scope="module")
def release(assignment, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "dnn_app_release"
    folder, archive = build_release(assignment, out, data_dir)
    return folder, archive


def bundle_files(folder):
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def solution_lines():
    """Code lines inside the solution's YOUR CODE regions (the answers)."""
    found = set()
    for cell in edits.solution().cells:
        if cell.cell_type == "code":
            lines = cell.source.split("\n")
            for start, end in region_spans(lines):
                found.update(
                    line.strip() for line in lines[start + 1 : end] if line.strip() and not line.strip().startswith("#")
                )
    return found


def test_the_bundle_holds_the_notebook_the_manifest_and_the_support_files(assignment, release):
    folder, archive = release
    assert folder.is_dir() and archive == folder.with_name(folder.name + ".zip")
    expected = {
        assignment.student_notebook,
        "assignment.toml",
        MARKER_FILE,
        "images/my_image.jpg",
        PUBLIC_MISTAKES_FILE,
        *(f"datasets/{name}" for name in DATA_FILES),
        *(name for name in assignment.support if (ASSIGNMENT_DIR / name).is_file()),
    }
    assert bundle_files(folder) == expected
    bundle = load_assignment(folder)
    assert bundle.is_bundle and bundle.name == assignment.name


def test_the_bundle_holds_nothing_secret(assignment, release):
    folder, archive = release
    names = bundle_files(folder)
    for secret in (assignment.cases_file, assignment.expected_file, assignment.solution):
        assert not any(name.endswith(secret) for name in names)
    assert not any(name.startswith("reference") or name.endswith(".npz") for name in names)

    texts = {name: (folder / name).read_bytes().decode("utf-8", "replace") for name in names}
    everything = "\n".join(texts.values())
    answers = solution_lines()
    assert len(answers) >= 10
    assert not [line for line in answers if line in everything]

    hidden = [case for case in assignment.cases() if case.visibility == "hidden"]
    assert hidden
    for case in hidden:
        assert case.id not in everything and case.description not in everything
    expected = ExpectedValues(assignment)
    for case in hidden:
        values = expected.for_case(case.id)
        shown = [float(np.ravel(values.parts["costs"])[0])] + [
            float(np.ravel(v)[0]) for v in values.parts["parameters"].values()
        ]
        for value in shown:
            assert repr(value) not in everything and f"{value:.10g}" not in everything, case.id


def test_the_bundles_mistakes_hold_public_cases_and_texts_only(assignment, release):
    """The self-check's catalogue: texts, regex patterns and outcomes on the public cases, no code."""
    folder, _ = release
    document = json.loads((folder / PUBLIC_MISTAKES_FILE).read_text())
    assert set(document) == {"mistakes", "outcomes"}
    public = {case.id for case in assignment.cases() if case.visibility == "visible"}
    cases = {key.split("|")[1] for key in document["outcomes"]}
    assert cases and cases <= public
    mistakes = {key.split("|")[0] for key in document["outcomes"]}
    assert mistakes <= set(document["mistakes"])
    for entry in document["mistakes"].values():
        assert set(entry) == {"title", "explanation", "fix", "pattern"}
        assert entry["pattern"] is None or isinstance(entry["pattern"], str)
    text = (folder / PUBLIC_MISTAKES_FILE).read_text()
    assert "def " not in text and "import " not in text and "reference" not in text


def test_the_zip_holds_exactly_the_folder(release):
    folder, archive = release
    with zipfile.ZipFile(archive) as zipped:
        inside = {info.filename: zipped.read(info) for info in zipped.infolist()}
    assert inside == {f"{folder.name}/{name}": (folder / name).read_bytes() for name in bundle_files(folder)}


def test_the_released_notebook_is_the_solution_with_empty_regions(assignment, release):
    folder, _ = release
    released = nbformat.read(folder / assignment.student_notebook, as_version=4)
    nbformat.validate(released)
    solution = edits.solution()
    check_cell = released.cells.pop()  # release adds the self-check's how-to as the last cell
    assert check_cell.cell_type == "markdown" and "from grader import check" in check_cell.source
    assert [c.cell_type for c in released.cells] == [c.cell_type for c in solution.cells]
    regions = 0
    for mine, theirs in zip(released.cells, solution.cells, strict=True):
        if mine.cell_type != "code":
            assert mine.source == theirs.source
            continue
        assert mine.outputs == [] and mine.execution_count is None
        lines, original = mine.source.split("\n"), theirs.source.split("\n")
        spans = region_spans(lines)
        regions += len(spans)
        assert len(spans) == len(region_spans(original))
        assert all(end == start + 1 for start, end in spans)  # nothing between the markers
        kept = [
            line for i, line in enumerate(original) if not any(start < i < end for start, end in region_spans(original))
        ]
        assert lines == kept  # everything else, hints included, is as in the solution
    assert regions >= 10
    graded = [graded_name(c.source) for c in released.cells if c.cell_type == "code" and graded_name(c.source)]
    assert graded == [f.name for f in assignment.functions]
    assert "# parameters = ..." in "\n".join(c.source for c in released.cells)


def test_a_new_release_replaces_the_previous_bundle(assignment, tmp_path):
    out = tmp_path / "bundle"
    build_release(assignment, out, None)
    (out / "leftover.txt").write_text("from an older release")
    (out / "datasets").mkdir()
    # A file the bundle never held is not deleted: the release stops and names it.
    with pytest.raises(ReleaseError, match="leftover.txt"):
        build_release(assignment, out, None)
    assert (out / "leftover.txt").read_text() == "from an older release"
    (out / "leftover.txt").unlink()
    folder, archive = build_release(assignment, out, None)
    assert "leftover.txt" not in bundle_files(folder) and not (folder / "datasets").exists()
    with zipfile.ZipFile(archive) as zipped:
        assert not [name for name in zipped.namelist() if "leftover" in name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "bundle.zip"]  # no staging leftovers


def test_release_refuses_a_folder_that_is_not_a_bundle(assignment, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(ReleaseError, match="not empty and is not a previous release bundle"):
        build_release(assignment, out, None)
    assert (out / "thesis.tex").read_text() == "precious" and len(list(out.iterdir())) == 1
    # Through the command line: one clear line, exit status 2, no traceback.
    assert cli.main(["release", "--assignment", str(ASSIGNMENT_DIR), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_release_refuses_a_bundle_as_its_source_and_a_data_folder_without_data(assignment, release, tmp_path):
    folder, _ = release
    with pytest.raises(ReleaseError, match="is a release bundle"):
        build_release(load_assignment(folder), tmp_path / "again", None)
    with pytest.raises(ReleaseError, match="lacks train_catvnoncat.h5"):
        build_release(assignment, tmp_path / "nodata", tmp_path)
    assert not (tmp_path / "nodata").exists()


def test_the_command_line_writes_folder_and_zip(tmp_path, capsys):
    out = tmp_path / "release"
    assert cli.main(["release", "--assignment", str(ASSIGNMENT_DIR), "--out", str(out)]) == 0
    assert f"wrote {out}/ and {out}.zip" in capsys.readouterr().out
    assert (out / "dnn_app.ipynb").is_file() and (tmp_path / "release.zip").is_file()


def test_the_released_notebook_fails_both_public_tests_with_a_clear_message(assignment, release):
    """Setup, the graded cells and the notebook's own public-test calls, run as a student would."""
    folder, _ = release
    released = nbformat.read(folder / assignment.student_notebook, as_version=4)
    code = [c.source for c in released.cells if c.cell_type == "code"]
    setup = [s for s in code if assignment.setup_marker in s]
    test_calls = [
        line.strip() for s in code for line in s.split("\n") if re.fullmatch(r"\w+_test\(\w+\)", line.strip())
    ]
    assert len(test_calls) == 2
    cells = setup[:]
    for function in assignment.functions:
        cells.append(next(s for s in code if graded_name(s) == function.name))
        cells.append(next(line for line in test_calls if line.startswith(function.name + "_test(")))
    cells.append("print('the kernel is still alive')")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    NotebookClient(
        notebook, timeout=60, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}}
    ).execute()

    outputs = {cell.source: cell.outputs for cell in notebook.cells}
    for function in assignment.functions:
        call = next(line for line in test_calls if line.startswith(function.name + "_test("))
        printed = "".join(o.get("text", "") for o in outputs[call] if o.output_type == "stream")
        errors = [o for o in outputs[call] if o.output_type == "error"]
        assert f"{function.name} raised NameError" in printed, printed
        assert "YOUR CODE region" in printed and "Tests failed" in printed
        assert [e.ename for e in errors] == ["AssertionError"]
    assert "still alive" in outputs[cells[-1]][0]["text"]
    # Setup and the graded cells themselves ran without error.
    for source in cells[: len(setup)] + [s for s in cells if graded_name(s)]:
        assert not [o for o in outputs[source] if o.output_type == "error"]


def test_the_marker_file_names_the_release(assignment, release):
    folder, _ = release
    marker = json.loads((folder / MARKER_FILE).read_text())
    assert (marker["assignment"], marker["version"], marker["notebook"]) == (
        assignment.name,
        assignment.version,
        assignment.student_notebook,
    )


def test_one_scan_pairs_the_markers_and_says_what_does_not_pair(tmp_path):
    from grader.assignment.released import check_markers, scan_regions

    start, end = "    # YOUR CODE STARTS HERE", "    # YOUR CODE ENDS HERE"
    assert scan_regions(["x", start, "a = 1", end]).spans == [(1, 3)]
    nested = scan_regions([start, start, end])
    assert nested.spans == [(1, 2)] and "inside the region opened at line 1" in nested.problems[0][1]
    assert "without a YOUR CODE STARTS HERE" in scan_regions([end]).problems[0][1]
    assert "never closed" in scan_regions(["x", start]).problems[0][1]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("\n".join(["x", start, "y"]))])
    with pytest.raises(ReleaseError, match=r"solution.ipynb, cell 1, line 2: YOUR CODE STARTS HERE is never closed"):
        check_markers(notebook, tmp_path / "solution.ipynb")


# --- the toy assignment, edited: what release refuses, and what it removes ----------------------------

MEAN_LINE = "result = float(np.mean(np.asarray(x) ** 2))"  # the answer inside mean_square's region


def toy_copy(toy_dir, tmp_path):
    """A fresh copy of the toy assignment (with its data file), free to edit."""
    import shutil

    return Path(shutil.copytree(toy_dir, tmp_path / "toy"))


def edit_solution(folder, change):
    """Apply `change(notebook)` to the copy's solution notebook."""
    path = folder / "toy_solution.ipynb"
    notebook = nbformat.read(path, as_version=4)
    change(notebook)
    nbformat.write(notebook, path)


def graded_cell(notebook, name):
    return next(c for c in notebook.cells if c.cell_type == "code" and graded_name(c.source) == name)


def without_markers(notebook):
    cell = graded_cell(notebook, "mean_square")
    cell.source = "\n".join(line for line in cell.source.split("\n") if "YOUR CODE" not in line)


def add_to_function_table(folder, name, line):
    path = folder / "assignment.toml"
    text = path.read_text()
    anchor = f'name = "{name}"\n'
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + line + "\n", 1))


def test_a_graded_cell_without_a_region_is_refused_naming_both_fixes(toy_dir, tmp_path, capsys):
    """Silent failure 2: such a cell used to go out with its solution, and release exited 0."""
    folder = toy_copy(toy_dir, tmp_path)
    edit_solution(folder, without_markers)
    out = tmp_path / "bundle"
    assert cli.main(["release", "--assignment", str(folder), "--out", str(out)]) == 2
    said = capsys.readouterr().err
    assert "toy_solution.ipynb, cell 3 (GRADED FUNCTION: mean_square)" in said
    assert "YOUR CODE STARTS HERE" in said and "`given = true`" in said and "[[function]]" in said
    assert "Traceback" not in said and not out.exists() and not (tmp_path / "bundle.zip").exists()


def test_a_given_graded_cell_is_released_as_written(toy_dir, tmp_path):
    folder = toy_copy(toy_dir, tmp_path)
    edit_solution(folder, without_markers)
    add_to_function_table(folder, "mean_square", "given = true")
    bundle, _ = build_release(load_assignment(folder), tmp_path / "bundle", None)
    released = nbformat.read(bundle / "toy.ipynb", as_version=4)
    assert MEAN_LINE in graded_cell(released, "mean_square").source
    assert 'out = params["W"] @ x + params["b"]' not in graded_cell(released, "apply_params").source


def test_a_graded_function_without_its_cell_is_refused(toy_dir, tmp_path):
    folder = toy_copy(toy_dir, tmp_path)
    edit_solution(folder, lambda nb: nb.cells.remove(graded_cell(nb, "apply_params")))
    with pytest.raises(ReleaseError, match=r"no '# GRADED FUNCTION: apply_params' cell, but assignment.toml grades"):
        build_release(load_assignment(folder), tmp_path / "bundle", None)


def test_a_solution_line_anywhere_in_the_notebook_is_refused_naming_cell_and_line(toy_dir, tmp_path):
    folder = toy_copy(toy_dir, tmp_path)
    edit_solution(folder, lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell(f"Hint:\n`{MEAN_LINE}`")))
    with pytest.raises(ReleaseError, match=r"toy.ipynb, cell 7, line 2 still holds the solution line"):
        build_release(load_assignment(folder), tmp_path / "bundle", None)
    assert not (tmp_path / "bundle").exists()
    # The last look covers code cells too (a bundle built another way, say).
    from grader.assignment.released import solution_only_lines
    from grader.verbs.release import _verify_notebook

    assignment = load_assignment(toy_copy(toy_dir, tmp_path / "again"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\n\n    " + MEAN_LINE + "  ")])
    with pytest.raises(ReleaseError, match=r"cell 1, line 3 still holds the solution line 'result = float"):
        _verify_notebook(notebook, assignment, solution_only_lines(assignment))


def test_mistake_cells_are_removed_and_never_graded_or_run(toy_dir, tmp_path):
    """The toy's `# MISTAKE: sum-not-mean` cell (a wrong copy of mean_square) stays instructor-only."""
    from grader.assignment.notebook import parse_notebook
    from grader.assignment.released import is_mistake_cell
    from grader.verbs.release import _verify_notebook

    folder = toy_copy(toy_dir, tmp_path)
    assignment = load_assignment(folder)
    solution = nbformat.read(folder / "toy_solution.ipynb", as_version=4)
    wrong = [index for index, cell in enumerate(solution.cells) if is_mistake_cell(cell)]
    assert len(wrong) == 1 and "np.sum(" in solution.cells[wrong[0]].source
    bundle, _ = build_release(assignment, tmp_path / "bundle", None)
    released = nbformat.read(bundle / "toy.ipynb", as_version=4)
    assert "MISTAKE" not in json.dumps(released) and "np.sum(" not in (bundle / MARKER_FILE).read_text()
    assert len(released.cells) == len(solution.cells) - 1 + 1  # without the wrong copy, + the check cell
    # Grading the solution: the wrong copy is neither the graded cell, nor setup, nor run with the rest.
    parsed = parse_notebook(solution, assignment.setup_marker)
    assert "np.mean(" in parsed.graded["mean_square"].source
    assert not [c for c in parsed.setup + parsed.cells if "MISTAKE" in c.source]
    assert [c.index for c in parsed.instructor_only] == wrong
    # A student's notebook is read as before: a cell that merely mentions the marker stays.
    student = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("from toy_utils import squared_error\n# MISTAKE: none here")]
    )
    assert [c.index for c in parse_notebook(student, assignment.setup_marker).setup] == [0]
    # A bundle whose notebook still holds a mistake cell is refused.
    solution.cells = [c for c in solution.cells if is_mistake_cell(c)]
    with pytest.raises(ReleaseError, match=r"cell 1 is an instructor-only '# MISTAKE:' cell"):
        _verify_notebook(solution, assignment, set())


def test_other_markers_release_and_the_rules_checker_reads_them(toy_dir, tmp_path):
    from grader.assignment.notebook import parse_notebook
    from grader.judge.rules import check

    folder = toy_copy(toy_dir, tmp_path)

    def other_markers(notebook):
        for cell in notebook.cells:
            cell.source = cell.source.replace("# YOUR CODE STARTS HERE", "# BEGIN SOLUTION").replace(
                "# YOUR CODE ENDS HERE", "# END SOLUTION"
            )

    edit_solution(folder, other_markers)
    with (folder / "assignment.toml").open("a") as manifest:
        manifest.write('\n[release]\nregion_start = "BEGIN SOLUTION"\nregion_end = "END SOLUTION"\n')
    assignment = load_assignment(folder)
    bundle, _ = build_release(assignment, tmp_path / "bundle", None)
    released = nbformat.read(bundle / "toy.ipynb", as_version=4)
    cell = graded_cell(released, "mean_square").source
    assert MEAN_LINE not in cell and "# BEGIN SOLUTION\n    # END SOLUTION" in cell
    # The rules checker finds the regions by the same markers: code inside one is no edit, outside one is.
    inside = cell.replace("# BEGIN SOLUTION", "# BEGIN SOLUTION\n    result = 0.0")
    graded_cell(released, "mean_square").source = inside
    assert not [f for f in check(parse_notebook(released, assignment.setup_marker), assignment) if f.line]
    graded_cell(released, "mean_square").source = inside.replace("    return result", "    return result + 1")
    found = check(parse_notebook(released, assignment.setup_marker), assignment)
    assert [f.rule.value for f in found] == ["edit-replaced"]


QUOTING_ENTRY = """
MISTAKES.append({
    "id": "plus-one", "title": "one too many", "explanation": "e", "fix": "Write %s.",
    "functions": ["mean_square"], "variants": {"mean_square": lambda x: 0.0},
})


def variant_outputs(mistake_id, case, folder):
    return {"returned": 0.0, "stdout": []}
"""


def test_a_mistake_text_quoting_the_solution_is_refused_when_the_catalogue_loads(toy_dir, tmp_path):
    """Silent failure 7: such a text used to be cut in the bundle ("Fix: Write …."), without a word.
    Here in the mistakes module; the manifest's [[mistake]] tables are checked the same (below)."""
    from grader.assignment.manifest import AssignmentError
    from grader.judge.catalogue import load_catalogue

    folder = toy_copy(toy_dir, tmp_path)
    path = folder / "mistakes.py"
    path.write_text(path.read_text() + QUOTING_ENTRY % MEAN_LINE)
    with pytest.raises(AssignmentError) as refused:
        load_catalogue(load_assignment(folder))
    said = str(refused.value)
    assert str(path) in said and "mistake 'plus-one'" in said and "the fix" in said
    assert MEAN_LINE in said and "describe the change instead of quoting the line" in said
    with pytest.raises(AssignmentError, match="describe the change"):  # release refuses it too, nothing written
        build_release(load_assignment(folder), tmp_path / "bundle", None)
    assert not (tmp_path / "bundle").exists()


def test_a_manifest_mistake_quoting_the_solution_is_refused(toy_dir, tmp_path):
    from grader.assignment.manifest import AssignmentError
    from grader.judge.catalogue import load_catalogue

    folder = toy_copy(toy_dir, tmp_path / "m")
    with (folder / "assignment.toml").open("a") as manifest:
        manifest.write(
            '\n[[mistake]]\nid = "plus-one"\nfunction = "mean_square"\ntitle = "one too many"\n'
            f'explanation = "It should read {MEAN_LINE.replace(chr(34), "")}"\nfix = "Drop the + 1."\n'
        )
    refused = r"assignment.toml \[\[mistake\]\]: the explanation of mistake 'plus-one'"
    with pytest.raises(AssignmentError, match=refused):
        load_catalogue(load_assignment(folder))


def test_a_stale_public_catalogue_quoting_the_solution_is_refused_not_cut(toy_dir, tmp_path):
    folder = toy_copy(toy_dir, tmp_path)
    path = folder / PUBLIC_MISTAKES_FILE
    document = json.loads(path.read_text())
    document["mistakes"]["sum-not-mean"]["title"] = f"not {MEAN_LINE}"
    path.write_text(json.dumps(document))
    with pytest.raises(ReleaseError, match=r"public_mistakes.json gives the title of mistake 'sum-not-mean'"):
        build_release(load_assignment(folder), tmp_path / "bundle", None)


def test_no_secret_name_is_empty(toy_dir):
    import dataclasses

    from grader.verbs.release import _secret_names

    assignment = dataclasses.replace(load_assignment(toy_dir), cases_file="", mistakes_file="")
    assert "" not in _secret_names(assignment) and "toy_solution.ipynb" in _secret_names(assignment)


def test_releasing_twice_writes_the_same_notebook(assignment, release, tmp_path):
    """The released notebook is the same file every time (its added cell's id is fixed): a student's
    blank notebook keeps its hash from one release to the next."""
    folder, _ = release
    again, _ = build_release(assignment, tmp_path / "again", None)
    name = assignment.student_notebook
    assert (again / name).read_bytes() == (folder / name).read_bytes()
