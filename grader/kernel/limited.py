"""Start a command under resource limits: `python -m grader.kernel.limited [limits] -- COMMAND...`.

Used for kernels that run without the sandbox (the sandbox sets the same limits inside itself).
The kernel's command line is prefixed with this, so the limits are set in the process that then
becomes the kernel (by exec) and are inherited by everything it starts. The kernel also becomes a
"child subreaper": a process its code starts and abandons (a daemon that left its process group)
stays below it, where the grader finds and kills it, instead of escaping to init.
"""

import ctypes
import os
import resource
import sys

PR_SET_CHILD_SUBREAPER = 36


def tasks_of_user(uid: int) -> int:
    """How many processes and threads `uid` runs now: RLIMIT_NPROC counts them all."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                pass
    return count


def apply_limits(cpu_seconds: int, memory_mb: int, processes: int, file_mb: int) -> None:
    """Set the hard and soft limits of the current process."""
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    if memory_mb:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if processes and os.geteuid() != 0:  # never enforced for root; for a user it counts all their tasks
        allowed = tasks_of_user(os.getuid()) + processes
        resource.setrlimit(resource.RLIMIT_NPROC, (allowed, allowed))
    if file_mb:
        size = file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


LIMIT_OPTIONS = ("--cpu-seconds", "--memory-mb", "--processes", "--file-mb")
USAGE = (
    "usage: python -m grader.kernel.limited [--cpu-seconds N] [--memory-mb N] [--processes N] [--file-mb N] "
    "-- COMMAND..."
)


def parse_arguments(argv: list[str]) -> tuple[dict[str, int], list[str]]:
    """The limits (option name without dashes -> whole number, 0 when absent) and the command after `--`.

    A handful of fixed options, parsed by hand: only grader.cli parses command lines with argparse,
    and this module runs before every unsandboxed kernel, so it imports as little as it can.
    """
    limits = {option[2:].replace("-", "_"): 0 for option in LIMIT_OPTIONS}
    rest = list(argv)
    while rest and rest[0] != "--":
        option = rest.pop(0)
        if option not in LIMIT_OPTIONS or not rest or not rest[0].isdigit():
            raise ValueError(f"{option!r} is not a limit followed by a whole number")
        limits[option[2:].replace("-", "_")] = int(rest.pop(0))
    command = rest[1:]
    if not command:
        raise ValueError("no command given after --")
    return limits, command


def main(argv: list[str] | None = None) -> None:
    try:
        limits, command = parse_arguments(sys.argv[1:] if argv is None else argv)
    except ValueError as error:
        print(f"{USAGE}\n{error}", file=sys.stderr)
        sys.exit(2)
    apply_limits(limits["cpu_seconds"], limits["memory_mb"], limits["processes"], limits["file_mb"])
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # One BLAS thread per kernel: kernels run side by side, and small matrices gain nothing from more.
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
