"""The one-point mutants of a function (grader.judge.mutants): each operator on a small function,
with the exact mutants expected; deduplication, determinism, the docstring and the `def` line left
alone; the student's own line found in code written otherwise; the runner stopping a mutant that
loops; and the words (grader.render.mutant_wording), which never quote the solution's right-hand side.
"""

from __future__ import annotations

import ast
import textwrap
import time

import pytest

from grader.judge.mutant_runner import MEMORY_BYTES, Job, run_function, solution_namespace
from grader.judge.mutant_store import changed_keys, line_of
from grader.judge.mutants import Mutant, generate, related, signatures
from grader.model.mutation import Detail, Operator, Role, Site
from grader.render.mutant_wording import agree, counted, describe, describe_class
from tests.step_by_step_corpus import SOLUTION

O = Operator


def afters(source: str, operator: Operator, graded: dict | None = None) -> list[str]:
    """The mutated nodes' texts of one operator made in one place, in the generator's order."""
    made = generate(textwrap.dedent(source), "f", graded)
    return [m.after for m in made if m.operator == operator and m.detail.places == 1]


LOOP = """
def f(x, n):
    total = 0
    for i in range(1, n):
        total = total + x[i - 1]
    return total
"""
BACKWARD = """
def f(dZ, cache, m):
    A_prev, W, b = cache
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(np.transpose(W), dZ)
    return dA_prev, dW, db
"""
LAYER = """
def f(A_prev, W, b, activation):
    Z = W @ A_prev + b
    if activation == "sigmoid":
        A = sigmoid(Z)
    elif activation == "relu":
        A = relu(Z)
    return A, (A_prev, W, b)
"""
KEYS = """
def f(parameters, grads, learning_rate):
    L = len(parameters) // 2
    for l in range(L):
        parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate * grads["dW" + str(l + 1)]
        parameters["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate * grads["db" + str(l + 1)]
    return parameters
"""


@pytest.mark.parametrize(
    ("source", "operator", "expected"),
    [
        (LOOP, O.RANGE_STOP, ["range(1, n - 1)", "range(1, n + 1)", "range(1, n - 2)", "range(1, n + 2)"]),
        (LOOP, O.RANGE_START, ["range(n)", "range(2, n)", "range(3, n)"]),
        (LOOP, O.INDEX_SHIFT, ["x[i - 2]", "x[i]", "x[i - 3]", "x[i + 1]"]),
        (LOOP, O.DROP_TERM, ["total", "x[i - 1]"]),
        (LOOP, O.ARITH_SWAP, ["total - x[i - 1]"]),
        (LOOP, O.DROP_STATEMENT, ["", ""]),
        (
            BACKWARD,
            O.TUPLE_SWAP,
            [
                "(W, A_prev, b)",
                "(b, W, A_prev)",
                "(A_prev, b, W)",
                "(dW, dA_prev, db)",
                "(db, dW, dA_prev)",
                "(dA_prev, db, dW)",
            ],
        ),
        (BACKWARD, O.DROP_FACTOR, ["1 / m", "np.dot(dZ, A_prev.T)", "1"]),
        (BACKWARD, O.CONSTANT_SCALE, ["10", "0.1"]),
        (BACKWARD, O.TRANSPOSE_DROP, ["A_prev", "W"]),
        (BACKWARD, O.TRANSPOSE_ADD, ["np.dot(dZ.T, A_prev.T)", "np.dot(np.transpose(W), dZ.T)"]),
        (BACKWARD, O.DOT_TO_MUL, ["dZ * A_prev.T", "np.transpose(W) * dZ"]),
        (BACKWARD, O.AXIS_SWAP, ["np.sum(dZ, axis=0, keepdims=True)"]),
        (BACKWARD, O.AXIS_DROP, ["np.sum(dZ, keepdims=True)"]),
        (BACKWARD, O.DROP_KEEPDIMS, ["np.sum(dZ, axis=1)"]),
        (BACKWARD, O.DROP_CALL, ["dZ"]),
        (BACKWARD, O.ARGS_SWAP, ["np.dot(A_prev.T, dZ)", "np.dot(dZ, np.transpose(W))"]),
        (BACKWARD, O.NAME_SWAP, ["dW", "A_prev", "W", "b"]),
        (LAYER, O.STRING_SWAP, ["'relu'", "'sigmoid'"]),
        (LAYER, O.DOT_TO_MUL, ["W * A_prev"]),
        (LAYER, O.MUL_TO_DOT, []),
        (KEYS, O.STRING_SWAP, ["'b'", "'b'", "'db'", "'W'", "'W'", "'dW'"]),
        (
            KEYS,
            O.MUL_TO_DOT,
            ["np.dot(learning_rate, grads['dW' + str(l + 1)])", "np.dot(learning_rate, grads['db' + str(l + 1)])"],
        ),
    ],
)
def test_each_operator_makes_exactly_these_mutants(source, operator, expected):
    assert afters(source, operator) == expected


def test_the_shifts_of_a_key_and_an_index_into_a_constant():
    keys = [m.after for m in generate(textwrap.dedent(KEYS), "f") if m.operator == O.INDEX_SHIFT][:4]
    assert keys == [
        "parameters['W' + str(l)]",
        "parameters['W' + str(l + 2)]",
        "parameters['W' + str(l - 1)]",
        "parameters['W' + str(l + 3)]",
    ]
    source = "def f(cache, Y):\n    return cache[0] + Y.shape[1]\n"
    assert afters(source, O.INDEX_SWAP) == ["cache[1]", "Y.shape[0]", "Y.shape[2]"]


def test_a_change_to_a_part_written_in_several_places_is_made_in_all_of_them_too():
    every = {(m.operator, m.before, m.after): m for m in generate(textwrap.dedent(KEYS), "f") if m.detail.places > 1}
    from_zero = every[(O.INDEX_SHIFT, "l + 1", "l")]  # every key's layer number one too low
    assert from_zero.detail.places == 6 and "l + 1" not in from_zero.source and from_zero.source.count("str(l)") == 6
    assert set(every) == {
        (O.STRING_SWAP, '"W"', "'b'"),
        (O.STRING_SWAP, '"b"', "'W'"),
        (O.INDEX_SHIFT, "l + 1", "l"),
        (O.INDEX_SHIFT, "l + 1", "l - 1"),
        (O.NAME_SWAP, "l", "L"),
    }
    # An int means one thing in range(1, n) and another in x[i - 1]: never changed everywhere; nor a loop's bounds.
    assert not [m for m in generate(textwrap.dedent(LOOP), "f") if m.detail.places > 1]


def test_two_calls_trade_places_or_arguments():
    graded = {"relu": ("Z",), "sigmoid": ("Z",)}
    swapped = [m for m in generate(textwrap.dedent(LAYER), "f", graded) if m.operator == O.CALLS_SWAP]
    assert len(swapped) == 1 and swapped[0].detail.places == 2
    assert "A = relu(Z)\n    elif activation == 'relu':\n        A = sigmoid(Z)" in swapped[0].source
    cost = "def f(AL, Y):\n    return -np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))\n"
    exchanged = [m.source for m in generate(cost, "f") if m.operator == O.ARGS_EXCHANGE]
    assert exchanged == ["def f(AL, Y):\n    return -np.sum(Y * np.log(1 - AL) + (1 - Y) * np.log(AL))"]
    apart = "def f(a, b):\n    x = np.log(a)\n    return x + np.log(b)\n"  # two statements: no exchange
    assert not [m for m in generate(apart, "f") if m.operator == O.ARGS_EXCHANGE]


def test_a_change_made_in_several_places_is_placed_only_where_the_student_wrote_them_all():
    source = textwrap.dedent(KEYS)
    from_zero = next(m for m in generate(source, "f") if m.operator == O.INDEX_SHIFT and m.detail.places == 6)
    keys = changed_keys(source, from_zero)
    assert len(keys) == 2
    assert line_of(from_zero.source, "f", keys, every=True) == 4
    half = source.replace('parameters["W" + str(l + 1)] - learning_rate * grads["dW" + str(l + 1)]', "")
    half = half.replace(
        'parameters["W" + str(l + 1)] =',
        'parameters["W" + str(l)] = parameters["W" + str(l)] - learning_rate * grads["dW" + str(l)]',
    )
    assert line_of(half, "f", keys) == 5 and line_of(half, "f", keys, every=True) is None


def test_a_call_is_replaced_only_by_one_of_the_same_parameters():
    graded = {"relu": ("Z",), "sigmoid": ("Z",), "linear_forward": ("A", "W", "b"), "tanh": ("X",)}
    assert afters(LAYER, O.CALL_REPLACE, graded) == ["relu(Z)", "sigmoid(Z)"]
    assert afters(LAYER, O.CALL_REPLACE) == []


def test_signs_and_wrappers():
    source = "def f(Y, AL):\n    dAL = -(Y / AL)\n    order = reversed(range(3))\n    return np.squeeze(dAL), order\n"
    assert afters(source, O.SIGN_FLIP) == ["Y / AL"]
    assert afters(source, O.DROP_CALL) == ["range(3)", "dAL"]


def test_related_names_are_the_ones_a_student_confuses():
    assert [b for b in ("A_prev", "AL", "dA", "W", "l", "n_h", "cache") if related("A", b)] == ["A_prev", "AL", "dA"]
    assert related("l", "L") and related("n_x", "n_h") and related("linear_cache", "activation_cache")
    assert related("caches", "cache") and related("W", "dW") and related("db", "b")
    assert not related("AL", "L") and not related("Y", "AL") and not related("m", "n_x")


def test_a_name_is_swapped_only_for_one_bound_before_it():
    source = "def f(A_prev, W):\n    A = W * A_prev\n    AL = A + 1\n    return A\n"
    assert afters(source, O.NAME_SWAP) == ["A_prev", "A_prev", "AL"]  # none on line 2: A and AL come later


def test_two_operators_making_the_same_code_give_one_mutant_of_the_first():
    source = "def f(W, dZ):\n    return np.dot(np.transpose(W), dZ)\n"
    found = [m for m in generate(source, "f") if m.after == "W"]
    assert [m.operator for m in found] == [O.TRANSPOSE_DROP]  # DROP_CALL makes the same code


def step_by_step_cells() -> dict[str, str]:
    import nbformat

    from grader.assignment.notebook import graded_name

    notebook = nbformat.read(SOLUTION, as_version=4)
    return {graded_name(c.source): c.source for c in notebook.cells if c.cell_type == "code" and graded_name(c.source)}


CELLS = step_by_step_cells()


def test_mutants_are_distinct_compile_and_come_in_the_same_order_every_time():
    for function, cell in CELLS.items():
        first, second = generate(cell, function), generate(cell, function)
        assert [m.id for m in first] == [m.id for m in second]
        assert len({m.source for m in first}) == len(first) == len({m.id for m in first})
        assert ast.unparse(ast.parse(cell).body[0]) not in {m.source for m in first}
        for mutant in first:
            compile(mutant.source, mutant.id, "exec")
    assert len(generate(CELLS["L_model_backward"], "L_model_backward", limit=7)) == 7


def test_the_docstring_the_def_line_and_the_defaults_are_left_alone():
    source = textwrap.dedent('''
        # GRADED FUNCTION: f
        def f(x, n=3, scale=0.01):
            """Add x[i - 1] * 0.01 for i in range(1, n)."""
            total = 0.5  # a comment with range(2)
            for i in range(1, n):
                total = total + x[i - 1] * scale
            return total
        ''')
    original = ast.parse(source).body[0]
    mutants = generate(source, "f")
    assert mutants
    for mutant in mutants:
        mutated = ast.parse(mutant.source).body[0]
        assert ast.dump(mutated.args) == ast.dump(original.args)
        assert ast.get_docstring(mutated) == ast.get_docstring(original)
        assert mutant.line > 4  # never the comment, the def line or the docstring


def test_every_operator_is_made_somewhere_in_the_step_by_step_solution():
    graded = signatures((SOLUTION.parent / "dnn_utils.py").read_text())
    made = {m.operator for function, cell in CELLS.items() for m in generate(cell, function, graded)}
    assert made == set(Operator)


# --- the student's line -----------------------------------------------------------------------------


def student_line(student: str, mutant: Mutant, solution: str) -> int | None:
    """The line the diagnosis quotes: the student's statement written as the mutant changed it."""
    return line_of(student, mutant.function, changed_keys(solution, mutant))


SOLUTION_FORWARD = '''
def linear_forward(A, W, b):
    """Return Z = W A + b and the cache (A, W, b)."""
    Z = np.dot(W, A) + b
    cache = (A, W, b)
    return Z, cache
'''
STUDENT_FORWARD = '''# GRADED FUNCTION: linear_forward
import numpy as np

def linear_forward(A, W, b):
    """My version: Z = np.dot(W, A) - b"""
    # first the cache
    cache = (A, W, b)

    # then Z
    Z = np.dot(W, A) - b
    return Z, cache
'''


def test_the_student_line_is_found_where_the_student_wrote_it():
    mutant = next(m for m in generate(SOLUTION_FORWARD, "linear_forward") if m.operator == O.ARITH_SWAP)
    assert mutant.line == 4
    assert student_line(STUDENT_FORWARD, mutant, SOLUTION_FORWARD) == 10


def test_no_line_when_the_student_wrote_it_otherwise_or_left_it_out():
    swap = next(m for m in generate(SOLUTION_FORWARD, "linear_forward") if m.operator == O.ARITH_SWAP)
    otherwise = STUDENT_FORWARD.replace("Z = np.dot(W, A) - b", "Z = W @ A - b")
    assert student_line(otherwise, swap, SOLUTION_FORWARD) is None
    dropped = next(m for m in generate(SOLUTION_FORWARD, "linear_forward") if m.operator == O.DROP_STATEMENT)
    assert student_line(STUDENT_FORWARD.replace("    cache = (A, W, b)\n", ""), dropped, SOLUTION_FORWARD) is None
    assert student_line("def linear_forward(:\n", swap, SOLUTION_FORWARD) is None


def test_every_mutant_written_as_a_student_cell_is_found_on_its_changed_line():
    """The mutant's own code, with a header, comments and blank lines: the line found is the one
    whose text differs from the solution's (unparsed alike), or None for a dropped statement."""
    header = "# GRADED FUNCTION: {name}\n# my attempt\n\n"
    for function, cell in CELLS.items():
        solution = ast.unparse(ast.parse(cell).body[0]).splitlines()
        for mutant in generate(cell, function):
            mutated = mutant.source.splitlines()
            differing = [i for i, (a, b) in enumerate(zip(solution, mutated, strict=False)) if a != b]
            written = bool(changed_keys(cell, mutant))  # a dropped statement leaves none, or a `pass`
            expected = differing[0] + 4 if written else None  # no key: the solution writes it elsewhere too
            student = header.format(name=function) + mutant.source
            found = student_line(student, mutant, cell)
            assert found == expected or (written and found is not None and found > expected), mutant.id


def test_an_ambiguous_statement_is_quoted_where_it_aligns():
    solution = "def f(x):\n    y = x + 1\n    z = x - 1\n    return y, z\n"
    mutant = next(m for m in generate(solution, "f") if m.after == "x + 1" and m.line == 3)  # z = x + 1
    student = "def f(x):\n    y = x + 1\n\n    z = x + 1\n    return y, z\n"
    assert student_line(student, mutant, solution) == 4


# --- the runner -------------------------------------------------------------------------------------

COUNTER = "def f(n):\n    i = 0\n    while i < n:\n        i = i + 1\n    return i\n"


def job(source: str, setup: str, arguments: dict, folder, memory: int = MEMORY_BYTES, name: str = "f") -> Job:
    namespace = solution_namespace(setup, folder)
    return Job(name, source, namespace, lambda: dict(arguments), tuple(arguments), str(folder), memory)


def test_a_mutant_that_loops_for_ever_is_stopped(tmp_path):
    looping = next(m for m in generate(COUNTER, "f") if m.after == "i - 1")
    started = time.monotonic()
    outcome = run_function(job(looping.source, "", {"n": 3}, tmp_path), timeout=1.0)
    assert outcome["error"]["type"] == "Timeout"
    assert time.monotonic() - started < 30  # not a timing assertion: only that the call came back at all


def test_a_mutant_returns_prints_and_changes_its_argument(tmp_path):
    import numpy as np

    source = "def f(x):\n    x = x.copy()\n    x[0] = 1.0\n    print('done', x.shape)\n    return x\n"
    in_place = next(m for m in generate(source, "f") if m.operator == O.DROP_STATEMENT and m.line == 2)
    outcome = run_function(job(in_place.source, "import numpy as np", {"x": np.zeros(3)}, tmp_path), 10)
    assert outcome["stdout"] == ["done (3,)"] and outcome["inputs_changed"] is True
    assert outcome["returned"][0] == 1.0 and outcome["returned"].shape == (3,)
    correct = run_function(job(source, "", {"x": np.zeros(3)}, tmp_path), 10)
    assert correct["inputs_changed"] is False


def test_a_mutant_that_raises_or_fills_the_memory_reports_it(tmp_path):
    raising = run_function(job("def f(x):\n    return x[5]\n", "", {"x": [1, 2]}, tmp_path), 10)
    assert raising == {"error": {"type": "IndexError", "message": "list index out of range"}}
    huge = "import numpy as np\ndef f(n):\n    return np.ones((n, n))\n"
    filling = run_function(job(huge, "", {"n": 10**6}, tmp_path, 2**28), 10)
    assert filling["error"]["type"] == "MemoryError"


def test_the_namespace_gives_the_support_module_and_the_other_functions(tmp_path):
    (tmp_path / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    setup = "from helpers import double\n\ndef g(x):\n    return double(x) + 1\n"
    outcome = run_function(job("def f(x):\n    return g(x)\n", setup, {"x": 3}, tmp_path), 10)
    assert outcome["returned"] == 7


# --- the words ---------------------------------------------------------------------------------------


def mutant_with(operator: Operator, **fields) -> Mutant:
    return Mutant("f", operator, 1, 0, "", "", "", Detail(**fields), "x")


@pytest.mark.parametrize(
    ("mutant", "words"),
    [
        (
            mutant_with(O.RANGE_STOP, subject="l", delta=-1, place=Site.LOOP, target="l"),
            "the range of the loop over `l` stops one step early",
        ),
        (mutant_with(O.RANGE_START, subject="l", delta=2), "the range of the loop over `l` starts two steps late"),
        (
            mutant_with(O.AXIS_SWAP, subject="np.sum", old="1", new="0", target="db", place=Site.ASSIGNMENT),
            "the sum runs over axis 0 instead of axis 1 in `db = ...`",
        ),
        (mutant_with(O.DROP_TERM, old="b", op="+", target="Z", place=Site.ASSIGNMENT), "`b` is not added in `Z = ...`"),
        (mutant_with(O.DROP_TERM, op="-", target="dAL", place=Site.ASSIGNMENT), "a term is missing in `dAL = ...`"),
        (
            mutant_with(O.DROP_TERM, old="1", op="-", role=Role.FIRST, place=Site.RETURN),
            "the term `1` is missing in the returned value",
        ),
        (
            mutant_with(
                O.INDEX_SHIFT,
                subject="grads",
                old="dA",
                delta=1,
                role=Role.KEY,
                target='grads["dA" + str(l)]',
                place=Site.ASSIGNMENT,
            ),
            'the layer number in a "dA" key of `grads` is one too high in `grads["dA" + str(l)] = ...`',
        ),
        (
            mutant_with(O.DROP_STATEMENT, target="caches.append", place=Site.CALL),
            "the call to `caches.append` is missing",
        ),
        (
            mutant_with(O.CONSTANT_SCALE, old="0.01", new="0.1", op="10", target="W1", place=Site.ASSIGNMENT),
            "the number 0.1 is ten times too large in `W1 = ...`",
        ),
        (
            mutant_with(O.CONSTANT_SCALE, new="0.1", op="10", target="W1", place=Site.ASSIGNMENT, places=2),
            "the number 0.1 is ten times too large, in each of the two places where it is written",
        ),
        (
            mutant_with(O.INDEX_SHIFT, subject="parameters", old="W", delta=-1, role=Role.KEY, places=4),
            "the layer number in the keys is one too low, in each of the 4 places where it is written",
        ),
        (
            mutant_with(O.CALLS_SWAP, old="sigmoid", new="relu", places=2, target="A", place=Site.ASSIGNMENT),
            "`sigmoid` and `relu` are called in each other's place",
        ),
        (
            mutant_with(O.ARGS_EXCHANGE, subject="np.log", places=2, target="cost", place=Site.ASSIGNMENT),
            "the two calls to `np.log` have each other's arguments in `cost = ...`",
        ),
    ],
)
def test_words_for_a_mutant(mutant, words):
    assert describe(mutant) == words


def test_every_operator_has_its_own_words():
    fallback = describe(mutant_with("no-such-operator"))
    for operator in Operator:
        assert describe(mutant_with(operator, old="x", new="y", subject="s", target="t")) != fallback, operator


def test_the_words_never_quote_the_solution_right_hand_side():
    """For every mutant of every graded function: the right-hand side of the changed statement (and
    the changed node, when it is a computation) appears nowhere in the words."""
    for function, cell in CELLS.items():
        tree = ast.parse(cell)
        statements = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and not isinstance(n, ast.FunctionDef)]
        for mutant in generate(cell, function):
            words = describe(mutant)
            holder = max((s for s in statements if s.lineno <= mutant.line <= s.end_lineno), key=lambda s: s.lineno)
            value = getattr(holder, "value", None)
            right = ast.get_source_segment(cell, value) if isinstance(value, ast.AST) else None
            if right and len(right) > 12:
                assert right not in words, (mutant.id, words)
            if "(" in mutant.before and len(mutant.before) > 12 and mutant.before not in mutant.detail.target:
                assert mutant.before not in words, (mutant.id, words)


def test_agreement_of_counts_and_verbs():
    assert counted(1, "step") == "one step" and counted(2, "step") == "two steps" and counted(5, "slip") == "5 slips"
    assert agree(1, "differs", "differ") == "differs" and agree(3, "differs", "differ") == "differ"
    a = mutant_with(O.CALL_REPLACE, old="sigmoid", new="relu")
    b = mutant_with(O.STRING_SWAP, old="sigmoid", new="relu", role=Role.COMPARISON)
    assert describe_class([a, a]) == "`relu` is called where `sigmoid` belongs"
    assert describe_class([a, b]) == (
        "two slips give exactly these numbers: `relu` is called where `sigmoid` "
        'belongs; or a test compares with "relu" where "sigmoid" belongs'
    )
