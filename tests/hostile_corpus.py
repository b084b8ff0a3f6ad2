"""Hostile and broken submissions, generated from the instructor's solution notebook.

Each entry is the solution with one thing changed (a graded cell, the setup cell, or the file
itself), so the corpus stays small and follows the assignment as it evolves. Every cheat here is a
real one: run without the sandbox, the cheats that read the grader's files would score.

    python tests/hostile_corpus.py [FOLDER]     write the corpus (default: tests/corpus_out)

`Hostile.expect` says what a correct grader reports: the submission's status, words the report
must contain (regular expressions, searched in the problems and case messages), the functions
that must score 0 and those that must keep their full points (the untouched function shows that
grading went on in a fresh kernel).
"""

from __future__ import annotations

import copy
import json
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_DIR = ROOT / "assignments" / "dnn_app"
SOLUTION = ASSIGNMENT_DIR / "dnn_app_solution.ipynb"
TWO, DEEP = "two_layer_model", "L_layer_model"
MARKER = "HOSTILE-WRITE-MARKER"  # in the name of every file a hostile notebook tries to create
PAYLOAD = "-".join(["written", "by", "a", "hostile", "notebook"])  # what it writes (not literally in this file)


@dataclass(frozen=True)
class Expect:
    status: str = "graded"
    words: tuple[str, ...] = ()
    zero: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    hidden_never: tuple[str, ...] = ()  # words no hidden case's messages may contain
    max_seconds: float | None = None  # grading took at most this long (a bound the limits make finite)


@dataclass(frozen=True)
class Hostile:
    name: str
    what: str
    build: Callable[[nbformat.NotebookNode, dict], bytes]
    expect: Expect = field(default_factory=Expect)


def solution_notebook() -> nbformat.NotebookNode:
    """The solution's code cells only, outputs cleared: the smallest faithful starting point."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in notebook.cells:
        cell.outputs, cell.execution_count = [], None
    return notebook


def _text(notebook: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(notebook).encode("utf-8")


def _cell(notebook: nbformat.NotebookNode, marker: str):
    for cell in notebook.cells:
        if cell.source.lstrip().startswith(marker) or (
            marker == "setup" and "from dnn_app_utils_v3 import" in cell.source
        ):
            return cell
    raise LookupError(marker)


def graded(notebook, function: str):
    return _cell(notebook, f"# GRADED FUNCTION: {function}")


def in_body(function: str, code: str, after_docstring: bool = True) -> Callable:
    """A builder that runs `code` at the start of `function`'s body."""

    def build(notebook, context):
        cell = graded(notebook, function)
        lines = cell.source.split("\n")
        start = next(i for i, line in enumerate(lines) if line.startswith(f"def {function}("))
        if after_docstring:
            quotes = [i for i, line in enumerate(lines) if line.strip().endswith('"""') and i > start]
            start = quotes[1] if len(quotes) > 1 else start  # the docstring's closing line
        filled = code.format(**{**context, "function": function})
        block = textwrap.indent(textwrap.dedent(filled).strip("\n"), "    ").split("\n")
        cell.source = "\n".join(lines[: start + 1] + block + lines[start + 1 :])
        return _text(notebook)

    return build


def replace_cell(function: str, code: str) -> Callable:
    """A builder whose graded cell for `function` is `code` (its first line kept)."""

    def build(notebook, context):
        graded(notebook, function).source = f"# GRADED FUNCTION: {function}\n\n" + textwrap.dedent(
            code.format(**{**context, "function": function})
        ).strip("\n")
        return _text(notebook)

    return build


def edit_source(marker: str, change: Callable[[str], str]) -> Callable:
    def build(notebook, context):
        cell = _cell(notebook, marker)
        cell.source = change(cell.source)
        return _text(notebook)

    return build


def _raw(data: bytes) -> Callable:
    return lambda notebook, context: data


def _truncated(notebook, context) -> bytes:
    text = _text(notebook)
    return text[: len(text) // 2]


def _nbformat3(notebook, context) -> bytes:
    old = nbformat.v3.convert.downgrade(copy.deepcopy(notebook))
    return json.dumps(old).encode("utf-8")


def _no_graded_cells(notebook, context) -> bytes:
    for function in (TWO, DEEP):
        cell = graded(notebook, function)
        cell.source = cell.source.replace(f"# GRADED FUNCTION: {function}", f"# Exercise: {function}")
    return _text(notebook)


def _duplicate(notebook, context) -> bytes:
    cell = graded(notebook, TWO)
    stale = nbformat.v4.new_code_cell()
    stale.source = f"# GRADED FUNCTION: {TWO}\n\ndef {TWO}(*args, **kwargs):\n    return None\n"
    notebook.cells.insert(notebook.cells.index(cell), stale)  # the later, correct cell wins
    return _text(notebook)


def _deleted(notebook, context) -> bytes:
    notebook.cells.remove(graded(notebook, DEEP))
    return _text(notebook)


# What the liars return: plausible shapes, wrong numbers, and every trick to look equal.
LIARS = '''
import numpy as np

class Liar:
    """Claims to equal anything."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = object.__hash__

class ArrayLiar(Liar):
    """Claims equality, and converts to an array of zeros of the right shape."""
    def __init__(self, shape): self.shape = shape
    def __array__(self, dtype=None, copy=None): return np.zeros(self.shape, dtype=dtype or float)
    def __len__(self): return self.shape[0]

class SlyArray(np.ndarray):
    """A numpy subclass whose comparisons and closeness checks always say yes."""
    def __eq__(self, other): return np.ones(self.shape, dtype=bool)
    def __ne__(self, other): return np.zeros(self.shape, dtype=bool)
    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in ("allclose", "array_equal", "isclose", "testing"):
            return True
        return super().__array_function__(func, types, args, kwargs)

def shaped(layers_dims):
    shapes = {{}}
    for l in range(1, len(layers_dims)):
        shapes["W" + str(l)] = (layers_dims[l], layers_dims[l - 1])
        shapes["b" + str(l)] = (layers_dims[l], 1)
    return shapes
'''


def _liar_cell(function: str, make: str) -> Callable:
    return replace_cell(
        function,
        LIARS
        + f"""
def {function}(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    parameters = {{{{name: {make} for name, shape in shaped(layers_dims).items()}}}}
    costs = [{make.replace("shape", "(1,)")} for _ in range(0, num_iterations, 100)]
    return parameters, costs
""",
    )


WALK_FOR_REFERENCE = """
import os, sys
found = None
for folder, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "usr", "lib", "lib64", "bin", "sbin")
               and not d.startswith(".")]
    if os.path.basename(folder) == "reference" and "models.py" in files:
        found = os.path.dirname(folder)
        break
    if "expected.npz" in files or "cases.py" in files:
        found = os.path.dirname(os.path.dirname(folder))
        break
if found is None:
    raise FileNotFoundError("walked the whole file system: no reference solution, cases.py or expected.npz")
sys.path.insert(0, found)
from reference.models import {function} as reference_answer
return reference_answer(X, Y, layers_dims, learning_rate, num_iterations, print_cost)
"""

READ_BY_PATH = """
import sys
import numpy as np
stored = np.load("{assignment}/expected.npz", allow_pickle=True)
cases = open("{assignment}/cases.py").read()
sys.path.insert(0, "{root}")
from reference.models import {function} as reference_answer
return reference_answer(X, Y, layers_dims, learning_rate, num_iterations, print_cost)
"""

IMPORT_REFERENCE = """
import sys
sys.path[:0] = ["{root}", "/work/main", ".."]
import reference.models
return reference.models.{function}(X, Y, layers_dims, learning_rate, num_iterations, print_cost)
"""

PATCH_COMPARISONS = """
import builtins
import numpy as np
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None
builtins.round = lambda x, *args: x
"""

WRITE_OUTSIDE = """
import os
targets = ["{assignment}/expected.npz", "{assignment}/cases.py", "{root}/reference/models.py",
           "{root}/{marker}-repo.txt", os.path.expanduser("~/{marker}-home.txt"), "/root/{marker}-root.txt",
           "/tmp/{marker}-tmp.txt", "../{marker}-parent.txt", "/{marker}-top.txt",
           "{outside}/{marker}-outside.txt"]
for target in targets:
    try:
        with open(target, "w") as handle:
            handle.write("{payload}")
    except OSError:
        pass
"""

FORGE_RESULTS = '''
import os
import numpy as np

class Payload:
    """Unpickling this outside the kernel would create a file on the grader's machine."""
    def __reduce__(self):
        return (exec, ("open('{outside}/{marker}-unpickled.txt', 'w').write('{payload}')",))

real_savez = np.savez
def forged_savez(file, *args, **arrays):
    np.savez = real_savez  # this call's results only: the other function's hidden cases run after it
    arrays["meta"] = np.array([Payload()], dtype=object)
    arrays["leaf:0"] = np.array([Payload()], dtype=object)
    return real_savez(file, *args, **arrays)
np.savez = forged_savez
'''

PROCESS_STORM = """
import os, time
started = 0
for _ in range(1000):
    try:
        pid = os.fork()
    except OSError as error:
        raise RuntimeError(f"fork failed after {{started}} processes: {{error}}") from None
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    started += 1
"""

MEMORY_BOMB = """
hog = []
for _ in range(60):
    hog.append(b"x" * 100_000_000)  # 6 GB in all, touched page by page
"""

# Patches the harness's np.savez (the function runs before it writes): what the grader then reads.
PATCH_SAVEZ = """
import json, os, sys, zipfile
import numpy as np
_real_savez = getattr(np, "_real_savez", np.savez)
np._real_savez = _real_savez
def _forged(file, *args, **arrays):
    np.savez = _real_savez  # this call's results only: the other function's hidden cases run after it
{forge}
np.savez = _forged
"""

FORGES = {
    # A link from the result file to an instructor-only file, which root on the host would follow.
    # (The grader's result file sits in a folder the kernel cannot change, so both steps may fail.)
    "link": (
        'for step in (lambda: os.remove(file), lambda: os.symlink("{assignment}/expected.npz", file)):\n'
        "    try:\n        step()\n    except OSError:\n        pass"
    ),
    "zero_d_costs": (
        'arrays[f"leaf:{{len(arrays) - 2}}"] = np.float64(0.5)  # the packed costs: the last leaf\n'
        "return _real_savez(file, *args, **arrays)"
    ),
    "meta_types": (
        'meta = json.loads(str(arrays["meta"]))\nmeta["returned"]["length"] = "2"\nmeta["cut"] = 7\n'
        'arrays["meta"] = np.array(json.dumps(meta))\nreturn _real_savez(file, *args, **arrays)'
    ),
    "repeated_members": (
        "import io\nbuffer = io.BytesIO()\n"
        'np.save(buffer, np.array(json.dumps({{"x": "y" * 5000}})))\n'
        'with zipfile.ZipFile(file, "w") as archive:\n'
        "    for _ in range(500):\n"
        '        archive.writestr("meta.npy", buffer.getvalue())'
    ),
}


def forged_results(kind: str) -> Callable:
    """L_layer_model returns as the solution does, after replacing the harness's writer by `kind`."""
    forge = textwrap.indent(FORGES[kind], "    ")
    return in_body(DEEP, PATCH_SAVEZ.replace("{forge}", forge))


ECHO = """
import sys
raise ValueError("ECHO-OF-THE-REQUEST " + repr(sys._getframe(1).f_locals["request"]))
"""


def _setup_sleepers(notebook, context) -> bytes:
    """Six more cells with the setup marker, each sleeping 10 s, after the real imports cell."""
    setup = _cell(notebook, "setup")
    at = notebook.cells.index(setup) + 1
    for number in range(6):
        notebook.cells.insert(
            at,
            nbformat.v4.new_code_cell(
                f"from dnn_app_utils_v3 import sigmoid  # extra imports {number}\nimport time\ntime.sleep(10)"
            ),
        )
    return _text(notebook)


FILL_DISK = """
chunk = b"x" * (8 * 1024 * 1024)
for number in range(75):  # 600 MB in files of 64 MB: more than the kernel's folder may hold
    with open(f"filler-{{number}}.bin", "wb") as handle:
        for _ in range(8):
            handle.write(chunk)
"""

MEMFD_HOARD = """
import os
chunk, held = b"x" * (16 * 1024 * 1024), []
for number in range(96):  # 1.5 GB in memfds of 128 MB: mapped nowhere, so the address-space limit misses it
    if number % 8 == 0:
        held.append(os.memfd_create("hoard"))
    os.write(held[-1], chunk)
"""

NESTED_NAMESPACE = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000 | 0x00020000) != 0:  # a user and a mount namespace, for a tmpfs of any size
    raise PermissionError(f"no user namespace here (errno {{ctypes.get_errno()}})")
"""

# The one sentence for a cell that printed too much, however its output was split into messages.
FLOODED = r"printed more than \d+ characters of output"
FLOOD_IN_PIECES = """import sys
for _ in range(3000):
    print('x' * 1000, end=''); sys.stdout.flush()
"""

CORPUS: list[Hostile] = [
    Hostile("empty", "an empty file", _raw(b""), Expect("invalid", (r"is empty",))),
    Hostile(
        "not_json",
        "a text file, not JSON",
        _raw(b"my homework, pasted as text\nprint('hi')\n"),
        Expect("invalid", (r"not valid JSON", r"\.ipynb")),
    ),
    Hostile("invalid_json", "a notebook cut off in the middle", _truncated, Expect("invalid", (r"not valid JSON",))),
    Hostile("nbformat3", "the solution saved in the old nbformat 3", _nbformat3, Expect("graded", (), (), (TWO, DEEP))),
    Hostile(
        "no_graded_cells",
        "the GRADED FUNCTION lines removed",
        _no_graded_cells,
        Expect("invalid", (r"no graded cell", r"# GRADED FUNCTION: name")),
    ),
    Hostile(
        "duplicate_graded",
        "two cells graded as two_layer_model; the last is right",
        _duplicate,
        Expect("graded", (r"two_layer_model has 2 graded cells", r"last one was graded"), (), (TWO, DEEP)),
    ),
    Hostile(
        "renamed",
        "two_layer_model renamed",
        edit_source(f"# GRADED FUNCTION: {TWO}", lambda s: s.replace(f"def {TWO}(", f"def {TWO}_v2(")),
        Expect("graded", (rf"no function named {TWO}",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "deleted",
        "the L_layer_model cell deleted",
        _deleted,
        Expect("graded", (rf"no cell starts with '# GRADED FUNCTION: {DEEP}'",), (DEEP,), (TWO,)),
    ),
    Hostile(
        "syntax_error",
        "a syntax error in two_layer_model",
        edit_source(f"# GRADED FUNCTION: {TWO}", lambda s: s.replace("grads = {}", "grads = {{}")),
        Expect("graded", (r"SyntaxError",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "import_error",
        "the setup cell imports a module that does not exist",
        edit_source("setup", lambda s: "import tensorflow_of_my_laptop\n" + s),
        Expect("graded", (r"ModuleNotFoundError", r"tensorflow_of_my_laptop"), (TWO, DEEP)),
    ),
    Hostile(
        "sys_exit",
        "sys.exit() inside two_layer_model",
        in_body(TWO, "import sys\nsys.exit(1)"),
        Expect("graded", (r"SystemExit",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "os_exit",
        "os._exit() inside two_layer_model",
        in_body(TWO, "import os\nos._exit(3)"),
        Expect("graded", (r"ended the kernel process", r"exit status 3", r"os\._exit"), (TWO,), (DEEP,)),
    ),
    Hostile(
        "keyboard_interrupt",
        "raise KeyboardInterrupt inside L_layer_model",
        in_body(DEEP, "raise KeyboardInterrupt"),
        Expect("graded", (r"KeyboardInterrupt",), (DEEP,), (TWO,)),
    ),
    Hostile(
        "infinite_loop",
        "an endless loop in two_layer_model",
        in_body(TWO, "while True:\n    pass"),
        Expect("graded", (rf"{TWO} did not finish within 5 s", r"timed out"), (TWO,), (DEEP,)),
    ),
    Hostile(
        "memory_bomb",
        "6 GB allocated in L_layer_model",
        in_body(DEEP, MEMORY_BOMB),
        Expect("graded", (r"MemoryError", r"1024 MB"), (DEEP,), (TWO,)),
    ),
    Hostile(
        "memfd_hoard",
        "holds 1.5 GB in memfds in L_layer_model",
        in_body(DEEP, MEMFD_HOARD),
        # Near its limit a group reclaims hard before it kills: on a busy machine that can take
        # longer than the 5 s case limit. Either way the 1.5 GB were never held.
        Expect("graded", (r"memory limit of 1024 MB|did not finish within 5 s",), (DEEP,), (TWO,)),
    ),
    Hostile(
        "fill_disk",
        "writes files until its folder is full, in two_layer_model",
        in_body(TWO, FILL_DISK),
        Expect("graded", (r"No space left on device", r"folder holds at most \d+ MB"), (TWO,), (DEEP,)),
    ),
    Hostile(
        "nested_namespace",
        "makes a user namespace to mount a tmpfs, in two_layer_model",
        in_body(TWO, NESTED_NAMESPACE),
        Expect("graded", (r"no user namespace here \(errno 1\)",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "process_storm",
        "forks until it cannot, in two_layer_model",
        in_body(TWO, PROCESS_STORM),
        Expect("graded", (r"fork failed after \d\d? processes", r"at most \d+ processes"), (TWO,), (DEEP,)),
    ),
    Hostile(
        "ten_million_lines",
        "prints ten million lines at once when its cell runs",
        edit_source(f"# GRADED FUNCTION: {TWO}", lambda s: s + "\n\nprint('a line\\n' * 10_000_000)\n"),
        Expect("graded", (FLOODED, r"running cell \d+ \(two_layer_model\)"), (TWO,), (DEEP,)),
    ),
    Hostile(
        "flood_in_pieces",
        "prints three million characters in small flushed pieces when its cell runs",
        edit_source(f"# GRADED FUNCTION: {TWO}", lambda s: s + "\n\n" + FLOOD_IN_PIECES),
        Expect("graded", (FLOODED, r"running cell \d+ \(two_layer_model\)"), (TWO,), (DEEP,)),
    ),
    Hostile(
        "flood_in_call",
        "writes three million characters to stderr in pieces on every call",
        in_body(DEEP, FLOOD_IN_PIECES.replace("stdout", "stderr").replace("end=''", "end='', file=sys.stderr")),
        Expect("graded", (FLOODED, r"the kernel stopped while L_layer_model ran"), (DEEP,), (TWO,)),
    ),
    Hostile(
        "ten_million_lines_in_call",
        "prints ten million lines on every call",
        in_body(DEEP, "print('a line\\n' * 10_000_000)"),
        # only hidden cases compare what L_layer_model prints, and a hidden case's line count stays unsaid
        Expect("graded", (r"printed another number of lines than expected",), (), (TWO,)),
    ),
    Hostile(
        "write_outside",
        "writes over the grader's files and outside its folder",
        in_body(TWO, WRITE_OUTSIDE),
        Expect("graded", (), (), (TWO, DEEP)),
    ),
    Hostile(
        "import_reference",
        "imports the reference solution",
        in_body(TWO, IMPORT_REFERENCE),
        Expect("graded", (r"No module named 'reference'",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "read_grader_files",
        "opens expected.npz and cases.py by their paths",
        in_body(DEEP, READ_BY_PATH),
        Expect("graded", (r"FileNotFoundError", r"expected\.npz"), (DEEP,), (TWO,)),
    ),
    Hostile(
        "walk_for_reference",
        "walks the file system for the reference, cases.py or expected.npz",
        in_body(TWO, WALK_FOR_REFERENCE),
        Expect("graded", (r"walked the whole file system",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "patch_comparisons",
        "patches numpy.allclose, np.isclose and builtins, returns zeros",
        replace_cell(
            TWO,
            PATCH_COMPARISONS
            + """
def two_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    n_x, n_h, n_y = layers_dims
    parameters = {{"W1": np.zeros((n_h, n_x)), "b1": np.zeros((n_h, 1)),
                  "W2": np.zeros((n_y, n_h)), "b2": np.zeros((n_y, 1))}}
    return parameters, [0.0 for _ in range(0, num_iterations, 100)]
""",
        ),
        Expect("graded", (r"differs|expected",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "lying_eq",
        "returns objects whose __eq__ always says True",
        _liar_cell(TWO, "Liar()"),
        Expect("graded", (r"W1 is a .+, expected a numpy array",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "lying_array",
        "returns objects with __array__ and a lying __eq__",
        _liar_cell(DEEP, "ArrayLiar(shape)"),
        Expect("graded", (r"differs",), (DEEP,), (TWO,)),
    ),
    Hostile(
        "ndarray_subclass",
        "returns a numpy subclass whose comparisons always pass",
        _liar_cell(TWO, "np.zeros(shape).view(SlyArray)"),
        Expect("graded", (r"differs",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "forged_results",
        "writes a pickled payload into the results file",
        in_body(DEEP, FORGE_RESULTS),
        Expect("graded", (r"only numbers are accepted",), (DEEP,), (TWO,)),
    ),
    Hostile(
        "huge_return",
        "returns a 10^9-element array",
        in_body(
            TWO,
            """
import numpy as np
return {{"W1": np.broadcast_to(np.float64(0.5), (1_000_000_000,))}}, [0.0]""",
        ),
        Expect("graded", (r"1000000000 values",), (TWO,), (DEEP,)),
    ),
    Hostile(
        "million_keys",
        "returns a dict with a million keys",
        in_body(
            DEEP,
            """
return {{f"W{{i}}": 0.0 for i in range(1_000_000)}}, [0.0]""",
        ),
        Expect("graded", (r"W1 has shape \(\)",), (DEEP,), (TWO,)),
    ),
    Hostile(
        "result_link",
        "replaces its result file by a link to expected.npz",
        forged_results("link"),
        Expect(
            "graded",
            (r"results never came back|malformed results: the results file is a link",),
            (DEEP,),
            (TWO,),
            hidden_never=("<U", "dtype"),
        ),
    ),
    Hostile(
        "zero_d_costs",
        "its results hold a 0-d costs array",
        forged_results("zero_d_costs"),
        Expect("graded", (r"malformed results: a packed list's values do not match its length",), (DEEP,), (TWO,)),
    ),
    Hostile(
        "meta_types",
        "its results describe a length as text",
        forged_results("meta_types"),
        Expect("graded", (r"malformed results: (a length is not a count|cut is not a list)",), (DEEP,), (TWO,)),
    ),
    Hostile(
        "repeated_members",
        "its results hold 500 members all named meta.npy",
        forged_results("repeated_members"),
        Expect(
            "graded",
            (r"malformed results: (more than the \d+ arrays|an array name appears twice)",),
            (DEEP,),
            (TWO,),
            max_seconds=60,
        ),
    ),
    Hostile(
        "echo_request",
        "raises an exception whose message holds the case's request",
        in_body(DEEP, ECHO),
        Expect(
            "graded",
            (
                r"raised ValueError: ECHO-OF-THE-REQUEST",
                r"raised ValueError \(on a hidden case the exception's message and line are not shown\)",
            ),
            (DEEP,),
            (TWO,),
            hidden_never=(r"ECHO-OF-THE-REQUEST", r"seed", r"layers_dims", r"recipe"),
        ),
    ),
    Hostile(
        "setup_sleepers",
        "six more cells with the setup marker, each sleeping 10 s",
        _setup_sleepers,
        Expect(
            "graded", (r"7 cells contain `from dnn_app_utils_v3 import`; only the first 3 were run",), max_seconds=50
        ),
    ),
]


def context(outside: Path) -> dict:
    """The values baked into the notebooks: where the grader's files are, and a folder outside."""
    return {
        "root": str(ROOT),
        "assignment": str(ASSIGNMENT_DIR),
        "marker": MARKER,
        "outside": str(outside),
        "payload": PAYLOAD,
    }


def write_corpus(folder: Path, outside: Path | None = None) -> dict[str, Path]:
    """Write every hostile notebook into `folder`; `outside` is a folder the kernel must not reach."""
    folder.mkdir(parents=True, exist_ok=True)
    values = context(outside or folder)
    written = {}
    for entry in CORPUS:
        path = folder / f"{entry.name}.ipynb"
        path.write_bytes(entry.build(solution_notebook(), values))
        written[entry.name] = path
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "corpus_out"
    for path in write_corpus(out).values():
        print(f"{path}  ({path.stat().st_size} bytes)")
