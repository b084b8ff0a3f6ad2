"""A self-check runs only the setup lines its graded code can reach (grader.grading.needed); the
rest is named on its screen, and its verdicts are the ones grading the whole setup cell gives."""

import nbformat
import pytest

from grader import cli
from grader.assignment.manifest import load_assignment
from grader.assignment.notebook import parse_submission
from grader.grading import GradeOptions, grade_one
from grader.grading.needed import trimmed_setup
from grader.judge.expected import ExpectedValues
from grader.verbs.release import build_release
from tests import notebook_edits as edits
from tests.fixtures import ASSIGNMENT_DIR

SETUP = "from dnn_app_utils_v3 import"
PLOTTING = {"import matplotlib.pyplot as plt", "%matplotlib inline", "from PIL import Image", "import time"}


def parsed(notebook: nbformat.NotebookNode, assignment):
    data = nbformat.writes(notebook).encode()
    return parse_submission(data, "s.ipynb", assignment.setup_marker, assignment.markers.mistake_marker)


def setup_index(notebook) -> int:
    return edits.position_of(notebook, SETUP)


def kept_and_gone(notebook, assignment):
    """The setup cell's lines split into those the check runs and those it blanks (by text)."""
    trimmed = trimmed_setup(parsed(notebook, assignment), assignment)
    original = notebook.cells[setup_index(notebook)].source.split("\n")
    ran = trimmed.cells[0].source.split("\n")
    assert len(ran) == len(original)  # every line keeps its number
    assert all(now in (line, "pass") for line, now in zip(original, ran, strict=True))
    kept = {line.strip() for line, now in zip(original, ran, strict=True) if now == line and line.strip()}
    gone = {line.strip() for line, now in zip(original, ran, strict=True) if now != line and line.strip()}
    return kept, gone, trimmed


def with_graded_line(notebook, function: str, line: str):
    """The notebook with `line` added as the graded function's first statement."""
    return edits.replace(notebook, function, "    np.random.seed(1)\n", f"    np.random.seed(1)\n    {line}\n")


def test_plotting_lines_the_graded_code_never_reaches_are_left_out(assignment):
    kept, gone, trimmed = kept_and_gone(edits.solution(), assignment)
    assert PLOTTING <= gone
    assert {line for line in gone if line.startswith("plt.rcParams")} and not any("plt" in line for line in kept)
    assert {"import numpy as np", "from dnn_app_utils_v3 import *", "np.random.seed(1)"} <= kept
    assert trimmed.imports == ("numpy", "h5py")  # what a kernel started ahead imports: nothing of plotting
    assert len(trimmed.skipped) == 1 and trimmed.skipped[0].cell == setup_index(edits.solution()) + 1


def test_a_graded_function_that_plots_keeps_the_plotting_setup(assignment):
    notebook = with_graded_line(edits.solution(), "L_layer_model", "plt.figure()")
    kept, gone, trimmed = kept_and_gone(notebook, assignment)
    assert {"import matplotlib.pyplot as plt", "%matplotlib inline"} <= kept
    assert all(
        line in kept for line in edits.solution().cells[setup_index(notebook)].source.split("\n") if "rcParams" in line
    )
    assert gone == {"from PIL import Image", "import time", "import h5py"}
    assert "matplotlib.pyplot" in trimmed.imports and "matplotlib_inline.backend_inline" in trimmed.imports


@pytest.mark.parametrize(
    "line",
    [
        "print(globals()['plt'])",
        "eval('plt')",
        "import sys",
        "get_ipython()",
        "%time x = 1",
        "x = " + "-" * 100_000 + "1",  # too deep for Python's parser: MemoryError
        "x = '" + "a" * 600_000 + "'",  # past the bound on what is read
        "g = two_layer_model.__globals__",
        "m = np.sys.modules",
    ],
    ids=["globals", "eval", "sys", "get_ipython", "magic", "too-deep", "too-long", "__globals__", "modules"],
)
def test_code_reaching_names_by_other_means_runs_the_setup_cell_as_written(assignment, line):
    notebook = with_graded_line(edits.solution(), "L_layer_model", line)
    _, gone, trimmed = kept_and_gone(notebook, assignment)
    assert not gone and not trimmed.skipped


@pytest.mark.parametrize(
    "setup_line",
    [
        "%run helpers.py",  # an unknown magic
        "%%capture",  # a cell magic
        "x = (1,\n",  # a cell that does not parse
        'plt.NOTES = """\n%config Configurable.x = 1\n"""',  # a magic-looking line inside a string
        '_doc = """\n!"""; np.log = np.log1p; _end = """\n"""',  # a shell-looking line hiding code
        "import matplotlib.pyplot as plt\n" * 401,  # more statements than are read
    ],
    ids=["unknown-magic", "cell-magic", "no-parse", "magic-in-string", "shell-in-string", "too-many"],
)
def test_a_setup_cell_that_cannot_be_read_runs_as_written(assignment, setup_line):
    notebook = edits.solution()
    index = setup_index(notebook)
    notebook.cells[index].source = setup_line + "\n" + notebook.cells[index].source
    _, gone, _ = kept_and_gone(notebook, assignment)
    assert not gone


def test_what_the_kept_code_needs_is_kept_and_unknown_modules_run(assignment):
    notebook = edits.solution()
    index = setup_index(notebook)
    notebook.cells[
        index
    ].source += "\nsize = plt.rcParams['figure.figsize']\nimport scipy\nimport json; from PIL import ImageOps\n"
    notebook = with_graded_line(notebook, "L_layer_model", "print(size)")
    kept, gone, _ = kept_and_gone(notebook, assignment)
    # the graded code reads `size`, which reads `plt`: the import stays, and the other plotting lines with it
    assert {"size = plt.rcParams['figure.figsize']", "import matplotlib.pyplot as plt", "%matplotlib inline"} <= kept
    assert "import scipy" in kept  # the released notebook does not import it: its import may do anything
    assert "import json; from PIL import ImageOps" in kept  # shares its line with a statement that runs
    assert gone == {"from PIL import Image", "import time", "import h5py"}


def test_a_library_the_graded_code_imports_is_loaded_as_a_batchs_zygote_loads_it(assignment):
    """`import PIL` then `PIL.Image`: grading's kernels have PIL.Image loaded already."""
    notebook = with_graded_line(edits.solution(), "L_layer_model", "import PIL")
    _, gone, trimmed = kept_and_gone(notebook, assignment)
    assert "from PIL import Image" in gone  # `Image` is not read...
    assert "PIL.Image" in trimmed.imports  # ...but PIL.Image is loaded, as for grading
    assert "matplotlib.pyplot" not in trimmed.imports


def test_only_lines_as_released_are_left_out(assignment):
    """A line the student changed or added may fail where the released one would not: it runs."""
    notebook = edits.solution()
    index = setup_index(notebook)
    source = notebook.cells[index].source.replace("from PIL import Image", "from PIL import Imag")
    notebook.cells[index].source = source + "\nplt.rcParams['image.cmap'] = 'viridis'\n"
    kept, gone, _ = kept_and_gone(notebook, assignment)
    assert {"from PIL import Imag", "plt.rcParams['image.cmap'] = 'viridis'", "import matplotlib.pyplot as plt"} <= kept
    assert gone == {"import time", "import h5py"}


def test_a_library_the_assignments_own_module_loads_keeps_the_lines_that_touch_it(tmp_path, assignment):
    bundle, _ = build_release(assignment, tmp_path / "bundle", None)
    utils = bundle / "dnn_app_utils_v3.py"
    utils.write_text("import matplotlib.pyplot\n" + utils.read_text())
    released = load_assignment(bundle)
    kept, gone, _ = kept_and_gone(edits.solution(), released)
    assert {line for line in kept if "rcParams" in line} and "import matplotlib.pyplot as plt" in kept
    assert gone == {"from PIL import Image", "import time", "import h5py"}


@pytest.mark.kernel
def test_the_check_names_the_lines_it_left_out(capsys):
    status = cli.main(["check", str(edits.SOLUTION), "--assignment", str(ASSIGNMENT_DIR)])
    out = capsys.readouterr().out
    assert status == 0, out
    index = setup_index(edits.solution()) + 1
    said = " ".join(out.split())
    assert (
        f"Not run by this check: lines 1, 3–5 and 9–12 of the setup cell (cell {index}), as released, which no "
        "public case needs; grading runs them." in said
    )


@pytest.mark.kernel
def test_an_error_in_the_setup_cell_keeps_its_line_number(capsys, tmp_path):
    """The left-out lines stay lines: IPython drops a cell's leading empty lines, so they are `pass`."""
    notebook = edits.solution()
    index = setup_index(notebook)
    notebook.cells[index].source += "\nreturn 5\n"
    line = notebook.cells[index].source.split("\n").index("return 5") + 1
    status = cli.main(["check", str(edits.write(notebook, tmp_path / "n.ipynb")), "--assignment", str(ASSIGNMENT_DIR)])
    out = " ".join(capsys.readouterr().out.split())
    assert status == 0, out  # IPython ran the statements before it: the cases pass, the problem is said
    assert f"cell {index + 1} raised SyntaxError: 'return' outside function (line {line} of the cell)" in out


@pytest.mark.kernel
def test_trimmed_and_whole_setup_give_the_same_verdicts(assignment, sandbox, tmp_path):
    """The solution, a wrong function, and a setup cell that plots more than the released one."""
    broken = edits.replace(edits.solution(), "L_layer_model", "learning_rate)", "learning_rate * 2)")
    plotted = edits.solution()
    plotted.cells[setup_index(plotted)].source += "\nplt.figure()\nplt.plot([1, 2])\nImage.new('RGB', (2, 2))\n"
    expected = ExpectedValues(assignment)
    for name, notebook in {"solution": edits.solution(), "broken": broken, "plotted": plotted}.items():
        path = edits.write(notebook, tmp_path / f"{name}.ipynb")
        reports = [
            grade_one(path, assignment, expected, GradeOptions(public_only=True, trim_setup=trim, sandbox=sandbox))
            for trim in (True, False)
        ]
        outcomes = [[(v.case_id, v.status, v.passed, len(v.differences)) for v in r.cases] for r in reports]
        assert outcomes[0] == outcomes[1], name
        assert [type(p) for p in reports[1].problems] == [], name
        assert len(reports[0].problems) == 1, name  # only the lines left out
        assert (name == "broken") == any(not v.passed for v in reports[0].cases)
