"""`grader isolation`: how student code would be isolated on this machine, proven as `grade` proves it.

For an instructor before a batch, for a cluster job's prologue (a node that cannot isolate starts no
worker), and for anyone wondering why `grade` refused: it runs the same probes and prints either
how kernels would run, or each cause with its fix.
"""

from __future__ import annotations

import sys

from grader.assignment.manifest import Assignment
from grader.kernel.isolation import IsolationRefused, kernel_launcher
from grader.render.isolation import describe, unavailable_text


def show_isolation(assignment: Assignment | None = None) -> int:
    """Print how `grade` would isolate kernels here; 0 when it can, 2 when it would refuse."""
    hidden = () if assignment is None or assignment.is_bundle else (assignment.folder, *assignment.instructor_paths)
    try:
        launcher = kernel_launcher(own_code=False, no_sandbox=False, hidden=hidden, forking=True)
    except IsolationRefused as refused:
        print("student code cannot be isolated here, so grade would refuse to run it:", file=sys.stderr)
        for why in refused.why:
            print(f"  - {unavailable_text(why)}", file=sys.stderr)
        return 2
    print(f"student code would run isolated: {describe(launcher)}")
    return 0
