"""Reading what the student's kernel wrote, treating every byte as hostile.

The kernel writes an .npz archive. It is read member by member with numpy's format reader and
allow_pickle=False: each array's header is checked (numeric or text dtype, a bounded number of
values) before its data is read, so a huge, malformed or object-dtype file is a failed case,
never a crashed or bloated grader.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ALLOWED_KINDS = "fiub"
MAX_META_CHARS = 1_000_000


class UntrustedDataError(Exception):
    """The kernel's result file is missing, too large or malformed."""


@dataclass
class KernelResult:
    meta: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def _read_header(handle, version):
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(handle)
    raise UntrustedDataError(f"unsupported array format version {version}")


def read_result(path: Path, max_values: int) -> KernelResult:
    """Read the kernel's result archive; raises UntrustedDataError with a plain reason."""
    if not path.is_file():
        raise UntrustedDataError("the function's results never came back from the kernel")
    max_bytes = max_values * 8 * 4 + 4 * MAX_META_CHARS
    if path.stat().st_size > max_bytes:
        raise UntrustedDataError(f"the results file is {path.stat().st_size} bytes, more than accepted")
    arrays: dict[str, np.ndarray] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > 1000:
                raise UntrustedDataError("the results hold more than 1000 arrays")
            for member in members:
                if member.file_size > max_bytes:
                    raise UntrustedDataError("an array in the results is larger than accepted")
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    shape, _, dtype = _read_header(handle, version)
                    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
                    is_text = dtype.kind == "U" and member.filename == "meta.npy"
                    if dtype.hasobject or (dtype.kind not in ALLOWED_KINDS and not is_text):
                        raise UntrustedDataError(f"an array of type {dtype} came back; only numbers are accepted")
                    total += count
                    if total > max_values:
                        raise UntrustedDataError(f"more than {max_values} values came back")
                    handle.seek(0)
                    arrays[member.filename.removesuffix(".npy")] = np.lib.format.read_array(
                        handle, allow_pickle=False)
    except UntrustedDataError:
        raise
    except Exception as error:  # noqa: BLE001 - a malformed file, whatever the reason
        raise UntrustedDataError(f"the results file is malformed ({type(error).__name__})") from None
    meta_array = arrays.pop("meta", None)
    if meta_array is None or meta_array.shape != () or len(str(meta_array)) > MAX_META_CHARS:
        raise UntrustedDataError("the results carry no readable description")
    try:
        meta = json.loads(str(meta_array))
    except json.JSONDecodeError:
        raise UntrustedDataError("the results description is not valid JSON") from None
    if not isinstance(meta, dict):
        raise UntrustedDataError("the results description is not a JSON object")
    return KernelResult(meta=meta, arrays={k: np.array(v, dtype=np.float64) for k, v in arrays.items()})
