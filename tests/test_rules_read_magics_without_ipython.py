"""The submission rules read a notebook's usual line magics (`%matplotlib inline`) and shell escapes
without importing IPython, which would cost every `grader check` a fifth of a second; the names a
cell binds are the same as with IPython's own rewriting of the cell."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader.judge.rules import _bound_at_top_level, _parse, _parse_for_bindings
from tests.fixtures import ASSIGNMENT_DIR, ROOT

CELLS = [
    "%matplotlib inline\n%load_ext autoreload\n%autoreload 2\nimport numpy as np\nlayers_dims = [1, 2]\n",
    "!pip install h5py\nx, y = 1, 2\nfor i in range(3):\n    total = i\n",
    "x = 1\n%timeit y = 5\n",  # the magic's own text binds nothing
    'doc = """\n%not a magic, inside a string\n"""\nz = 3\n',
    "%%time\nw = 1\n",  # a cell magic: the cell is the magic's argument, IPython decides
    "if True:\n    %matplotlib inline\n    v = 2\n",  # indented: IPython decides
    "q = (1,\n%2)\n",  # inside an expression: `pass` cannot stand there, IPython decides
]


@pytest.mark.parametrize("source", CELLS)
def test_a_cell_binds_the_names_ipython_would_find(source):
    try:
        expected = _bound_at_top_level(_parse(source))
    except SyntaxError:
        with pytest.raises(SyntaxError):
            _parse_for_bindings(source)
        return
    assert _bound_at_top_level(_parse_for_bindings(source)) == expected


def test_the_rules_on_the_solution_import_no_ipython():
    code = (
        "import sys\n"
        "from grader.assignment.manifest import load_assignment\n"
        "from grader.assignment.notebook import read_submission\n"
        "from grader.judge import rules\n"
        f"assignment = load_assignment({str(ASSIGNMENT_DIR)!r})\n"
        "parsed = read_submission(assignment.folder / assignment.solution, assignment.setup_marker)\n"
        "assert '%matplotlib' in ''.join(cell.source for cell in parsed.cells)\n"
        "assert rules.check(parsed, assignment) == []\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'IPython'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
