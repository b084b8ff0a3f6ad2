"""The result protocol without a kernel: flattening, the typed records, comparing, naming, recipes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from grader.judge.compare import compare
from grader.kernel.harness import __grader_flatten__, __grader_inputs__
from grader.kernel.untrusted import Atom, Mapping, Number, Opaque, Seq, result_of_value
from grader.model import Expected, Kind, Tolerance
from grader.render.wording import describe, display_path

VALUE = ({"W1": np.ones((3, 4)), "db2": np.zeros((1, 1))}, [0.5, np.float64(0.25), 3], "done", None, True)


def _differences(want, got, compared=("returned",), names=()):
    expected = Expected(result_of_value(want).returned, None)
    case = SimpleNamespace(compare=compared)
    return compare(case, expected, result_of_value(got), Tolerance(), names).differences


def test_a_nested_value_becomes_typed_records():
    result = result_of_value(VALUE)
    top = result.returned
    assert isinstance(top, Seq) and top.kind == "tuple" and top.length == 5
    parameters, costs, text, nothing, flag = top.items
    assert isinstance(parameters, Mapping) and parameters.keys == ("W1", "db2")
    assert [type(c) for c in costs.items] == [Number] * 3 and costs.items[2].value == 3.0
    assert text == Atom("str", "done", 4) and nothing == Atom("none", None) and flag == Atom("bool", True)


def test_the_same_value_compares_equal_and_numbers_are_numbers():
    assert _differences(VALUE, VALUE) == []
    as_floats = (VALUE[0], [0.5, 0.25, 3.0], *VALUE[2:])  # a numpy scalar and a Python float, an int and a float
    assert _differences(VALUE, as_floats) == []


@pytest.mark.parametrize(
    "got, kind, sentence",
    [
        (VALUE[:2], Kind.LENGTH, "returned 2 values, expected 5"),
        (({"W1": np.ones((3, 4))}, *VALUE[1:]), Kind.MISSING_KEY, "the dict at [0] has no key 'db2'"),
        ((VALUE[0], [0.5, 0.25], *VALUE[2:]), Kind.LENGTH, "[1] is a list of 2, expected 3"),
        (({**VALUE[0], "W1": np.ones((3, 1))}, *VALUE[1:]), Kind.SHAPE, '[0]["W1"] has shape (3, 1), expected (3, 4)'),
        (
            (VALUE[0], [0.5, 0.25, 4], *VALUE[2:]),
            Kind.VALUES,
            "[1][2] differs: expected 3, got 4 (1 of 3 entries differ)",
        ),
        ((*VALUE[:2], "Done", None, True), Kind.EXACT, "[2] is 'Done', expected 'done'"),
        ((*VALUE[:4], False), Kind.EXACT, "[4] is False, expected True"),
        ((*VALUE[:3], 0, True), Kind.TYPE, "[3] is a number, expected None"),
    ],
)
def test_structure_then_values_each_a_typed_record(got, kind, sentence):
    differences = _differences(VALUE, got)
    assert differences[0].kind == kind
    assert describe(differences[0], public=True) == sentence


def test_names_from_the_manifest_read_naturally():
    names = ("parameters", "costs")
    assert display_path((0, "W1"), names) == "W1"
    assert display_path((1, 3), names) == "costs[3]"
    assert display_path((1,), names) == "costs"
    assert display_path((0, "W1"), ()) == '[0]["W1"]'
    assert display_path(("costs", 2), ()) == '["costs"][2]'
    differences = _differences(
        ({"W1": np.ones(2)}, [1.0, 2.0]), ({"W1": np.ones(2)}, [1.0, 2.5]), ("costs", "parameters"), names
    )
    assert describe(differences[0], True, names) == "costs[1] differs: expected 2, got 2.5 (1 of 2 entries differ)"
    assert describe(differences[0], False, names).startswith("costs[1] differs from the reference")


def test_bounds_are_kept_and_said():
    deep = [1.0]
    for _ in range(30):
        deep = [deep, "x"]
    structure, leaves, cut = __grader_flatten__({"a": deep, "s": "y" * 5000, "big": np.zeros(100)}, 50)
    assert any("deeper" in note for note in cut) and any("longer" in note for note in cut)
    assert any("values accepted" in note for note in cut) and leaves == [] or all(leaf.size <= 50 for leaf in leaves)
    result = result_of_value({"big": np.zeros(100)}, max_values=50)
    assert isinstance(result.returned.items[0], Opaque) and result.returned.items[0].type == "cut"


def test_printed_lines_compare_numbers_within_the_tolerance():
    case = SimpleNamespace(compare=("stdout",))
    expected = Expected(None, None, ("step 0: loss 0.5", "step 2: loss 0.25"))
    near = result_of_value(0, stdout="step 0: loss 0.5000000001\nstep 2: loss 0.25\n")
    assert compare(case, expected, near, Tolerance()).passed
    wrong = result_of_value(0, stdout="step 0: loss 0.5\nstep 3: loss 0.25\n")
    found = compare(case, expected, wrong, Tolerance()).differences
    assert found[0].kind == Kind.PRINTED and found[0].line == 2


def test_recipes_build_seeded_nested_arguments(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(6.0))
    recipe = {
        "seed": 3,
        "args": {
            "a": {"normal": [2, 2]},
            "p": {
                "dict": {
                    "W": {"uniform": [1, 3], "low": -1, "high": 1},
                    "cache": {"tuple": [{"array": [1, 2]}, {"bernoulli": [4], "p": 0.5}]},
                }
            },
            "f": {"file": "d.npz", "key": "x", "rows": 4},
            "n": 7,
            "l": [1, {"literal": {"normal": 1}}],
        },
    }
    first, second = __grader_inputs__(recipe, str(tmp_path)), __grader_inputs__(recipe, str(tmp_path))
    assert np.array_equal(first["a"], second["a"]) and first["a"].shape == (2, 2)
    assert isinstance(first["p"]["cache"], tuple) and set(np.unique(first["p"]["cache"][1])) <= {0.0, 1.0}
    assert first["f"].tolist() == [0.0, 1.0, 2.0, 3.0] and first["n"] == 7 and first["l"] == [1, {"normal": 1}]
    with pytest.raises(ValueError, match="one of the tags"):
        __grader_inputs__({"args": {"x": {"gaussian": [2]}}})


def test_a_returned_part_named_stdout_is_kept_apart_from_the_printed_lines():
    """The author's `returns` names are a namespace of their own: a part called `stdout` is a part,
    and the printed lines stay the printed lines (they once overwrote each other)."""
    from grader.judge.expected import expected_entry
    from grader.kernel.harness import __grader_flatten__

    structure, arrays, _ = __grader_flatten__({"returned": ([1.0, 2.0], 3.0), "inputs": {}}, 1000)
    entry = expected_entry(structure, dict(enumerate(arrays)), ["loss 0.5"], ("stdout", "total"))
    assert entry.stdout == ("loss 0.5",)
    assert entry.parts == {"stdout": [1.0, 2.0], "total": 3.0}
    printed = compare(
        SimpleNamespace(compare=("stdout",)),
        entry,
        result_of_value(([1.0, 2.0], 3.0), "loss 0.5\n"),
        Tolerance(),
        ("stdout", "total"),
    )
    assert printed.passed
    wrong = compare(
        SimpleNamespace(compare=("stdout",)),
        entry,
        result_of_value(([1.0, 2.0], 3.0), "loss 0.7\n"),
        Tolerance(),
        ("stdout", "total"),
    )
    assert not wrong.passed
