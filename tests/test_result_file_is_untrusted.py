"""The result file as a hostile kernel could leave it: links, special files, bombs, wrong types.

Each file here is what a kernel could write in its own folder; reading it must fail that case
with "malformed results: <why>" (an UntrustedDataError), quickly and within bounded memory, and
never read anything the link points to.
"""

from __future__ import annotations

import io
import json
import os
import time
import warnings
import zipfile

import numpy as np
import pytest

from grader.kernel.untrusted import (
    MAX_CUT_NOTES,
    MAX_DIMENSIONS,
    MAX_KEYS,
    MAX_LENGTH,
    MAX_LINE,
    MAX_PROBLEM_CHARS,
    MAX_STRING,
    Mapping,
    Number,
    ResultMeta,
    Seq,
    UntrustedDataError,
    read_result,
    result_from,
)

RETURNED = {
    "kind": "tuple",
    "length": 2,
    "items": [
        {"kind": "dict", "keys": ["W1"], "items": [{"kind": "array", "leaf": 0, "dtype": "float64"}]},
        {"kind": "list", "length": 2, "numbers": 1},
    ],
}
GOOD_META = {"error": None, "stdout": "", "stdout_dropped": 0, "cut": [], "returned": RETURNED, "inputs": None}


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _archive(path, members: list[tuple[str, bytes]], compression=zipfile.ZIP_STORED) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the repeated names written on purpose
        with zipfile.ZipFile(path, "w", compression) as archive:
            for name, data in members:
                archive.writestr(name, data)


def _good(path, meta=None, **arrays) -> None:
    arrays = {"leaf:0": np.ones((2, 3)), "leaf:1": np.array([0.7, 0.5]), **arrays}
    arrays["meta"] = np.array(json.dumps(GOOD_META if meta is None else meta))
    np.savez(path, **arrays)


def _malformed(path, **kwargs) -> str:
    with pytest.raises(UntrustedDataError) as caught:
        read_result(path, kwargs.pop("max_values", 1000), **kwargs)
    message = str(caught.value)
    assert message.startswith("malformed results: "), message
    return message


def test_a_well_formed_result_is_read_into_typed_records(tmp_path):
    _good(tmp_path / "r.npz")
    result = read_result(tmp_path / "r.npz", 1000, owner=os.geteuid())
    assert isinstance(result.meta, ResultMeta) and isinstance(result.returned, Seq)
    parameters, costs = result.returned.items
    assert isinstance(parameters, Mapping) and parameters.keys == ("W1",)
    assert parameters.items[0].values.shape == (2, 3) and parameters.items[0].values.dtype == np.float64
    assert costs.length == 2 and all(isinstance(c, Number) for c in costs.items)


def test_a_missing_result_says_it_never_came_back(tmp_path):
    with pytest.raises(UntrustedDataError, match="never came back"):
        read_result(tmp_path / "absent.npz", 1000)


def test_a_link_is_not_followed(tmp_path):
    """A link to an instructor's file (here a well-formed archive) is refused, not parsed."""
    secret = tmp_path / "expected.npz"
    _good(secret)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "r.npz").symlink_to(secret)
    assert "is a link" in _malformed(tmp_path / "results" / "r.npz")


def test_a_linked_folder_is_not_followed(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    _good(tmp_path / "elsewhere" / "r.npz")
    (tmp_path / "results").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UntrustedDataError, match="never came back"):
        read_result(tmp_path / "results" / "r.npz", 1000)


def test_a_fifo_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "r.npz")
    assert "not a regular file" in _malformed(tmp_path / "r.npz")


def test_a_file_of_another_owner_is_refused(tmp_path):
    _good(tmp_path / "r.npz")
    assert "belongs to uid" in _malformed(tmp_path / "r.npz", owner=os.geteuid() + 1)


def test_repeated_member_names_are_refused_before_reading_them(tmp_path):
    meta = _npy(np.array(json.dumps(GOOD_META)))
    _archive(tmp_path / "r.npz", [("meta.npy", meta)] * 50)
    assert "twice" in _malformed(tmp_path / "r.npz")


def test_too_many_members_are_refused(tmp_path):
    _archive(tmp_path / "r.npz", [(f"leaf:{i}.npy", _npy(np.zeros(1))) for i in range(999)] * 2)
    assert "more than the" in _malformed(tmp_path / "r.npz")


@pytest.mark.parametrize(
    "name",
    [
        "extra.npy",
        "meta",
        "../meta.npy",
        "input:Z.npy",
        "parameter:W1.npy",
        "leaf:x.npy",
        "leaf:5000.npy",
        "leaf:-1.npy",
    ],
)
def test_unknown_member_names_are_refused(tmp_path, name):
    _archive(tmp_path / "r.npz", [("meta.npy", _npy(np.array(json.dumps(GOOD_META)))), (name, _npy(np.zeros(2)))])
    assert "never writes" in _malformed(tmp_path / "r.npz")


def test_unpacked_bytes_are_counted_while_reading(tmp_path):
    """A member whose header understates its size still stops at the budget: the bytes are counted."""
    path = tmp_path / "r.npz"
    _archive(path, [("leaf:0.npy", _npy(np.zeros(3_000_000)))], zipfile.ZIP_DEFLATED)  # 24 MB, compressed small
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
    real = info.file_size.to_bytes(4, "little")
    assert data.count(real) == 2  # the local header and the central directory
    data = data.replace(real, (1000).to_bytes(4, "little"))
    path.write_bytes(bytes(data))
    assert path.stat().st_size < 1_000_000
    message = _malformed(path, max_values=10)
    assert "unpack to more than" in message or "cannot be read" in message


def test_reading_stops_at_the_deadline(tmp_path):
    _good(tmp_path / "r.npz")
    assert "took longer" in _malformed(tmp_path / "r.npz", deadline=time.monotonic() - 1)


def test_a_huge_description_is_refused(tmp_path):
    meta = dict(GOOD_META, stdout="x" * 1_200_000)
    _good(tmp_path / "r.npz", meta=meta)
    _malformed(tmp_path / "r.npz")


@pytest.mark.parametrize(
    "change",
    [
        {"error": "boom"},
        {"error": {"type": 3, "message": ""}},
        {"stdout": None},
        {"stdout_dropped": -1},
        {"cut": "everything"},
        {"surprise": 1},
        {"returned": None},
        {"returned": {**RETURNED, "length": "2"}},
        {"returned": {**RETURNED, "kind": "set"}},
        {"returned": {**RETURNED, "length": 1}},  # more items than its length
        {
            "returned": {
                "kind": "tuple",
                "length": 2,
                "items": [  # a leaf named twice, another never
                    {"kind": "array", "leaf": 0, "dtype": "float64"},
                    {"kind": "array", "leaf": 0, "dtype": "float64"},
                ],
            }
        },
        {
            "returned": {
                "kind": "tuple",
                "length": 2,
                "items": [
                    {"kind": "dict", "keys": ["W1", "W1"], "items": [{"kind": "none"}, {"kind": "none"}]},
                    {"kind": "list", "length": 2, "numbers": 1},
                ],
            }
        },
        {
            "returned": {
                "kind": "tuple",
                "length": 2,
                "items": [{"kind": "number", "leaf": 0, "type": "float"}, {"kind": "list", "length": 2, "numbers": 1}],
            }
        },
        {
            "returned": {
                "kind": "tuple",
                "length": 2,
                "items": [
                    {"kind": "array", "leaf": 0, "dtype": "float64", "pickle": True},
                    {"kind": "list", "length": 2, "numbers": 1},
                ],
            }
        },
        {
            "returned": {
                "kind": "tuple",
                "length": 2,
                "items": [{"kind": "array", "leaf": 0, "dtype": "float64"}, {"kind": "bool", "value": "yes"}],
            }
        },
    ],
)
def test_description_fields_of_the_wrong_type_are_refused(tmp_path, change):
    _good(tmp_path / "r.npz", meta={**GOOD_META, **change})
    _malformed(tmp_path / "r.npz")


def test_a_description_that_is_not_an_object_is_refused(tmp_path):
    np.savez(tmp_path / "r.npz", meta=np.array(json.dumps([1, 2])))
    assert "not a JSON object" in _malformed(tmp_path / "r.npz")


def test_a_packed_list_of_another_length_is_refused(tmp_path):
    _good(tmp_path / "r.npz", **{"leaf:1": np.float64(0.5)})
    assert "do not match its length" in _malformed(tmp_path / "r.npz")


def test_arrays_the_description_does_not_name_are_refused(tmp_path):
    _good(tmp_path / "r.npz", **{"leaf:9": np.zeros(2)})
    assert "not among the values described" in _malformed(tmp_path / "r.npz")


def test_object_arrays_are_never_unpickled(tmp_path):
    np.savez(tmp_path / "r.npz", meta=np.array([object()], dtype=object))
    assert "only numbers are accepted" in _malformed(tmp_path / "r.npz")


def test_records_built_in_code_are_validated_too():
    with pytest.raises(UntrustedDataError):
        result_from({**GOOD_META, "stdout_dropped": "two"}, {0: np.ones((2, 3)), 1: np.zeros(2)})
    with pytest.raises(UntrustedDataError):
        result_from(GOOD_META, {0: np.ones((2, 3)), 1: np.zeros((2, 2))})


SECRET = "seed=1234 layers_dims=[7, 3, 1]"
WANT = {
    "kind": "tuple",
    "length": 2,
    "items": [
        {"kind": "dict", "keys": ["W1"], "items": [{"kind": "array", "leaf": 0, "dtype": "float64"}]},
        {"kind": "list", "length": 1, "numbers": 1},
    ],
}


def _returning(node: dict) -> dict:
    return {**GOOD_META, "returned": node}


@pytest.mark.parametrize(
    "meta, compared",
    [
        ({"error": {"type": "ValueError", "message": SECRET, "traceback": SECRET, "line": 12}}, ["returned"]),
        ({"error": {"type": "seed_1234_layers_7_3_1", "message": SECRET}}, ["returned"]),
        (_returning({"kind": "other", "type": "seed_1234_layers_7_3_1", "why": SECRET}), ["returned"]),
        (
            _returning(
                {
                    "kind": "tuple",
                    "length": 2,
                    "items": [
                        {
                            "kind": "dict",
                            "keys": ["W1", "seed_1234"],
                            "items": [{"kind": "array", "leaf": 0, "dtype": "float64"}, {"kind": "none"}],
                        },
                        {"kind": "list", "length": 1, "numbers": 1},
                    ],
                }
            ),
            ["returned"],
        ),
        (
            _returning(
                {
                    "kind": "tuple",
                    "length": 2,
                    "items": [
                        {"kind": "dict", "keys": ["W1"], "items": [{"kind": "array", "leaf": 0, "dtype": "float64"}]},
                        {
                            "kind": "list",
                            "length": 1,
                            "items": [{"kind": "str", "value": SECRET, "length": len(SECRET)}],
                        },
                    ],
                }
            ),
            ["returned"],
        ),
        ({**GOOD_META, "returned": WANT, "stdout": f"{SECRET}\n"}, ["stdout"]),
        ({**GOOD_META, "returned": WANT, "stdout": f"Cost after iteration 0: 0.5\n{SECRET}\n"}, ["stdout"]),
    ],
)
def test_a_hidden_case_never_shows_what_the_kernel_wrote(meta, compared):
    """Exception messages, type names, keys, texts and printed lines come from the code, which saw
    the hidden inputs: a hidden case reports only fixed words and Python's own type names (no number the
    code could choose: no line, length, shape or count)."""
    from types import SimpleNamespace

    from grader.judge.compare import compare
    from grader.model import Expected, Tolerance
    from grader.render.wording import describe

    leaves = {0: np.ones((2, 3)), 1: np.array([0.5])}
    expected = Expected(
        result_from(_returning(WANT), dict(leaves)).returned,
        None,
        ("Cost after iteration 0: 0.5", "Cost after iteration 100: 0.4"),
    )
    used = json.dumps(meta.get("returned"))
    result = result_from(meta, {i: v for i, v in leaves.items() if f'"leaf": {i}' in used or f'"numbers": {i}' in used})
    case = SimpleNamespace(compare=compared)
    differences = compare(case, expected, result, Tolerance()).differences
    hidden = [describe(d, False) for d in differences]
    public = [describe(d, True) for d in differences]
    assert hidden and public
    for message in hidden:
        assert "1234" not in message and "layers" not in message, message
    if '"str"' not in json.dumps(meta.get("returned")):  # a text where a number is expected: named by its type
        assert any("1234" in message for message in public)  # a public case shows it all
    if (meta.get("error") or {}).get("line"):
        assert hidden == ["raised ValueError (on a hidden case the exception's message and line are not shown)"]


def _with_keys(keys: list) -> dict:
    return {
        "kind": "tuple",
        "length": 2,
        "items": [
            {
                "kind": "dict",
                "keys": keys,
                "items": [{"kind": "array", "leaf": 0, "dtype": "float64"}] + [{"kind": "none"}] * (len(keys) - 1),
            },
            {"kind": "list", "length": 2, "numbers": 1},
        ],
    }


@pytest.mark.parametrize(
    "change",
    [
        {"cut": ["x" * (MAX_PROBLEM_CHARS + 1)]},
        {"cut": ["note"] * (MAX_CUT_NOTES + 1)},
        {"cut": [3]},
        {"returned": _with_keys(["k" * (MAX_STRING + 1)])},
        {"returned": _with_keys([f"k{i}" for i in range(MAX_KEYS + 1)])},
        {"returned": _with_keys([1])},
    ],
    ids=["long note", "many notes", "note not text", "long key", "many keys", "key not text"],
)
def test_lists_of_texts_are_bounded_in_count_and_length(tmp_path, change):
    """Dict keys and the harness's cut notes go through one parser, which keeps both bounds."""
    _good(tmp_path / "r.npz", meta={**GOOD_META, **change})
    assert "is not a list of at most" in _malformed(tmp_path / "r.npz")
    _good(
        tmp_path / "ok.npz",
        meta={**GOOD_META, "cut": ["x" * MAX_PROBLEM_CHARS], "returned": _with_keys(["k" * MAX_STRING])},
    )
    assert read_result(tmp_path / "ok.npz", 1000).meta.cut == ("x" * MAX_PROBLEM_CHARS,)


def test_a_results_file_is_read_whole_up_to_its_byte_limit_and_refused_past_it(tmp_path):
    from grader.kernel.untrusted import read_bytes

    (tmp_path / "r.bin").write_bytes(b"x" * 3000)
    assert read_bytes(tmp_path / "r.bin", 3000, time.monotonic() + 60) == b"x" * 3000
    with pytest.raises(UntrustedDataError, match="more than the 2999"):
        read_bytes(tmp_path / "r.bin", 2999, time.monotonic() + 60)


def _raising_at(line) -> dict:
    return {**GOOD_META, "error": {"type": "ValueError", "message": "", "line": line}, "returned": None}


@pytest.mark.parametrize(
    "meta",
    [
        _raising_at(MAX_LINE + 1),
        {**GOOD_META, "stdout_dropped": MAX_LENGTH + 1},
        {**GOOD_META, "returned": {**RETURNED, "length": MAX_LENGTH + 1}},
        {
            **GOOD_META,
            "returned": {
                **RETURNED,
                "items": [{"kind": "str", "value": "x", "length": MAX_LENGTH + 1}, RETURNED["items"][1]],
            },
        },
    ],
    ids=["line", "dropped", "list length", "text length"],
)
def test_numbers_a_report_shows_are_bounded(tmp_path, meta):
    """A line, a length or a count beyond any the harness sends could carry a hidden input whole (a
    376-digit line did): each is refused, and the case fails as malformed."""
    _good(tmp_path / "r.npz", meta=meta)
    assert "is not a count of at most" in _malformed(tmp_path / "r.npz")


@pytest.mark.parametrize(
    "shape", [(0, 10**12), (2, 0, 10**12), (1,) * (MAX_DIMENSIONS + 1)], ids=["empty", "empty dimension", "dimensions"]
)
def test_a_shape_is_as_bounded_as_the_values(tmp_path, shape):
    """An empty dimension once left the others free: (0, 10**12) holds no value, yet shows 13 digits."""
    _good(tmp_path / "r.npz", **{"leaf:0": np.zeros(shape)})
    assert _malformed(tmp_path / "r.npz") == "malformed results: more values came back than accepted"


def test_numbers_at_their_bounds_are_read(tmp_path):
    np.savez(tmp_path / "r.npz", meta=np.array(json.dumps(_raising_at(MAX_LINE))))
    assert read_result(tmp_path / "r.npz", 1000).meta.error.line == MAX_LINE
    _good(tmp_path / "r.npz", **{"leaf:0": np.zeros((0, 1000))})
    assert read_result(tmp_path / "r.npz", 1000).returned.items[0].items[0].values.shape == (0, 1000)


@pytest.mark.parametrize(
    "meta, field", [(GOOD_META, '"stdout_dropped": 0'), (_raising_at(0), '"line": 0')], ids=["count", "line"]
)
def test_an_integer_too_long_to_convert_fails_the_case_not_the_grader(tmp_path, meta, field):
    """Past 4,300 digits Python refuses to convert an integer (a ValueError from json.loads, which
    made the whole submission an error, graded again on every run): such a description is malformed."""
    np.savez(tmp_path / "r.npz", meta=np.array(json.dumps(meta).replace(field, field[:-1] + "9" * 4400)))
    assert _malformed(tmp_path / "r.npz") == (
        "malformed results: the description holds an integer of more than 20 digits"
    )


def test_anything_that_goes_wrong_while_reading_fails_only_the_case(tmp_path, monkeypatch):
    """Whatever a check did not foresee raises inside the reader: it comes out as a malformed result."""
    import grader.kernel.untrusted as untrusted

    def broken(*args, **kwargs):
        raise KeyError("a case the checks did not foresee")

    _good(tmp_path / "r.npz")
    monkeypatch.setattr(untrusted, "result_from", broken)
    assert _malformed(tmp_path / "r.npz") == "malformed results: the results file cannot be read (KeyError)"


def test_a_reason_never_quotes_a_number_the_kernel_chose(tmp_path):
    """The file's size and its number of arrays are the kernel's choice: a reason names the bound only."""
    from grader.kernel.untrusted import read_bytes

    (tmp_path / "r.bin").write_bytes(b"x" * 31_337)
    with pytest.raises(UntrustedDataError) as caught:
        read_bytes(tmp_path / "r.bin", 1000, time.monotonic() + 60)
    assert str(caught.value) == "malformed results: the results file is more than the 1000 bytes accepted"
    _archive(
        tmp_path / "r.npz",
        [(f"leaf:{i}.npy", _npy(np.zeros(1))) for i in range(999)] * 2 + [("meta.npy", _npy(np.zeros(1)))] * 3,
    )
    assert _malformed(tmp_path / "r.npz") == "malformed results: more than the 1001 arrays the harness writes"
