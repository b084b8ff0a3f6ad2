"""What `python -m ipykernel_launcher` does, with ipykernel's debugger left unloaded; run as `python -c`.

The debugger serves a Jupyter frontend's debugging requests, which the grader never sends, and
importing debugpy for it is about 0.15 CPU-s, a third of a fresh kernel's start. debugpy is
blocked only while ipykernel's debugger module loads (it then records the debugger as unavailable);
the student's own `import debugpy` works as ever. The zygote preloads ipykernel the same way
(grader.kernel.forkserver), so a forked kernel is the same as a fresh one. Only the standard
library and ipykernel are imported here: this runs as the kernel, before any cell.
"""

import importlib.util
import sys
from pathlib import Path


def without_debugger() -> None:
    """Import ipykernel's kernel with debugpy blocked (nothing happens once it is imported)."""
    blocked = "debugpy" not in sys.modules
    if blocked:
        sys.modules["debugpy"] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import ipykernel.debugger  # the kernel class loads it when it starts
        import ipykernel.ipkernel  # noqa: F401 - what IPKernelApp loads as its kernel class
    finally:
        if blocked and sys.modules.get("debugpy", 0) is None:
            del sys.modules["debugpy"]


def main() -> None:
    spec = importlib.util.find_spec("ipykernel_launcher")
    sys.argv[0] = str(spec.origin if spec else "ipykernel_launcher")
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]  # as ipykernel_launcher does while it loads; IPython puts the working folder back
    without_debugger()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
