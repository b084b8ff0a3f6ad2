"""Reading what the student's kernel wrote, treating every byte as hostile.

The kernel writes an .npz archive into its own folder, which it can also fill with links and
special files. The file is opened without following links, checked to be a regular file (owned by
the sandbox's uid when one is given) and read, bounded in size and time, into memory; everything
after that works on those bytes. Member names must be the ones the harness (kernel/harness.py)
writes, each once; the bytes unpacked are counted while they are read, never taken from the
archive's headers. Each array's header is checked (numeric or text dtype, a bounded number of
values) before its data is parsed, with allow_pickle=False. Finally the description is validated
into a typed record: every field's type and shape checked, so the rest of the grader only sees
data of the expected form. Whatever is wrong, the case fails with "malformed results: <why>";
the grader itself never fails on it. A reason never quotes text from the file (a name, a type),
nor a number the kernel chose (a size, a count), since a hidden case's report must not carry what
the kernel chose to write; and every number the description holds (a line, a length, a count) is
bounded, since a report shows some of them.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import stat
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeGuard

import numpy as np

from grader.errors import GraderError
from grader.model import Array, Atom, KernelResult, Mapping, Node, Number, Opaque, RaisedError, ResultMeta, Seq

ALLOWED_KINDS = "fiub"
MAX_META_CHARS = 1_000_000
# The harness's bounds (grader.kernel.harness):
MAX_DEPTH, MAX_LEAVES, MAX_KEYS, MAX_ITEMS, MAX_STRING = 12, 1000, 200, 1000, 200
MAX_MEMBERS = MAX_LEAVES + 1  # the leaves and meta
MEMBER_OVERHEAD = 4096  # an .npy header, generously
READ_SECONDS = 20.0  # the longest the grader spends reading one result file
CHUNK = 1 << 20
MAX_NAME_CHARS = 200  # an exception type's or a returned type's name
MAX_MESSAGE_CHARS = 2_000
MAX_TRACEBACK_CHARS = 6_000
MAX_PROBLEM_CHARS = 1_000
MAX_CUT_NOTES = 20
# Numbers a report may show are bounded, so that none can carry a hidden input whole:
MAX_LINE = 1_000_000  # a line of the function's cell: no cell is that long
MAX_LENGTH = 1 << 40  # items of a list, characters of a text: more than any kernel's memory holds
MAX_DIMENSIONS = 32  # of an array (numpy's own limit before 2.0)
MAX_INT_DIGITS = 20  # an integer in the description: the largest one accepted (MAX_LENGTH) has 13


class UntrustedDataError(GraderError):
    """The kernel's result file is missing, too large or malformed."""


class _Malformed(UntrustedDataError):
    def __init__(self, reason: str):
        super().__init__(f"malformed results: {reason}")


# --- the returned value, as typed records ---------------------------------------------------------


def parse_node(data: object, leaves: dict[int, np.ndarray], used: set[int], depth: int = 0) -> Node:
    """A structure description (the harness's JSON) as typed records; every field checked.

    `leaves` are the arrays by index; each must be referenced exactly once (recorded in `used`).
    """
    if depth > MAX_DEPTH + 2 or not isinstance(data, dict):
        raise _Malformed("the structure of the returned value is not a description the harness writes")
    kind = data.get("kind")
    if kind in ("tuple", "list"):
        return _parse_seq(str(kind), data, leaves, used, depth)
    if kind == "dict":
        return _parse_mapping(data, leaves, used, depth)
    if kind in ("array", "number"):
        return _parse_leaf_node(str(kind), data, leaves, used)
    return _parse_atom(kind, data)


def _only(data: dict, *names: str) -> None:
    """A node holds no field but its kind and `names`: any other is not the harness's."""
    if set(data) - {"kind", *names}:
        raise _Malformed("the structure has a field the harness never writes")


def _parse_seq(kind: str, data: dict, leaves: dict[int, np.ndarray], used: set[int], depth: int) -> Seq:
    """A tuple or list: its numbers packed in one leaf, or its items (at most its length, and MAX_ITEMS)."""
    length = _count(data.get("length"), "a length")
    if "numbers" in data:
        _only(data, "length", "numbers")
        values = _take_leaf(data["numbers"], leaves, used)
        if values.shape != (length,):
            raise _Malformed("a packed list's values do not match its length")
        return Seq(kind, length, tuple(Number(float(v), "float") for v in values))
    _only(data, "length", "items")
    items = data.get("items")
    if not isinstance(items, list) or len(items) > min(length, MAX_ITEMS):
        raise _Malformed("a list's items do not match its length")
    return Seq(kind, length, tuple(parse_node(item, leaves, used, depth + 1) for item in items))


def _parse_mapping(data: dict, leaves: dict[int, np.ndarray], used: set[int], depth: int) -> Mapping:
    """A dict: distinct text keys, one item each."""
    _only(data, "keys", "items")
    keys = _texts(data.get("keys"), "keys", MAX_KEYS, MAX_STRING)
    items = data.get("items")
    if not isinstance(items, list) or len(items) != len(keys) or len(set(keys)) != len(keys):
        raise _Malformed("a dict's items do not match its keys")
    return Mapping(keys, tuple(parse_node(item, leaves, used, depth + 1) for item in items))


def _parse_leaf_node(kind: str, data: dict, leaves: dict[int, np.ndarray], used: set[int]) -> Array | Number:
    """An array or a number: the leaf it names, taken (a number's holds one value)."""
    if kind == "array":
        _only(data, "leaf", "dtype")
        return Array(_take_leaf(data.get("leaf"), leaves, used), _text(data.get("dtype"), "a dtype", 20))
    _only(data, "leaf", "type")
    values = _take_leaf(data.get("leaf"), leaves, used)
    if values.shape != ():
        raise _Malformed("a number is not one value")
    return Number(float(values), _text(data.get("type"), "a type", MAX_NAME_CHARS))


def _parse_atom(kind: object, data: dict) -> Atom | Opaque:
    """A bool, None, a text, a value that cannot be sent ("other") or one left out ("cut")."""
    if kind == "bool":
        _only(data, "value")
        if not isinstance(data.get("value"), bool):
            raise _Malformed("a bool is not true or false")
        return Atom("bool", data["value"])
    if kind == "none":
        _only(data)
        return Atom("none", None)
    if kind == "str":
        _only(data, "value", "length")
        return Atom("str", _text(data.get("value"), "a text", MAX_STRING), _count(data.get("length"), "a length"))
    if kind == "other":
        _only(data, "type", "why")
        return Opaque(
            _text(data.get("type"), "a type", MAX_NAME_CHARS), _text(data.get("why"), "a reason", MAX_PROBLEM_CHARS)
        )
    if kind == "cut":
        _only(data, "why")
        return Opaque("cut", _text(data.get("why"), "a reason", MAX_PROBLEM_CHARS))
    raise _Malformed("the structure names a kind the harness never writes")


def _take_leaf(index: object, leaves: dict[int, np.ndarray], used: set[int]) -> np.ndarray:
    if not isinstance(index, int) or isinstance(index, bool) or index not in leaves or index in used:
        raise _Malformed("the structure names an array that is missing or named twice")
    used.add(index)
    return leaves[index]


def result_of_value(
    value: object, stdout: str = "", inputs: dict | None = None, max_values: int = 10_000_000
) -> KernelResult:
    """A result built in the grader from a Python value, through the harness's own flattening."""
    from grader.kernel.harness import __grader_flatten__

    sent = {"returned": value} if inputs is None else {"returned": value, "inputs": inputs}
    structure, arrays, cut = __grader_flatten__(sent, max_values)
    meta = {
        "error": None,
        "stdout": stdout,
        "stdout_dropped": 0,
        "cut": cut,
        "returned": structure["items"][0],
        "inputs": structure["items"][1] if inputs is not None else None,
    }
    return result_from(meta, dict(enumerate(arrays)))


def raised_result(kind: str, message: str, line: int | None = None) -> KernelResult:
    """A result saying the function raised."""
    return result_from({"error": {"type": kind, "message": message, "line": line}, "stdout": ""}, {})


def result_from(data: object, leaves: dict[int, np.ndarray]) -> KernelResult:
    """Validate the harness's description and its leaves into a KernelResult (raises UntrustedDataError)."""
    if not isinstance(data, dict):
        raise _Malformed("the description is not a JSON object")
    if set(data) - {"error", "stdout", "stdout_dropped", "cut", "returned", "inputs"}:
        raise _Malformed("the description has a field the harness never writes")
    cut = _texts(data.get("cut", []), "cut", MAX_CUT_NOTES, MAX_PROBLEM_CHARS)
    meta = ResultMeta(
        error=_raised(data.get("error")),
        stdout=_text(data.get("stdout", ""), "stdout", MAX_META_CHARS),
        stdout_dropped=_count(data.get("stdout_dropped", 0), "stdout_dropped"),
        cut=cut,
    )
    used: set[int] = set()
    returned = inputs = None
    if meta.error is None:
        if data.get("returned") is None:
            raise _Malformed("the description holds no returned value")
        returned = parse_node(data["returned"], leaves, used)
        if data.get("inputs") is not None:
            inputs = parse_node(data["inputs"], leaves, used)
    if used != set(leaves):
        raise _Malformed("an array is not among the values described")
    return KernelResult(meta=meta, returned=returned, inputs=inputs)


def _is_text(value: object, limit: int) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= limit


def _text(value: object, what: str, limit: int) -> str:
    if not _is_text(value, limit):
        raise _Malformed(f"{what} is not a text of at most {limit} characters")
    return value


def _optional_text(value: object, what: str, limit: int) -> str | None:
    return None if value is None else _text(value, what, limit)


def _name(value: object, what: str) -> str | None:
    return _optional_text(value, what, MAX_NAME_CHARS)


def _count(value: object, what: str, limit: int = MAX_LENGTH) -> int:
    """A whole number from 0 to `limit`: anything larger is no length or line the harness could send."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise _Malformed(f"{what} is not a count of at most {limit}")
    return value


def _optional_count(value: object, what: str, limit: int = MAX_LENGTH) -> int | None:
    """None, or a count (see _count)."""
    return None if value is None else _count(value, what, limit)


def _texts(value: object, what: str, limit: int, chars: int) -> tuple[str, ...]:
    """A list of at most `limit` texts of at most `chars` characters each."""
    if not isinstance(value, list) or len(value) > limit or not all(_is_text(v, chars) for v in value):
        raise _Malformed(f"{what} is not a list of at most {limit} texts of at most {chars} characters")
    return tuple(value)


def _raised(value: object) -> RaisedError | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"type", "message", "traceback", "line"}:
        raise _Malformed("error is not a description of an exception")
    return RaisedError(
        type=_text(value.get("type"), "error type", MAX_NAME_CHARS),
        message=_text(value.get("message", ""), "error message", MAX_MESSAGE_CHARS),
        traceback=_text(value.get("traceback", ""), "error traceback", MAX_TRACEBACK_CHARS),
        line=_optional_count(value.get("line"), "error line", MAX_LINE),
    )


def _known_member(name: str) -> str:
    """The array name of an archive member, if the harness could have written it."""
    stem = name.removesuffix(".npy")
    if name.endswith(".npy") and (
        stem == "meta"
        or (stem.startswith("leaf:") and stem[5:].isdigit() and len(stem) <= 10 and int(stem[5:]) < MAX_LEAVES)
    ):
        return stem
    raise _Malformed("an array name the harness never writes")


def _read_header(handle, version):
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(handle)
    raise _Malformed("an array is in a format version the harness never writes")


def _check_time(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise _Malformed("reading them took longer than the grader allows")


def read_bytes(path: Path, limit: int, deadline: float, owner: int | None = None) -> bytes:
    """At most `limit` bytes of the regular file `path`, opened without following any link.

    The folder holding the file is opened without following a link either, and the file from it;
    `owner`, when given, is the only uid the file may belong to.
    """
    path = Path(path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        folder = os.open(path.parent, flags | os.O_DIRECTORY)
    except OSError:
        raise UntrustedDataError("the function's results never came back from the kernel") from None
    try:
        descriptor = os.open(path.name, flags | os.O_NONBLOCK, dir_fd=folder)
    except FileNotFoundError:
        raise UntrustedDataError("the function's results never came back from the kernel") from None
    except OSError as error:
        code = error.errno  # None for an OSError raised without one: shown as None
        reason = (
            "the results file is a link"
            if code in (errno.ELOOP, errno.EMLINK)
            else f"the results file cannot be opened ({errno.errorcode.get(code, code) if code is not None else None})"
        )
        raise _Malformed(reason) from None
    finally:
        os.close(folder)
    try:
        return _read_descriptor(descriptor, limit, deadline, owner)
    finally:
        os.close(descriptor)


def _read_descriptor(descriptor: int, limit: int, deadline: float, owner: int | None) -> bytes:
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise _Malformed("the results file is not a regular file")
    if owner is not None and info.st_uid != owner:
        raise _Malformed(f"the results file belongs to uid {info.st_uid}, not to the kernel's uid {owner}")
    if info.st_size > limit:
        raise _Malformed(f"the results file is more than the {limit} bytes accepted")

    def read(size: int) -> bytes:
        try:
            return os.read(descriptor, size)
        except BlockingIOError:
            raise _Malformed("the results file could not be read") from None

    return _read_bounded(read, limit, deadline, f"the results file is more than the {limit} bytes accepted")


def _member_bytes(archive: zipfile.ZipFile, member: zipfile.ZipInfo, room: int, deadline: float) -> bytes:
    """A member's unpacked bytes, counted as they come: never more than `room`."""
    with archive.open(member) as handle:
        return _read_bounded(handle.read, room, deadline, f"they unpack to more than the {room} bytes accepted")


def _read_bounded(read: Callable[[int], bytes], limit: int, deadline: float, too_much: str) -> bytes:
    """Everything `read(n)` gives until it gives nothing, in chunks, the clock checked before each:
    never more than `limit` bytes (one byte past it and the reading stops, refused as `too_much`),
    whatever size the file or archive claimed."""
    parts: list[bytes] = []
    size = 0
    while True:
        _check_time(deadline)
        part = read(min(CHUNK, limit + 1 - size))
        if not part:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
        if size > limit:
            raise _Malformed(too_much)


def _parse_array(data: bytes, stem: str, values_left: int) -> np.ndarray:
    handle = io.BytesIO(data)
    version = np.lib.format.read_magic(handle)
    shape, fortran_order, dtype = _read_header(handle, version)
    is_text = dtype.kind == "U" and stem == "meta"
    if dtype.hasobject or (dtype.kind not in ALLOWED_KINDS and not is_text):
        raise _Malformed("an array that is not numbers came back; only numbers are accepted")
    # An empty dimension makes any other dimension free: each counts as at least 1, so that a shape
    # (which a report shows) stays as bounded as the values.
    if len(shape) > MAX_DIMENSIONS or math.prod(max(int(size), 1) for size in shape) > values_left:
        raise _Malformed("more values came back than accepted")
    if stem == "meta" and (shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_META_CHARS):
        raise _Malformed(f"the description is not one text of at most {MAX_META_CHARS} characters")
    # The values follow the header, read once (numpy's read_array would parse the header again).
    offset, count = handle.tell(), math.prod(int(size) for size in shape)
    if len(data) - offset < count * dtype.itemsize:
        raise _Malformed("an array holds fewer values than its shape says")
    values = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return values.reshape(shape[::-1]).transpose() if fortran_order else values.reshape(shape)


def _unpack(data: bytes, max_values: int, budget: int, deadline: float) -> dict[str, np.ndarray]:
    """Every member of the archive in `data`, by array name; raises on any name or size not expected."""
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise _Malformed(f"more than the {MAX_MEMBERS} arrays the harness writes")
        stems = [_known_member(member.filename) for member in members]
        if len(set(stems)) != len(stems):
            raise _Malformed("an array name appears twice")
        if sum(member.file_size for member in members) > budget:  # a first look; the reading counts for real
            raise _Malformed(f"they unpack to more than the {budget} bytes accepted")
        values_left = max_values
        for member, stem in zip(members, stems, strict=True):
            raw = _member_bytes(archive, member, budget, deadline)
            budget -= len(raw)
            array = _parse_array(raw, stem, max_values if stem == "meta" else values_left)
            if stem != "meta":
                values_left -= array.size
            arrays[stem] = array
    return arrays


def _bounded_int(digits: str) -> int:
    """json.loads' reading of an integer: a long one is refused before Python converts it (past
    4,300 digits the conversion itself raises; long before that, no count is that large)."""
    if len(digits) > MAX_INT_DIGITS:
        raise _Malformed(f"the description holds an integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _meta(array: np.ndarray | None) -> object:
    if array is None or array.shape != () or array.dtype.kind != "U" or len(str(array)) > MAX_META_CHARS:
        raise _Malformed("the results carry no readable description")
    try:
        return json.loads(str(array), parse_int=_bounded_int)
    except UntrustedDataError:
        raise
    except Exception:  # noqa: BLE001 - not JSON, nested too deeply, ...: whatever the parser's complaint
        raise _Malformed("the description is not valid JSON") from None


def read_result(path: Path, max_values: int, owner: int | None = None, deadline: float | None = None) -> KernelResult:
    """Read and validate the kernel's result archive; raises UntrustedDataError with a plain reason.

    `owner` is the uid the file must belong to (the sandbox's, when the grader runs as root);
    `deadline` is a time.monotonic() value after which reading gives up (READ_SECONDS from now
    when not given). Nothing else is ever raised: whatever the file holds fails its case, never
    the submission.
    """
    deadline = time.monotonic() + READ_SECONDS if deadline is None else deadline
    try:
        return _read_result(path, max_values, owner, deadline)
    except UntrustedDataError:
        raise
    except Exception as error:  # noqa: BLE001 - a file no check foresaw: that case fails, the grader goes on
        raise _Malformed(f"the results file cannot be read ({type(error).__name__})") from None


def _read_result(path: Path, max_values: int, owner: int | None, deadline: float) -> KernelResult:
    budget = max_values * 8 + 4 * MAX_META_CHARS + MAX_MEMBERS * MEMBER_OVERHEAD
    data = read_bytes(path, budget + MAX_MEMBERS * 2 * MEMBER_OVERHEAD, deadline, owner)
    if not data:  # the grader empties the file before each call: nothing was written back
        raise UntrustedDataError("the function's results never came back from the kernel")
    try:
        arrays = _unpack(data, max_values, budget, deadline)
    except UntrustedDataError:
        raise
    except Exception as error:  # noqa: BLE001 - a malformed archive, whatever the library's complaint
        raise _Malformed(f"the results file cannot be read ({type(error).__name__})") from None
    meta = _meta(arrays.pop("meta", None))
    try:
        floats = {int(name[5:]): np.array(value, dtype=np.float64) for name, value in arrays.items()}
    except (TypeError, ValueError):
        raise _Malformed("an array cannot be read as numbers") from None
    return result_from(meta, floats)
