"""`grader new NAME`: a new assignment folder that grades end to end at once, to be edited from there.

It holds only the two files an assignment needs: `assignment.toml` (one graded function, a public
and a hidden case in the harness's recipe language, one catalogued mistake) and the solution
notebook (a setup cell, the graded cell with its learner region, and the mistake as a wrong copy of
the function in a `# MISTAKE:` cell, which release removes). The solution notebook is the
reference: `grader expected` runs it to store the expected values.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import nbformat

from grader.errors import UserError
from grader.model import ReleaseMarkers

NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
FUNCTION = "standardize"
MISTAKE_ID = "not-centred"

MANIFEST = """\
# Scaffolded by `grader new {name}`. Next: `grader expected --assignment {name}` stores the expected
# values (it runs the solution notebook in the sandbox), `grader check {name}/{name}_solution.ipynb`
# should say every case passed, and `grader release --assignment {name}` builds the student's bundle.
# docs/writing-an-assignment.md walks through the next steps; docs/manifest.md lists every key.

[assignment]
name = "{name}"
title = "{name}"
# Bump when cases, points or expected values change: the gradebook keys results by it.
version = "1"
solution = "{name}_solution.ipynb"
student_notebook = "{name}.ipynb"
# Copied beside the student's notebook: the public cases' expected values, which `grader check` reads.
support = ["public_tests_expected.json"]
# The setup cell (run before the graded cells) is the one holding this text.
setup_marker = "import numpy as np"
total_points = 10

[tolerance]
rtol = 1e-6
atol = 1e-9

[[function]]
name = "{function}"
points = 10
signature = ["x"]

# Cases: the arguments are built in the student's kernel from the recipe (seeded draws, arrays, ...).
[[case]]
id = "{function}/public"
function = "{function}"
visibility = "visible"
description = "public test: a 3 x 4 array of normal draws"
compare = ["returned", "inputs_unchanged"]
recipe = {{ seed = 0, args = {{ x = {{ normal = [3, 4] }} }} }}

[[case]]
id = "{function}/hidden"
function = "{function}"
visibility = "hidden"
description = "hidden test: a 5 x 2 array"
compare = ["returned"]
recipe = {{ seed = 1, args = {{ x = {{ uniform = [5, 2], low = -2, high = 3 }} }} }}

# A known mistake: its wrong copy of the function is the solution notebook's `# MISTAKE: {mistake}` cell.
[[mistake]]
id = "{mistake}"
function = "{function}"
title = "The mean is not subtracted"
explanation = "Each column is divided by its standard deviation, but its mean is still in it."
fix = "Subtract the column's mean (x.mean(axis=0)) before dividing."
"""

INTRO = """\
# {name}

Write `{function}(x)`: each column of `x` minus the column's mean, divided by the column's standard
deviation. Run `grader check` (or `from grader import check; check()`) to test it on the public case."""

SETUP = "import numpy as np"

GRADED = '''\
# GRADED FUNCTION: {function}

def {function}(x):
    """Each column of x minus its mean, divided by its standard deviation."""
    # {start}
    centred = x - x.mean(axis=0)
    return centred / x.std(axis=0)
    # {end}'''

WRONG_COPY = '''\
# {marker} {mistake}
def {function}(x):
    """Each column of x minus its mean, divided by its standard deviation."""
    return x / x.std(axis=0)'''


def _checked_name(name: str) -> str:
    """NAME as the folder, notebook and manifest use it, or why it cannot be one."""
    if not NAME.fullmatch(name) or keyword.iskeyword(name):
        raise UserError(
            f"'{name}' cannot name an assignment: use lower-case letters, digits and _ (starting with a "
            "letter, at most 40 characters, not a Python keyword), e.g. grader new logistic_regression"
        )
    return name


def solution_notebook(name: str, markers: ReleaseMarkers | None = None) -> nbformat.NotebookNode:
    """The scaffold's solution notebook: setup, the graded cell with its region, the mistake's copy."""
    markers = markers or ReleaseMarkers()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    fill = {"name": name, "function": FUNCTION, "mistake": MISTAKE_ID}
    notebook.cells = [
        nbformat.v4.new_markdown_cell(INTRO.format(**fill)),
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(GRADED.format(start=markers.region_start, end=markers.region_end, **fill)),
        nbformat.v4.new_code_cell(WRONG_COPY.format(marker=markers.mistake_marker, **fill)),
    ]
    return notebook


def new_assignment(name: str, out: Path | None = None) -> Path:
    """Write the folder NAME (inside `out`, default the current folder); refuses one that exists."""
    name = _checked_name(name)
    parent = Path(out) if out is not None else Path.cwd()
    if parent.exists() and not parent.is_dir():
        raise UserError(f"--out {parent} is a file: name the folder to make the assignment in")
    folder = parent / name
    if folder.exists():
        raise UserError(f"{folder} already exists: choose another NAME or --out, or remove it first")
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(
        MANIFEST.format(name=name, function=FUNCTION, mistake=MISTAKE_ID, marker=ReleaseMarkers().mistake_marker)
    )
    nbformat.write(solution_notebook(name), folder / f"{name}_solution.ipynb")
    return folder
