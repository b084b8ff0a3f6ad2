"""The first code of every isolated kernel process: drop privileges, forbid, limit, then become the kernel.

Its source is passed to `python -I -S -c` (sandbox.py and account.py read this file), so it runs
before anything of the grader or of site-packages is importable, and it imports only the standard
library. It is the same code for the three ways a kernel is started:

- "root": inside bubblewrap started by root. It drops to the sandbox uid, then makes a user
  namespace of its own, so that the process cap (RLIMIT_NPROC) counts this kernel's processes only.
- "user": inside bubblewrap started by an ordinary user, who already made the user namespace.
- "account": no bubblewrap (a container where it cannot run); started by root, it drops to the
  unprivileged account, starts a session of its own, moves into its own folder and replaces the
  environment with the one given.

In every mode it then installs a seccomp filter (no user namespace below this one, no io_uring,
no other architecture's system calls), sets the resource limits and executes the kernel.

Command line: `python -I -S -c SOURCE SPEC -- COMMAND...`, SPEC being a JSON object with
mode, uid, gid, limits ([cpu seconds, memory MB, processes, file MB], 0 for none), and in
account mode cwd and env.
"""

import ctypes
import json
import os
import resource
import struct
import sys

CLONE_NEWUSER = 0x10000000
PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 4, 36, 38, 22
SECCOMP_MODE_FILTER = 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS = 1, 38
# audit architecture, clone, unshare, x32's bit (x86_64 only) for the two machines supported
ARCHITECTURES = {"x86_64": (0xC000003E, 56, 272, 0x40000000), "aarch64": (0xC00000B7, 220, 97, 0)}
# Calls refused outright, the same numbers on both machines: clone3 (ENOSYS, so the C library falls
# back to clone, whose flags the filter can read), io_uring's three (a second way into the kernel's
# file and network code that seccomp cannot see through), and bpf, userfaultfd, perf_event_open,
# kexec_file_load and the keyring's three calls, which no kernel of ours needs.
REFUSED = {435: ENOSYS, 425: ENOSYS, 426: ENOSYS, 427: ENOSYS}
REFUSED_X86_64 = {321: EPERM, 323: EPERM, 298: EPERM, 320: EPERM, 248: EPERM, 249: EPERM, 250: EPERM}
REFUSED_AARCH64 = {280: EPERM, 282: EPERM, 241: EPERM, 294: EPERM, 217: EPERM, 218: EPERM, 219: EPERM}


def assemble(machine: str) -> list[tuple[int, int, int, int]]:
    """The seccomp program (BPF instructions) for `machine`."""
    arch, clone, unshare, x32 = ARCHITECTURES[machine]
    refused = {**REFUSED, **(REFUSED_X86_64 if machine == "x86_64" else REFUSED_AARCH64)}
    # (code, jump-true label, jump-false label, k); labels resolved below
    body: list[tuple[int, str | None, str | None, int]] = []
    body.append((0x20, None, None, 4))  # A = arch
    body.append((0x15, None, "deny", arch))  # another architecture's table: refused
    body.append((0x20, None, None, 0))  # A = syscall number
    if x32:
        body.append((0x35, "deny", None, x32))  # x32's numbers, which the checks below would not see
    for number, error in sorted(refused.items()):
        body.append((0x15, "nosys" if error == ENOSYS else "deny", None, number))
    body.append((0x15, "flags", None, clone))
    body.append((0x15, "flags", None, unshare))
    body.append((0x06, None, None, RET_ALLOW))
    labels = {"flags": len(body)}
    body.append((0x20, None, None, 16))  # A = low half of the first argument (the flags)
    body.append((0x45, "deny", None, CLONE_NEWUSER))
    body.append((0x06, None, None, RET_ALLOW))
    labels["deny"] = len(body)
    body.append((0x06, None, None, RET_ERRNO | EPERM))
    labels["nosys"] = len(body)
    body.append((0x06, None, None, RET_ERRNO | ENOSYS))

    def offset(at: int, label: str | None) -> int:
        return 0 if label is None else labels[label] - at - 1

    return [(code, offset(at, jt), offset(at, jf), k) for at, (code, jt, jf, k) in enumerate(body)]


def forbid(libc: ctypes.CDLL) -> None:
    """Install the filter; no_new_privs first, which also keeps a setuid program from regaining root."""
    program = assemble(os.uname().machine)
    words = [code | jt << 16 | jf << 24 | k << 32 for code, jt, jf, k in program]
    filters = (ctypes.c_uint64 * len(words))(*words)
    fprog = struct.pack("HxxxxxxP", len(words), ctypes.addressof(filters))
    if (
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_char_p(fprog), 0, 0) != 0
    ):
        raise OSError(ctypes.get_errno(), "cannot install the kernel's system-call filter")


def drop_to(uid: int, gid: int) -> None:
    """Become uid/gid for good (real, effective and saved), with no supplementary groups."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise OSError("the kernel process could not drop its privileges")


def own_user_namespace(libc: ctypes.CDLL, uid: int, gid: int) -> None:
    """A user namespace where only this kernel's processes count against its process cap."""
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # lets this process write its own uid_map
    if libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "cannot create the kernel's user namespace")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


def cap(limits: list[int]) -> None:
    """The resource limits; 0 leaves a limit as it is. No core files, ever."""
    cpu, memory, processes, size = limits
    for kind, value, slack in (
        (resource.RLIMIT_CPU, cpu, 5),
        (resource.RLIMIT_AS, memory * 1024 * 1024, 0),
        (resource.RLIMIT_NPROC, processes, 0),
        (resource.RLIMIT_FSIZE, size * 1024 * 1024, 0),
    ):
        if value > 0:
            resource.setrlimit(kind, (value, value + slack))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> None:
    spec, command = json.loads(argv[1]), argv[3:]
    if argv[2] != "--" or not command:
        raise SystemExit("launcher: usage: SPEC -- COMMAND...")
    libc = ctypes.CDLL(None, use_errno=True)
    mode, uid, gid = spec["mode"], int(spec["uid"]), int(spec["gid"])
    if mode == "account":
        if os.getsid(0) != os.getpid():
            os.setsid()  # its own session and process group, unless it leads one already
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans stay below the kernel, where the kill finds them
    if mode in ("root", "account"):
        drop_to(uid, gid)
    if mode == "root":
        own_user_namespace(libc, uid, gid)
    if mode == "account":
        os.chdir(spec["cwd"])
    forbid(libc)
    cap([int(n) for n in spec["limits"]])
    if mode == "account":
        os.execve(command[0], command, spec["env"])
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
