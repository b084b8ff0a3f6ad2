"""Everything that touches student code, and nothing else: the kernel session, the sandbox, the
limits and cgroups, the process tree, the in-kernel harness and the reader of what the kernel wrote.

Kept empty on purpose: `python -m grader.kernel.limited` starts every kernel and must stay cheap.
"""
