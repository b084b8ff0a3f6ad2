"""Printed lines compare word for word, and the floats in them as numbers within a tolerance.

Two NumPy builds may print the same cost as 0.7029163067110059 and 0.702916306711006: the same
line for the grader, for `grader expected --check` and for the tests.
"""

import pytest

from grader.judge.compare import line_deviation, same_line, split_numbers
from grader.judge.outcomes import same_error

pytestmark = pytest.mark.critical  # also run under the oldest supported versions


def test_a_line_splits_into_its_words_and_its_numbers():
    split = split_numbers("  Cost after iteration 119: 0.7029163067110059 ")
    assert split.text == ("Cost after iteration ", ": ", "")
    assert split.numbers == ("119", "0.7029163067110059")
    assert split_numbers("W1 has shape (4, 10); got -1.5e-05, nan and inf.").numbers == (
        "4",
        "10",
        "-1.5e-05",
        "nan",
        "inf",
    )
    assert split_numbers("nano info W2 2nd").numbers == ()  # names are text


def test_floats_compare_within_the_tolerance_and_everything_else_exactly():
    assert same_line(
        "Cost after iteration 119: 0.7029163067110059", "Cost after iteration 119: 0.702916306711006", rtol=1e-9, atol=0
    )
    assert not same_line("Cost after iteration 119: 0.70291", "Cost after iteration 119: 0.70292", rtol=1e-9, atol=0)
    assert not same_line("Cost after iteration 118: 0.5", "Cost after iteration 119: 0.5", rtol=0.1, atol=0)
    assert not same_line("Cost after iteration 1: 0.5", "Cost after step 1: 0.5", rtol=0.1, atol=0)
    assert not same_line("Accuracy: 0.8", "Accuracy: 0.8 0.1", rtol=0.1, atol=0)
    assert same_line("Accuracy: nan", "Accuracy: nan", rtol=0, atol=0)
    assert not same_line("Accuracy: nan", "Accuracy: 0.5", rtol=1, atol=1)
    assert line_deviation("x 1.0", "x 1.1", rtol=0.2, atol=0) < 1 < line_deviation("x 1.0", "x 1.1", rtol=0.01, atol=0)


def test_an_exception_is_the_same_however_numpy_words_it():
    old = [
        "IndexError",
        "boolean index did not match indexed array along axis 0; size of axis is 4 but size of "
        "corresponding boolean axis is 1",
    ]
    new = [
        "IndexError",
        "boolean index did not match indexed array along dimension 0; dimension is 4 but "
        "corresponding boolean dimension is 1",
    ]
    assert same_error(old, new)
    assert not same_error(old, ["IndexError", new[1].replace("is 4", "is 5")])
    assert not same_error(old, ["ValueError", old[1]])
    assert same_error(
        ["NameError", "name 'parameters' is not defined"], ["NameError", "name 'parameters' isn't defined"]
    )
    assert not same_error(["NameError", "name 'parameters' is not defined"], ["NameError", "name 'W1' is not defined"])


def test_an_input_is_changed_only_beyond_the_tolerance():
    """The stored inputs were built by the instructor's NumPy, the returned ones by the student's."""
    import numpy as np

    from grader.judge.compare import input_changed

    before = np.linspace(-3, 3, 12).reshape(3, 4)
    assert not input_changed(before * (1 + 1e-15), before, rtol=1e-6, atol=1e-9)
    assert input_changed(before / 255, before, rtol=1e-6, atol=1e-9)  # an in-place X /= 255
    assert input_changed(before.T, before, rtol=1e-6, atol=1e-9)
    assert input_changed(None, before, rtol=1e-6, atol=1e-9)
