"""Start a command under resource limits: `python -m grader.kernel.limited [limits] -- COMMAND...`.

Used for kernels that run without the sandbox (the sandbox sets the same limits inside itself).
The kernel's command line is prefixed with this, so the limits are set in the process that then
becomes the kernel (by exec) and are inherited by everything it starts. The kernel also becomes a
"child subreaper": a process its code starts and abandons (a daemon that left its process group)
stays below it, where the grader finds and kills it, instead of escaping to init.
"""

import argparse
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grader.kernel.limited", description=__doc__)
    parser.add_argument("--cpu-seconds", type=int, default=0)
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--file-mb", type=int, default=0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    apply_limits(args.cpu_seconds, args.memory_mb, args.processes, args.file_mb)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # One BLAS thread per kernel: kernels run side by side, and small matrices gain nothing from more.
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
