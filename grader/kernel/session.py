"""A student's kernel: started fresh in its own folder, run cell by cell, killed when it misbehaves.

nbclient talks to the kernel; this module adds what grading untrusted code needs on top: a
timeout per cell that ends in a killed kernel rather than a stuck batch, a cap on the output kept
in memory, resource limits on the kernel process, and an optional OS sandbox around it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import zmq
import zmq.asyncio
import zmq.utils.monitor
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.errors import GraderError
from grader.kernel import cgroups
from grader.kernel.cgroups import KernelCgroup
from grader.kernel.processes import kill_process_tree, living, process_tree
from grader.kernel.ready import wait_until_ready
from grader.kernel.runfolder import RunFolder
from grader.model import CellStatus, Limits, RaisedError
from grader.model.cell import CellOutcome
from grader.model.notes import Death, DeathKind, KernelStart, LimitHit, LimitKind

if TYPE_CHECKING:
    from grader.kernel.isolation import Launcher


MIN_MESSAGE_BYTES = 16 * 1024 * 1024  # the largest message the grader accepts from a kernel
# A cell may print this many times the output kept (output_bytes), in all, before it counts as
# flooding, and never less than FLOOD_MIN_CHARS.
FLOOD_FACTOR = 10
FLOOD_MIN_CHARS = 2_000_000
# A message is refused above this many bytes per character of the flood limit: JSON escaping and
# UTF-8 make a character at most 6 bytes on the wire, so any refused message was a flood too.
BYTES_PER_CHAR = 8
QUEUED_BYTES = 256 * 1024 * 1024  # what one channel may hold unread in the grader, about
RECONNECT_MS = 10  # how soon a client socket tries again to reach a kernel still starting
MIN_QUEUED = 4  # messages a channel may hold unread, however large the message limit
OUTPUT_MESSAGES = ("stream", "display_data", "update_display_data", "execute_result", "error")
# The kernel also counts what its streams were given, and each execute reply carries that count
# (over the shell channel, which drops nothing an honest kernel sends: one reply per request, far
# below the RCVHWM bound below). Output messages can be dropped on their
# way (ZeroMQ drops them when a busy grader falls behind), so the grader's own count can fall
# short under load; the kernel's cannot. A kernel that lies only loses the clear message: a flood
# it hides is still truncated, and output never scores.
#
# The counter also keeps a flood from ever reaching the kernel's I/O thread: past the flood limit
# a cell's streams pass on nothing more (one character over, so that the grader's own count sees
# the flood too) and the cell's code is stopped. A single huge write would otherwise be handed to
# that thread whole, and under a memory limit it can fail to serialise it (MemoryError there, the
# output lost unseen). A cell stopped so ends in an error named FLOOD_ERROR, which its execute
# reply carries in place of the count (a kernel evaluates no expressions after an error). The
# count is a property in front of whatever the kernel later assigns to a stream's `write`
# (IPython 9 wraps it per instance for each cell), so every write passes it exactly once.
COUNTED = "grader_printed"
FLOOD_ERROR = "GraderOutputFlood"  # the error the counter stops a cell with, named in its execute reply
OUTPUT_COUNTER = """
def __grader_count_output__(limit, name):
    import sys
    import threading

    # Stops the cell that printed past the limit (a BaseException: `except Exception` lets it by).
    OutputFlood = type(name, (BaseException,), {})

    printed, inside = [0], threading.local()

    def counting(target):
        def write(text, *args, **kwargs):
            if getattr(inside, "busy", False) or not isinstance(text, str):
                return target(text, *args, **kwargs)  # counted already, by the write that called this one
            inside.busy = True
            try:
                before = printed[0]
                printed[0] += len(text)
                if printed[0] <= limit:
                    return target(text, *args, **kwargs)
                if before <= limit:
                    target(text[:limit + 1 - before], *args, **kwargs)
                if threading.current_thread() is threading.main_thread():
                    raise OutputFlood(f"the cell printed more than {limit} characters")
                return len(text)
            finally:
                inside.busy = False
        write.__grader_target__ = target
        return write

    def guard(cls):
        original = cls.write
        def get(stream):
            return counting(vars(stream).get("__grader_write__") or original.__get__(stream, cls))
        def put(stream, value):
            vars(stream)["__grader_write__"] = getattr(value, "__grader_target__", value)
        def drop(stream):
            vars(stream).pop("__grader_write__", None)
        cls.write = property(get, put, drop)

    for cls in {type(sys.stdout), type(sys.stderr)}:
        try:
            guard(cls)
        except (AttributeError, TypeError):  # not a stream class it can guard: the grader's count still applies
            pass
    def reset(*args):
        printed[0] = 0
    get_ipython().events.register("pre_run_cell", reset)  # each cell's count is its own, errors or not
    def taken():
        total, printed[0] = printed[0], 0
        return total
    return taken
"""


def output_counter(output_bytes: int) -> str:
    """The cell that installs the kernel's count of its output, stopping a cell past the flood limit."""
    installing = f"__grader_count_output__({flood_limit(output_bytes)}, {FLOOD_ERROR!r})"
    return OUTPUT_COUNTER + f"__grader_printed__ = {installing}\ndel __grader_count_output__\n"


def flood_limit(output_bytes: int) -> int:
    """Characters of output one cell may send in all, however the kernel splits them into messages."""
    return max(FLOOD_MIN_CHARS, FLOOD_FACTOR * output_bytes)


def message_limit(output_bytes: int) -> int:
    """Bytes above which a single message is refused (ZeroMQ drops it before the grader holds it)."""
    return max(MIN_MESSAGE_BYTES, BYTES_PER_CHAR * flood_limit(output_bytes))


def flood_death(output_bytes: int) -> Death:
    """What every report says of a cell that printed too much (grader.render words it)."""
    return Death(DeathKind.FLOOD, limit=flood_limit(output_bytes), kept=output_bytes)


class StderrTail:
    """The kernel process's own stderr: a pipe a thread drains, keeping only the last `keep` bytes.
    A file would hold all the kernel wrote (up to its file-size limit) on the host's disk."""

    def __init__(self, keep: int = 4096):
        read, self.writer = os.pipe()
        self._keep, self._kept = keep, b""
        self._thread = threading.Thread(target=self._drain, args=(read,), daemon=True)
        self._thread.start()

    def _drain(self, read: int) -> None:
        with open(read, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                self._kept = (self._kept + chunk)[-self._keep :]

    def started(self) -> None:
        """The kernel holds the pipe now: the grader's end closes, so the drain ends when the kernel does."""
        if self.writer >= 0:
            os.close(self.writer)
            self.writer = -1

    def tail(self, wait: float = 1.0) -> bytes:
        self.started()
        self._thread.join(wait)
        return self._kept

    def close(self) -> None:
        self.started()


class KernelStartError(GraderError):
    """The kernel process could not be started; `start` says why (grader.render words it)."""

    def __init__(self, start: KernelStart):
        super().__init__(start.error)
        self.start = start


KERNEL_MAIN = (Path(__file__).parent / "kernelmain.py").read_text()  # run as `python -c` (see that file)


def kernel_main(command: list[str]) -> list[str]:
    """The kernel command with `-m ipykernel_launcher` replaced by KERNEL_MAIN (anything else as is)."""
    if command[1:3] == ["-m", "ipykernel_launcher"]:
        return [command[0], "-c", KERNEL_MAIN, *command[3:]]
    return command


class _LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command runs under limits, and in the sandbox if one is set."""

    limits: Limits = Limits()
    sandbox: Launcher | None = None
    workdir: Path | None = None
    run: RunFolder | None = None  # this start's connection file, sockets and result file
    cgroup: KernelCgroup | None = None  # this start's control groups, where the machine offers them

    def format_kernel_cmd(self, extra_arguments=None):
        command = kernel_main(super().format_kernel_cmd(extra_arguments))
        joining = self.cgroup.join_prefix() if self.cgroup is not None else []
        if self.sandbox is not None:  # the sandbox's own launcher sets the limits inside it
            files = self.cgroup.procs_files() if self.cgroup is not None else ()
            return joining + self.sandbox.wrap(command, self.limits, self.workdir, self.run, cgroup_files=files)
        prefix = [
            sys.executable,
            "-m",
            "grader.kernel.limited",
            "--cpu-seconds",
            str(self.limits.cpu_seconds),
            "--memory-mb",
            str(self.limits.memory_mb),
            "--processes",
            str(self.limits.processes),
            "--file-mb",
            str(self.limits.file_mb),
            "--",
        ]
        return joining + prefix + command

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.sandbox is not None:
            self.sandbox.share_connection_file(Path(self.connection_file))


class _BoundedClient(NotebookClient):
    """nbclient's client, keeping at most `output_limit` characters of a cell's output and nothing
    else the kernel sends: no widget (comm) state, no display-id map, no display updates. nbclient
    keeps those for as long as the kernel lives, so a kernel could fill the grader's memory with
    them; grading needs none of them.

    It also counts every character of output the running cell sends (`printed`), kept or not, so
    that flooding is judged by what was printed in all, never by how the kernel split it into
    messages (which depends on timing). Past `flood_limit` it stops waiting for the cell.
    """

    output_limit = 200_000
    flood_limit = FLOOD_MIN_CHARS
    printed = 0  # characters of output received for the running cell
    kernel_printed = 0  # characters its streams were given, as the kernel's execute reply says

    def note_reply(self, cell=None, cell_index=None, execute_reply=None, **kwargs):
        """Read the kernel's own count of the cell's output from its execute reply.

        A cell that ends in an error has no count there (the kernel evaluates none after an
        error); the counter's own error, which stopped the cell at the flood limit, stands for it.
        """
        try:
            content = execute_reply["content"]
            if content.get("status") == "error" and content.get("ename") == FLOOD_ERROR:
                self.kernel_printed = max(self.kernel_printed, self.flood_limit + 1)
                return
            value = content["user_expressions"][COUNTED]["data"]["text/plain"]
            self.kernel_printed = max(0, int(value))
        except (AttributeError, KeyError, TypeError, ValueError):
            pass

    def process_message(self, msg, cell, cell_index):
        msg_type = str(msg.get("msg_type", ""))
        content = msg.get("content")
        content = content if isinstance(content, dict) else {}
        if msg_type in OUTPUT_MESSAGES:
            self.printed += _chars(content)
            if self.flooded:
                _mark_truncated(cell.outputs)
                task = getattr(self, "task_poll_for_reply", None)
                if task is not None and not task.done():
                    task.cancel()  # the cell's verdict is known: no need to let it print on
                return None
        if msg_type.startswith("comm") or msg_type == "update_display_data":
            return None
        content.pop("transient", None)  # the display id, which nbclient would map to its outputs
        return super().process_message(msg, cell, cell_index)

    @property
    def flooded(self) -> bool:
        return max(self.printed, self.kernel_printed) > self.flood_limit

    def output(self, outs, msg, display_id, cell_index):
        room = self.output_limit - sum(_size(o) for o in outs)
        if msg.get("msg_type") == "error" and not any(o.get("output_type") == "error" for o in outs):
            room = max(room, ERROR_ROOM)  # a cell that printed its fill and then raised still raised
        if room <= 0:
            _mark_truncated(outs)
            return None
        cut = _trim(msg, room)
        result = super().output(outs, msg, display_id, cell_index)
        if cut:
            _mark_truncated(outs)
        return result


ERROR_ROOM = 20_000  # characters always kept for a cell's (first) error, even past the output cap
OUTPUT_OVERHEAD = 100  # what keeping an output costs at least: many empty outputs add up too


def _chars(output) -> int:
    """The characters an output (or an output message's content) carries, metadata included."""
    return sum(len(str(output.get(key, ""))) for key in ("text", "data", "evalue", "traceback", "metadata"))


def _size(output) -> int:
    """What keeping an output costs against the cap: its characters, and never less than the overhead."""
    return max(OUTPUT_OVERHEAD, _chars(output))


def _trim(msg: dict, room: int) -> bool:
    """Cut a message's text down to `room` characters; True when something was cut."""
    content = msg.get("content", {})
    cut = False
    for key in ("text", "evalue"):
        if isinstance(content.get(key), str) and len(content[key]) > room:
            content[key], cut = content[key][:room], True
    if isinstance(content.get("traceback"), list) and len(str(content["traceback"])) > room:
        content["traceback"], cut = [str(line)[: room // 20] for line in content["traceback"][-20:]], True
    if isinstance(content.get("data"), dict) and len(str(content["data"])) > room:
        content["data"], cut = {"text/plain": "[output too large, not kept]"}, True
    if content.get("metadata") and len(str(content["metadata"])) > room // 10:
        content["metadata"], cut = {}, True
    return cut


def _mark_truncated(outs: list) -> None:
    if not outs or outs[-1].get("name") != "grader-truncated":
        outs.append(nbformat.v4.new_output("stream", name="grader-truncated", text=""))


def _bounded_client_class(max_bytes: int) -> tuple[type, zmq.asyncio.Context]:
    """A kernel client class whose sockets refuse any message larger than `max_bytes`.

    The kernel can send whatever it likes; ZeroMQ drops an oversized message (and the connection,
    which it then re-makes) before the grader holds it in memory. The option is a default of a
    ZeroMQ context of the session's own, so it is set on every socket before it connects.
    """
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, max_bytes)
    # ZeroMQ queues up to RCVHWM messages per socket in the grader's memory while nothing reads
    # them (between cells, while a case is compared or diagnosed): bound the bytes, not the count.
    context.setsockopt(zmq.RCVHWM, max(MIN_QUEUED, QUEUED_BYTES // max_bytes))
    # The client connects as soon as the kernel is launched, before the kernel has made its sockets;
    # ZeroMQ then tries again every RECONNECT_IVL (100 ms by default, a third of a forked start).
    context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)

    class GraderKernelClient(AsyncKernelClient):
        def __init__(self, **kwargs):
            kwargs["context"] = context
            super().__init__(**kwargs)

        def execute(
            self, code, silent=False, store_history=True, user_expressions=None, allow_stdin=None, stop_on_error=True
        ):
            expressions = {**(user_expressions or {}), COUNTED: "__grader_printed__()"}
            return super().execute(code, silent, store_history, expressions, allow_stdin, stop_on_error)

        async def wait_for_ready(self, timeout=None):
            await wait_until_ready(self, timeout)

    return GraderKernelClient, context


@dataclass
class KernelSession:
    """One kernel process for one submission, in `workdir`."""

    workdir: Path
    limits: Limits = field(default_factory=Limits)
    sandbox: Launcher | None = None
    client: _BoundedClient | None = None
    starts: int = 0
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    #: set once a start has launched the kernel's process (or failed launching it; a kernel started ahead
    #: also sets it when its start failed earlier): grader.kernel.ahead waits for it, so that the process
    #: is not late for the GIL
    launched: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Start a fresh kernel in `workdir`; raises KernelStartError saying why it could not.

        Every start gets a fresh run folder and control group: nothing a previous kernel could
        touch is used again, so nothing it planted is ever followed. Without a launcher (the
        sandbox or an unprivileged account) the kernel would run as the grader's own user: never
        as root.
        """
        if self.sandbox is None and os.geteuid() == 0:
            raise KernelStartError(KernelStart("refused", refused=True))
        run = self.sandbox.new_run_folder(Path(self.workdir)) if self.sandbox is not None else RunFolder.make()
        self._run: RunFolder | None = run
        self._cgroup = cgroups.create(self.limits.memory_mb, self.limits.processes)
        client = self._new_client(run)
        client.output_limit = self.limits.output_bytes
        client.flood_limit = flood_limit(self.limits.output_bytes)
        km = client.create_kernel_manager()
        assert isinstance(km, AsyncKernelManager)  # the manager class above is one
        self._max_message = message_limit(self.limits.output_bytes)
        km.client_factory, context = _bounded_client_class(self._max_message)
        self._context: zmq.asyncio.Context | None = context
        km.connection_file = str(run.connection)
        if self.sandbox is not None:  # IPC sockets in the run folder, reachable by their exact paths only
            km.transport, km.ip = "ipc", str(run.sockets / "kernel")
        else:
            km.ip = "127.0.0.1"
        self.client = client
        self._km: AsyncKernelManager | None = km
        # The kernel's own stdout and stderr (not the cells' output, which goes over the channels)
        # must not reach the grader's terminal; stderr's last lines are kept to explain a failed start.
        stderr = StderrTail()
        self._stderr: StderrTail | None = stderr
        try:
            try:
                self.loop.run_until_complete(
                    client.async_start_new_kernel(
                        cwd=str(self.kernel_workdir), stdout=subprocess.DEVNULL, stderr=stderr.writer
                    )
                )
            finally:
                self.launched.set()
            stderr.started()
            self.loop.run_until_complete(client.async_start_new_kernel_client())
        except BaseException as error:
            said = self._kernel_stderr()
            self.stop()
            if isinstance(error, Exception):
                sandboxed = getattr(self.sandbox, "mode", "") in ("root", "user")
                raise KernelStartError(KernelStart(str(error), said, sandboxed)) from None
            raise
        if self.sandbox is not None:
            self.sandbox.seal(run)
        self.starts += 1
        self._watch_output_channel(client)
        self._count_output(client)

    def _new_client(self, run: RunFolder) -> _BoundedClient:
        """An nbclient client whose kernel manager starts the kernel with this session's limits,
        launcher, folder and control group."""
        settings = {
            "limits": self.limits,
            "sandbox": self.sandbox,
            "workdir": Path(self.workdir),
            "run": run,
            "cgroup": self._cgroup,
        }
        manager_class = type("GraderKernelManager", (_LimitedKernelManager,), settings)
        return _BoundedClient(
            nbformat.v4.new_notebook(),
            timeout=60,
            startup_timeout=60,
            allow_errors=True,
            store_widget_state=False,
            kernel_name="python3",
            kernel_manager_class=manager_class,
            resources={"metadata": {"path": str(self.workdir)}},
        )

    @property
    def kernel_workdir(self) -> Path:
        """The folder the running kernel works in (a fresh copy of `workdir` under an account)."""
        run = getattr(self, "_run", None)
        if self.sandbox is None or run is None:
            return Path(self.workdir)
        return self.sandbox.kernel_workdir(run, Path(self.workdir))

    def host_processes(self) -> dict[int, str]:
        """Every living process of this kernel as the host sees them (pid -> start time): the tree
        below the command the manager started and, where there are control groups, their members
        (a kernel forked from a zygote is no descendant of that command)."""
        root = _launched_pid(self._km) if getattr(self, "_km", None) is not None else None
        found = process_tree(root) if root else {}
        cgroup = getattr(self, "_cgroup", None)
        members = cgroup.members() if cgroup is not None else set()
        return {**found, **living(members)}

    def _count_output(self, client: _BoundedClient) -> None:
        """Install the kernel's count of its output (see OUTPUT_COUNTER); grading goes on without it."""
        client.on_cell_executed = client.note_reply
        cell = _code_cell(output_counter(self.limits.output_bytes))
        client.nb.cells = [cell]
        try:
            self.loop.run_until_complete(client.async_execute_cell(cell, 0, store_history=False))
        except Exception:  # noqa: BLE001 - the grader's own count still applies
            pass

    def result_file(self) -> Path:
        """The file the next call writes its results into, emptied (the kernel must be running)."""
        run = self._run
        assert run is not None  # start() made it
        return run.clear_result()

    def results_folder_free(self) -> tuple[str, int]:
        """The folder the results are written in, and the MB free on its file system (a kernel
        cannot change this answer: it is the host's own reading)."""
        run = self._run
        assert run is not None  # start() made it
        found = os.statvfs(run.folder)
        return str(run.folder.parent), found.f_bavail * found.f_frsize // (1024 * 1024)

    def run(self, code: str, timeout: float) -> CellOutcome:
        """Execute `code` as one cell; never raises for anything the student's code does."""
        if self.client is None:
            self.start()
        client = self.client
        assert client is not None  # start() made it, or raised
        cell = _code_cell(code)
        client.nb.cells = [cell]
        client.timeout = max(1, int(round(timeout)))
        client.printed = client.kernel_printed = 0
        began = time.monotonic()
        ended = None  # how the cell ended when it did not finish: "timeout", "died" or "channel"
        broken = ""
        try:
            self.loop.run_until_complete(client.async_execute_cell(cell, 0, store_history=False))
        except CellTimeoutError:
            ended = "timeout"
        except DeadKernelError:
            ended = "died"
        except Exception as error:  # noqa: BLE001 - a broken kernel channel counts as a dead kernel
            ended, broken = "channel", type(error).__name__
        seconds = time.monotonic() - began
        # What was printed decides first: a flood ends the same way whether its output came in one
        # message too large to accept or in many small ones, and whatever became of the cell after.
        if client.flooded or (self._output_channel_dropped() and self._kernel_running()):
            self._cancel_pending()
            self.stop()
            return CellOutcome(CellStatus.DIED, seconds, death=flood_death(self.limits.output_bytes), truncated=True)
        if ended == "timeout":
            self.stop()
            return CellOutcome(CellStatus.TIMEOUT, seconds)
        if ended is not None:
            death = self._death() or (Death(DeathKind.CHANNEL, error=broken) if ended == "channel" else None)
            self.stop()
            return CellOutcome(CellStatus.DIED, seconds, death=death)
        return _outcome(cell, seconds)

    def _cancel_pending(self) -> None:
        """End what nbclient left waiting for a cell given up on (its watch of the kernel's life)."""
        pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    def kernel_alive(self) -> bool:
        """The kernel started is still running (a kernel started ahead of its use may have died)."""
        return self.client is not None and self._kernel_running()

    def _kernel_running(self) -> bool:
        """The kernel process is still there (its output channel closing was not its death)."""
        process = getattr(getattr(self.client.km, "provisioner", None), "process", None) if self.client else None
        try:
            return process is not None and process.poll() is None
        except Exception:  # noqa: BLE001 - unknown: treat as gone
            return False

    def _watch_output_channel(self, client: _BoundedClient) -> None:
        """Watch the output channel: ZeroMQ closes it, for good, when a message is too large."""
        assert client.kc is not None  # the kernel client was started just before
        socket = client.kc.iopub_channel.socket
        monitor = socket.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED)
        self._monitor: zmq.Socket | None = zmq.Socket.shadow(monitor.underlying)
        self._monitor_owner = monitor

    def _output_channel_dropped(self) -> bool:
        monitor = getattr(self, "_monitor", None)
        dropped = False
        while monitor is not None and monitor.poll(0):
            event = zmq.utils.monitor.recv_monitor_message(monitor)
            dropped = dropped or event["event"] in (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED)
        return dropped

    def stop(self) -> None:
        """Kill the kernel and every process it started, wait until they are gone, forget it."""
        client, self.client = self.client, None
        # The manager start() made: nbclient's own reference (client.km) is None after a failed start.
        km: AsyncKernelManager | None = getattr(self, "_km", None)
        self._km = None
        if client is None or km is None:
            if self.sandbox is not None:
                self.sandbox.after_stop()
            self._release_folders()
            return
        root = _launched_pid(km)
        try:
            if client.kc is not None:
                client.kc.stop_channels()
        except Exception:  # noqa: BLE001 - stopping must not fail
            pass
        cgroup = getattr(self, "_cgroup", None)
        if cgroup is not None:  # a process cannot leave its group: this misses none of them
            cgroup.kill()
        gone = kill_process_tree(root) if root else True
        for step in (km.shutdown_kernel(now=True), km.cleanup_resources()):
            try:
                self.loop.run_until_complete(step)
            except Exception:  # noqa: BLE001 - stopping must not fail
                pass
        if not gone and root:
            kill_process_tree(root)
        if self.sandbox is not None:  # the dedicated account's every process, however it detached
            self.sandbox.after_stop()
        self._release_folders()
        stderr, self._stderr = getattr(self, "_stderr", None), None
        if stderr is not None:
            stderr.close()
        self._monitor = None
        monitor, self._monitor_owner = getattr(self, "_monitor_owner", None), None
        if monitor is not None:
            monitor.close(linger=0)
        context, self._context = getattr(self, "_context", None), None
        if context is not None:
            context.destroy(linger=0)

    def _release_folders(self) -> None:
        """Remove this start's control group and run folder (both made fresh by start)."""
        cgroup, self._cgroup = getattr(self, "_cgroup", None), None
        if cgroup is not None:
            cgroup.kill()
            cgroup.remove()
        run, self._run = getattr(self, "_run", None), None
        if run is not None:
            run.remove()

    def _kernel_stderr(self, limit: int = 600) -> str:
        """The last lines the kernel process wrote to its own stderr (startup errors)."""
        handle = getattr(self, "_stderr", None)
        if handle is None:
            return ""
        text = handle.tail()[-limit:].decode("utf-8", "replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return " / ".join(lines[-3:])[-limit:]

    def _death(self) -> Death | None:
        """Why the kernel process ended, naming the limit when one was hit (None: unknown)."""
        process = getattr(getattr(self.client.km, "provisioner", None), "process", None) if self.client else None
        if process is None:
            return None
        try:
            status = process.wait(timeout=2)
        except Exception:  # noqa: BLE001 - still running or already reaped: no verdict
            return None
        cgroup = getattr(self, "_cgroup", None)
        if cgroup is not None and cgroup.memory_exceeded():
            return Death(DeathKind.MEMORY, limit=self.limits.memory_mb)
        return exit_death(status, self.limits, sandboxed=getattr(self.sandbox, "mode", "") in ("root", "user"))

    def close(self) -> None:
        """Stop the kernel and release the event loop."""
        self.stop()
        self.loop.close()


def _code_cell(code: str) -> nbformat.NotebookNode:
    """A code cell for nbclient to run, built without nbformat's schema check (a fifth of the grading
    process's time per case, for a cell the grader itself makes)."""
    return nbformat.from_dict(
        {"cell_type": "code", "id": "grader", "metadata": {}, "execution_count": None, "source": code, "outputs": []}
    )


def _outcome(cell, seconds: float) -> CellOutcome:
    """The outcome of a cell that finished: what it printed, and what it raised, if anything."""
    stdout, truncated, error = [], False, None
    for output in cell.outputs:
        if output.output_type == "stream":
            if output.name == "grader-truncated":
                truncated = True
            else:
                stdout.append(output.text)
        elif output.output_type == "error":
            error = output
    if error is None:
        return CellOutcome(CellStatus.OK, seconds, stdout="".join(stdout), truncated=truncated)
    return CellOutcome(
        CellStatus.ERROR,
        seconds,
        stdout="".join(stdout),
        error_name=error.ename,
        error_value=error.evalue,
        traceback=_strip_ansi("\n".join(error.traceback)),
        truncated=truncated,
    )


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def exit_death(status: int, limits: Limits, sandboxed: bool) -> Death:
    """How a kernel process ended, from its exit status (bubblewrap reports a signal N as 128 + N)."""
    number = -status if status < 0 else (status - 128 if sandboxed and 128 < status < 160 else 0)
    if not number:
        return Death(DeathKind.EXITED, status=status)
    name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else f"signal {number}"
    if number == signal.SIGXCPU:
        return Death(DeathKind.CPU, limit=limits.cpu_seconds)
    if number == signal.SIGXFSZ:
        return Death(DeathKind.FILE, limit=limits.file_mb)
    if number == signal.SIGKILL:
        return Death(DeathKind.KILLED, signal=name, limit=limits.memory_mb)
    return Death(DeathKind.CRASHED, signal=name, limit=limits.memory_mb)


def limit_hit(error: RaisedError | None, limits: Limits) -> LimitHit | None:
    """The kernel limit behind an exception the student's code raised, if any."""
    if error is None:
        return None
    if error.type == "MemoryError":
        return LimitHit(LimitKind.MEMORY, limits.memory_mb)
    if error.type == "BlockingIOError" or "Resource temporarily unavailable" in error.message:
        return LimitHit(LimitKind.PROCESSES, limits.processes)
    if "File too large" in error.message:
        return LimitHit(LimitKind.FILE, limits.file_mb)
    if "No space left on device" in error.message:
        return LimitHit(LimitKind.SPACE, limits.file_mb)
    return None


def _launched_pid(km) -> int | None:
    provisioner = getattr(km, "provisioner", None)
    pid = getattr(provisioner, "pid", None)
    return pid if isinstance(pid, int) and pid > 0 else None
