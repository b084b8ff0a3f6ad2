"""grader.judge.astdiff: the student's line of a mistake, found by comparing the mistake's copy of the
function with the solution's, never a docstring, never the def line, never a right line."""

from grader.judge.astdiff import align, body_of, differing_statements, function_def, mistake_line, parse_cell


def line_of(source: str, text: str, occurrence: int = 1) -> int:
    """The 1-based number of the `occurrence`-th line holding `text`."""
    numbers = [number for number, line in enumerate(source.split("\n"), start=1) if text in line]
    return numbers[occurrence - 1]


# --- a missing `+ b`, with a docstring that writes the formula -----------------------------------------

FORWARD = '''# GRADED FUNCTION: linear_forward

def linear_forward(A, W, b):
    """
    The linear part of a layer: Z = W A + b.
    Z = np.dot(W, A) is only the product.
    """
    # YOUR CODE STARTS HERE
    Z = np.dot(W, A) + b
    # YOUR CODE ENDS HERE
    cache = (A, W, b)
    return Z, cache
'''

FORWARD_MISTAKE = """# MISTAKE: forward-without-bias
def linear_forward(A, W, b):
    Z = np.dot(W, A)
    cache = (A, W, b)
    return Z, cache
"""


def test_a_missing_bias_is_found_on_the_students_line_not_in_the_docstring():
    student = FORWARD.replace("    Z = np.dot(W, A) + b\n", "    # the product\n    Z = np.dot( W,A )  # done\n")
    found = mistake_line(student, FORWARD, FORWARD_MISTAKE)
    assert found == line_of(student, "Z = np.dot( W,A )")
    assert found != line_of(student, "Z = np.dot(W, A) is only the product")


def test_the_solution_itself_and_a_student_who_wrote_the_mistake_differently_get_no_line():
    assert mistake_line(FORWARD, FORWARD, FORWARD_MISTAKE) is None
    other = FORWARD.replace("Z = np.dot(W, A) + b", "Z = W @ A")  # the same mistake, written otherwise
    assert mistake_line(other, FORWARD, FORWARD_MISTAKE) is None
    elsewhere = FORWARD.replace("cache = (A, W, b)", "cache = (A, W)")  # another mistake altogether
    assert mistake_line(elsewhere, FORWARD, FORWARD_MISTAKE) is None


def test_a_cell_that_does_not_parse_or_a_mistake_equal_to_the_solution_gives_no_line():
    broken = FORWARD.replace("Z = np.dot(W, A) + b", "Z = np.dot(W, A")
    assert mistake_line(broken, FORWARD, FORWARD_MISTAKE) is None
    assert mistake_line(FORWARD, FORWARD, FORWARD) is None


# --- activations swapped in one branch of an if ---------------------------------------------------------

ACTIVATION = """# GRADED FUNCTION: linear_activation_forward

def linear_activation_forward(A_prev, W, b, activation):
    if activation == "sigmoid":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = sigmoid(Z)
    elif activation == "relu":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = relu(Z)
    cache = (linear_cache, activation_cache)
    return A, cache
"""

SWAPPED = "# MISTAKE: relu-is-sigmoid\n" + ACTIVATION.split("\n", 2)[2].replace("relu(Z)", "sigmoid(Z)")


def test_a_swapped_activation_is_found_in_its_branch_never_on_the_def_line():
    student = ACTIVATION.replace("relu(Z)", "sigmoid(Z)").replace('"relu"', "'relu'")
    found = mistake_line(student, ACTIVATION, SWAPPED)
    assert found == line_of(student, "A, activation_cache = sigmoid(Z)", occurrence=2)
    assert found != line_of(student, "def linear_activation_forward")
    # The right branch's identical line is never the answer, even when the student's branches are reordered.
    reordered = """def linear_activation_forward(A_prev, W, b, activation):
    if activation == "relu":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = sigmoid(Z)
    else:
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = sigmoid(Z)
    cache = (linear_cache, activation_cache)
    return A, cache
"""
    assert mistake_line(reordered, ACTIVATION, SWAPPED) in (None, 4)


# --- a loop bound, and a part of a statement written over several lines ----------------------------------

LOOP = """def L_model_forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A_prev = A
        A, cache = linear_activation_forward(A_prev, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    return A, caches
"""

SHORT_LOOP = "# MISTAKE: one-layer-short\n" + LOOP.replace("range(1, L)", "range(1, L - 1)")


def test_a_loop_bound_is_found_on_the_for_line():
    student = LOOP.replace("range(1, L)", "range(1,L-1)").replace("    A = X\n", "    A = X  # the input\n\n")
    assert mistake_line(student, LOOP, SHORT_LOOP) == line_of(student, "for l in range(1,L-1)")


def test_the_differing_part_of_a_statement_over_several_lines_is_found():
    solution = (
        "def train(parameters, grads, learning_rate):\n    parameters = update(parameters, grads, learning_rate)\n"
    )
    mistake = solution.replace("learning_rate)\n", "learning_rate * 2)\n")
    student = (
        "def train(parameters, grads, learning_rate):\n"
        '    """Docstring: parameters = update(parameters, grads, learning_rate * 2)."""\n'
        "    parameters = update(parameters,\n"
        "                        grads,\n"
        "                        learning_rate * 2)\n"
    )
    assert mistake_line(student, solution, mistake) == 5


def test_an_added_statement_is_found_wherever_the_student_put_it():
    solution = "def f(x):\n    y = x * 2\n    return y\n"
    mistake = "def f(x):\n    y = x * 2\n    x.sort()\n    return y\n"
    student = "def f(x):\n    x.sort()\n    y = x * 2\n    return y\n"
    assert mistake_line(student, solution, mistake) == 2


def test_the_helpers_authors_use_are_exported():
    tree = parse_cell("%matplotlib inline\ndef f(x):\n    '''doc'''\n    return x + 1\n")
    assert tree is not None and function_def(tree, "f") is not None
    body = body_of(function_def(tree, "f"))
    assert len(body) == 1  # the docstring is no statement to compare
    other = body_of(function_def(parse_cell("def f(x):\n    return x - 1\n"), "f"))
    assert [pair.depth for pair in align(body, other)] == [0]
    assert list(differing_statements(body, other).values())[0].statement.lineno == 2
