"""The only grader code that runs inside the student's kernel: build a case's inputs, call, flatten.

Its source is sent to the kernel as a cell, and the grader imports the same file, so that the
reference's return value is flattened exactly as a student's is (one implementation). It must
stay self-contained (the kernel cannot import the grader package) and only defines dunder names,
so that it never replaces a name the notebook uses. Its helpers are bound as default arguments of
the functions that use them, so a call looks none of them up in the kernel's namespace.

The result protocol
-------------------
A graded function may return any value built from tuples, lists, dicts with string keys, numpy
arrays, Python and numpy numbers, bools, None and short strings. `__grader_flatten__` turns it
into a structure description (JSON) and a list of leaves (float64 arrays, written to the .npz as
members `leaf:0`, `leaf:1`, ...; never pickle). Structure nodes:

    {"kind": "tuple"|"list", "length": n, "items": [node, ...]}        items cut at a bound
    {"kind": "tuple"|"list", "length": n, "numbers": leaf}              n numbers packed in one leaf
    {"kind": "dict", "keys": [str, ...], "items": [node, ...]}          keys cut at a bound
    {"kind": "array", "leaf": i, "dtype": "float64"}                    the leaf holds its values
    {"kind": "number", "leaf": i, "type": "int"}                        a 0-d leaf
    {"kind": "bool", "value": true} | {"kind": "none"} | {"kind": "str", "value": s, "length": n}
    {"kind": "other", "type": "set", "why": "..."}                      cannot be sent as data
    {"kind": "cut", "why": "..."}                                       beyond a bound

Depth, leaves, keys, items, string length and the values sent are bounded; `cut` lists what was
left out, so the grader can say so.

The recipe language
-------------------
A case's inputs are JSON: {"seed": 0, "args": {name: value, ...}}. The arguments are built in
the order written, drawing from one numpy RandomState(seed). A value is a JSON number, string,
bool or null (itself), a JSON list (a list of values), or an object with one tag:

    {"normal": [3, 4]}                     standard normal draws of that shape
    {"uniform": [3, 4], "low": 0, "high": 1}
    {"bernoulli": [1, 10], "p": 0.5}       0.0/1.0 floats, 1 with probability p
    {"array": [[1, 2], [3, 4]]}            a literal float64 array
    {"file": "data.npz", "key": "X"}       an array from a file of the bundle (.npz or .h5),
                                           read in the kernel's folder; "rows": n keeps the first n
    {"tuple": [value, ...]}   {"dict": {"W1": value, ...}}   {"literal": any JSON, taken as is}

An assignment may instead name its own builder module (`inputs` in the manifest): the harness
then imports it from the kernel's folder and calls its build_inputs(recipe).
"""


class __grader_flattener__:
    """One flattening's state (its leaves, its cut notes, the values it may still send), with one method
    per kind of value, so that each piece stays short. Only its name is defined at module level."""

    def __init__(self, max_values, bounds):
        import numbers

        import numpy as np

        self.np, self.numbers, self.max_values = np, numbers, max_values
        self.max_depth, self.max_leaves, self.max_keys, self.max_items, self.max_string = bounds
        self.leaves, self.cut, self.budget = [], [], max_values

    def leaf(self, size, make):
        """The index of a new leaf holding make() (size values), or a "cut" note when over a bound."""
        if len(self.leaves) >= self.max_leaves:
            self.cut.append(f"more than {self.max_leaves} arrays and numbers")
            return None, "too many arrays and numbers"
        if size > self.budget:
            self.cut.append(f"more than the {self.max_values} values accepted")
            return None, f"an array of {size} values, more than the {self.max_values} accepted"
        self.budget -= size
        self.leaves.append(make())
        return len(self.leaves) - 1, ""

    def is_number(self, item):
        """A real number (a 0-d numeric array included), never a bool."""
        np = self.np
        if isinstance(item, (bool, np.bool_)):
            return False
        if isinstance(item, np.ndarray):
            return item.ndim == 0 and item.dtype.kind in "fiu"
        return isinstance(item, (self.numbers.Real, np.integer, np.floating))

    def node(self, item, depth):
        """The description of `item`: the scalars here, arrays and containers by their own methods."""
        np = self.np
        if depth > self.max_depth:
            self.cut.append(f"nesting deeper than {self.max_depth}")
            return {"kind": "cut", "why": "depth"}
        if item is None:
            return {"kind": "none"}
        if isinstance(item, (bool, np.bool_)):
            return {"kind": "bool", "value": bool(item)}
        if isinstance(item, str):
            if len(item) > self.max_string:
                self.cut.append(f"a text longer than {self.max_string} characters")
            return {"kind": "str", "value": item[: self.max_string], "length": len(item)}
        if self.is_number(item):
            index, why = self.leaf(1, lambda: np.array(float(item), dtype=np.float64))
            if index is None:
                return {"kind": "cut", "why": why}
            return {"kind": "number", "leaf": index, "type": type(item).__name__[:100]}
        if not isinstance(item, (np.ndarray, tuple, list, dict)) and hasattr(item, "__array__"):
            item = np.asarray(item)  # an array-like (a matrix, a tensor): read as the array it says it is
        if isinstance(item, np.ndarray):
            return self.array(item)
        if isinstance(item, (tuple, list)):
            return self.sequence(item, depth)
        if isinstance(item, dict):
            return self.mapping(item, depth)
        return {"kind": "other", "type": type(item).__name__[:100], "why": "not a number, array, text or container"}

    def array(self, item):
        """A numeric array as one float64 leaf; any other dtype cannot be sent as data."""
        np = self.np
        if item.dtype.kind not in "fiub":
            return {"kind": "other", "type": "ndarray", "why": f"an array of {item.dtype.kind} values"}
        index, why = self.leaf(int(item.size), lambda: np.array(item, dtype=np.float64, copy=True))
        if index is None:
            return {"kind": "cut", "why": why}
        return {"kind": "array", "leaf": index, "dtype": str(item.dtype)[:20]}

    def sequence(self, item, depth):
        """A tuple or list: packed in one leaf when all numbers (and within the budget), else item by item."""
        np = self.np
        kind = "tuple" if isinstance(item, tuple) else "list"
        if 0 < len(item) <= self.budget and all(self.is_number(x) for x in item):
            index, _ = self.leaf(len(item), lambda: np.array([float(x) for x in item], dtype=np.float64))
            if index is not None:
                return {"kind": kind, "length": len(item), "numbers": index}
        if len(item) > self.max_items:
            self.cut.append(f"a {kind} of more than {self.max_items} items")
        return {
            "kind": kind,
            "length": len(item),
            "items": [self.node(x, depth + 1) for x in list(item)[: self.max_items]],
        }

    def mapping(self, item, depth):
        """A dict with text keys, key by key; other keys cannot be sent as data."""
        keys = list(item)[: self.max_keys]
        if not all(isinstance(k, str) for k in keys):
            return {"kind": "other", "type": "dict", "why": "a dict whose keys are not all strings"}
        if len(item) > self.max_keys:
            self.cut.append(f"a dict of more than {self.max_keys} keys")
        return {
            "kind": "dict",
            "keys": [k[: self.max_string] for k in keys],
            "items": [self.node(item[k], depth + 1) for k in keys],
        }


def __grader_flatten__(value, max_values, bounds=(12, 1000, 200, 1000, 200), flattener=__grader_flattener__):
    """(structure, leaves, cut): `value` as a JSON-ready description and its float64 arrays.

    `bounds` = (depth, leaves, keys per dict, items per list, characters per text); the grader's
    reader (untrusted.py) accepts no more than these. `flattener` is bound when the harness is
    defined, so no name of the kernel's namespace is looked up after the student's code ran.
    """
    state = flattener(max_values, bounds)
    structure = state.node(value, 0)
    return structure, state.leaves, sorted(set(state.cut))


def __grader_inputs__(recipe, folder="."):
    """The keyword arguments of one call, built from a recipe (see the module docstring)."""
    import os

    import numpy as np

    tags_known = ("normal", "uniform", "bernoulli", "array", "file", "tuple", "dict", "literal")
    random = np.random.RandomState(int(recipe.get("seed", 0)))

    def read_file(spec):
        path = os.path.join(folder, spec["file"])
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as stored:
                array = np.array(stored[spec["key"]])
        else:
            import h5py

            with h5py.File(path, "r") as stored:
                array = np.array(stored[spec["key"]])
        if "rows" in spec:
            array = array[: int(spec["rows"])]
        return np.array(array, dtype=np.float64)

    def build(spec):
        if spec is None or isinstance(spec, (bool, int, float, str)):
            return spec
        if isinstance(spec, list):
            return [build(x) for x in spec]
        tags = [tag for tag in spec if tag in tags_known] if isinstance(spec, dict) else []
        if len(tags) != 1:
            raise ValueError(f"a recipe value must be a literal or an object with one of the tags {tags_known}")
        tag = tags[0]
        if tag == "normal":
            return random.randn(*spec["normal"])
        if tag == "uniform":
            return random.uniform(spec.get("low", 0.0), spec.get("high", 1.0), size=spec["uniform"])
        if tag == "bernoulli":
            return (random.rand(*spec["bernoulli"]) < spec.get("p", 0.5)).astype(np.float64)
        if tag == "array":
            return np.array(spec["array"], dtype=np.float64)
        if tag == "file":
            return read_file(spec)
        if tag == "tuple":
            return tuple(build(x) for x in spec["tuple"])
        if tag == "dict":
            return {str(k): build(v) for k, v in spec["dict"].items()}
        return spec["literal"]

    return {name: build(value) for name, value in recipe.get("args", {}).items()}


class __grader_bounded_text__:
    """Keeps the first `limit` characters written to it and counts the rest: what the function prints."""

    def __init__(self, limit):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def write(self, text):
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self):
        pass


def __grader_raised_at__(error, function):
    """The line, in the cell that defines the function, where the exception left that cell's code."""
    import traceback

    cell = getattr(getattr(function, "__code__", None), "co_filename", None)
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if cell is not None and frame.filename == cell and isinstance(frame.lineno, int):
            found = frame.lineno
    return found


def __grader_error__(error, function, raised_at=__grader_raised_at__):
    """The report of an exception the call raised (meta's "error"), bounded, even when its text fails."""
    import traceback

    try:
        message = str(error)[:2000]
        lines = "".join(traceback.format_exception(type(error), error, error.__traceback__))[-6000:]
    except BaseException:  # noqa: BLE001 - an exception whose own text cannot be made
        message, lines = "(the exception's message could not be read)", ""
    return {
        "type": str(type(error).__name__)[:200],
        "message": message,
        "traceback": lines,
        "line": raised_at(error, function),
    }


def __grader_returned__(meta, result, kwargs, request, flatten):
    """Flatten the returned value (and the inputs, when asked) into `meta`; the leaves to write.

    A value whose reading fails is reported as an "other" node, with no leaves."""
    sent = {"returned": result}
    if request.get("return_inputs"):
        sent["inputs"] = {name: kwargs.get(name) for name in request["signature"] if name in kwargs}
    try:
        structure, leaves, cut = flatten(sent, request["max_values"])
        meta["returned"] = structure["items"][0]
        meta["inputs"] = structure["items"][1] if "inputs" in sent else None
        meta["cut"] = cut
    except Exception as error:  # noqa: BLE001 - a value whose reading fails is reported
        meta["returned"] = {
            "kind": "other",
            "type": type(result).__name__[:100],
            "why": f"it could not be read ({type(error).__name__})",
        }
        leaves = []
    return leaves


def __grader_arguments__(request, inputs):
    """The call's keyword arguments, built in the kernel's folder: by the assignment's own builder
    module when it names one, else from the recipe."""
    import importlib
    import os
    import sys

    os.chdir(request["workdir"])
    if request.get("builder"):
        if request["workdir"] not in sys.path:
            sys.path.insert(0, request["workdir"])
        return importlib.import_module(request["builder"]).build_inputs(request["recipe"])
    return inputs(request["recipe"], request["workdir"])


def __grader_run__(
    request_text,
    flatten=__grader_flatten__,
    inputs=__grader_inputs__,
    bounded_text=__grader_bounded_text__,
    describe_error=__grader_error__,
    returned=__grader_returned__,
    arguments_of=__grader_arguments__,
):
    """One case: build the inputs, call the notebook's function, write its result archive to request["out"].

    The helpers are bound when the harness is defined, so the student's code cannot replace them."""
    import contextlib
    import json
    import sys

    import numpy as np

    request = json.loads(request_text)
    namespace = sys.modules["__main__"].__dict__
    meta = {"error": None, "returned": None, "cut": []}
    leaves = []
    function = None
    kwargs = {}
    captured = bounded_text(request["output_limit"])
    try:
        kwargs = arguments_of(request, inputs)
        function = namespace.get(request["function"])
        if not callable(function):
            raise NameError(f"the notebook defines no function named {request['function']}")
        arguments = [kwargs.get(name, False) for name in request["signature"]]
        # Misleading globals hold only during this call, so later cases see the notebook as it was.
        missing = object()
        saved = {name: namespace.get(name, missing) for name in request.get("globals", {})}
        namespace.update(request.get("globals", {}))
        try:
            with contextlib.redirect_stdout(captured):
                result = function(*arguments)
        finally:
            for name, value in saved.items():
                if value is missing:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
    except BaseException as error:  # noqa: BLE001 - the student's exceptions become a report
        meta["error"] = describe_error(error, function)
        result = None
    meta["stdout"] = "".join(captured.parts)
    meta["stdout_dropped"] = captured.dropped

    if meta["error"] is None:
        leaves = returned(meta, result, kwargs, request, flatten)

    arrays = {f"leaf:{index}": array for index, array in enumerate(leaves)}
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(request["out"], **arrays)
