"""The only grader code that runs inside the student's kernel: call one function on one case.

Its source is sent to the kernel as a cell. It builds the case's inputs with the assignment's
public `test_utils.build_inputs`, calls the student's function positionally in the order the
manifest gives, and writes what came back as plain arrays (np.savez, never pickle) to the file
the grader names. It knows no expected value; the grader reads the file and judges outside.
This file must stay self-contained: the kernel cannot import the grader package.
"""


def __grader_run__(request_text):
    import contextlib
    import json
    import os
    import sys
    import traceback

    import numpy as np

    request = json.loads(request_text)
    namespace = sys.modules["__main__"].__dict__
    meta = {"error": None, "returned": None}
    arrays = {}

    class BoundedText:
        """Keeps the first `limit` characters written to it and counts the rest."""

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

    def plain(value):
        try:
            array = np.asarray(value, dtype=np.float64)
        except Exception as error:  # noqa: BLE001 - any failure is reported, not raised
            return None, f"{type(value).__name__} that cannot be read as numbers ({error})"
        if array.size > request["max_values"]:
            return None, f"an array of {array.size} values, more than the {request['max_values']} accepted"
        return np.array(array, dtype=np.float64, copy=True), None

    def raised_at(error, function):
        """The line, in the cell that defines the function, where the exception left that cell's code."""
        cell = getattr(getattr(function, "__code__", None), "co_filename", None)
        found = None
        for frame in traceback.extract_tb(error.__traceback__):
            if cell is not None and frame.filename == cell and isinstance(frame.lineno, int):
                found = frame.lineno
        return found

    function = None
    captured = BoundedText(request["output_limit"])
    try:
        os.chdir(request["workdir"])
        from test_utils import build_inputs

        kwargs = build_inputs(request["recipe"])
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
        try:
            message = str(error)[:2000]
            lines = "".join(traceback.format_exception(type(error), error, error.__traceback__))[-6000:]
        except BaseException:  # noqa: BLE001 - an exception whose own text cannot be made
            message, lines = "(the exception's message could not be read)", ""
        meta["error"] = {"type": str(type(error).__name__)[:200], "message": message,
                         "traceback": lines, "line": raised_at(error, function)}
        result = None
    meta["stdout"] = "".join(captured.parts)
    meta["stdout_dropped"] = captured.dropped

    if meta["error"] is None:
        meta["returned"] = type(result).__name__
        if isinstance(result, tuple):
            meta["length"] = len(result)
        parameters, costs = (result if isinstance(result, tuple) and len(result) == 2 else (None, None))
        meta["parameters_type"] = type(parameters).__name__
        if isinstance(parameters, dict):
            meta["parameter_keys"] = [str(k) for k in list(parameters)[:200]]
            problems = {}
            for key in list(parameters)[:200]:
                array, problem = plain(parameters[key])
                if problem:
                    problems[str(key)] = problem
                else:
                    arrays["parameter:" + str(key)] = array
            meta["parameter_problems"] = problems
        meta["costs_type"] = type(costs).__name__
        if isinstance(costs, (list, tuple)):
            try:
                arrays["costs"] = np.array([float(np.squeeze(np.asarray(c, dtype=np.float64)))
                                            for c in costs[: request["max_values"]]])
            except Exception as error:  # noqa: BLE001 - reported, not raised
                meta["costs_problem"] = f"an entry cannot be read as one number ({error})"
        if request.get("return_inputs"):
            arrays["input:X"] = np.array(kwargs["X"], dtype=np.float64)
            arrays["input:Y"] = np.array(kwargs["Y"], dtype=np.float64)

    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(request["out"], **arrays)
