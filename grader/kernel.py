"""A student's kernel: started fresh in its own folder, run cell by cell, killed when it misbehaves.

nbclient talks to the kernel; this module adds what grading untrusted code needs on top: a
timeout per cell that ends in a killed kernel rather than a stuck batch, a cap on the output kept
in memory, resource limits on the kernel process, and an optional OS sandbox around it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


@dataclass
class CellOutcome:
    """What one executed cell came to."""

    status: str  # "ok", "error", "timeout" or "died"
    seconds: float
    stdout: str = ""
    error_name: str = ""
    error_value: str = ""
    traceback: str = ""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class KernelLimits:
    cpu_seconds: int = 300
    memory_mb: int = 2048
    processes: int = 64
    file_mb: int = 256
    output_bytes: int = 200_000


class _LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command runs under limits, and in the sandbox if one is set."""

    limits: KernelLimits = KernelLimits()
    sandbox = None  # grader.sandbox.Sandbox or None

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if self.sandbox is not None:
            command = self.sandbox.wrap(command)
        prefix = [sys.executable, "-m", "grader.limited",
                  "--cpu-seconds", str(self.limits.cpu_seconds), "--memory-mb", str(self.limits.memory_mb),
                  "--processes", str(self.limits.processes), "--file-mb", str(self.limits.file_mb), "--"]
        return prefix + command


class _BoundedClient(NotebookClient):
    """nbclient's client, keeping at most `output_limit` bytes of a cell's output."""

    output_limit = 200_000

    def output(self, outs, msg, display_id, cell_index):
        kept = sum(len(str(o.get("text", ""))) + len(str(o.get("data", ""))) for o in outs)
        if kept >= self.output_limit:
            if not outs or outs[-1].get("name") != "grader-truncated":
                outs.append(nbformat.v4.new_output("stream", name="grader-truncated", text=""))
            return None
        return super().output(outs, msg, display_id, cell_index)


@dataclass
class KernelSession:
    """One kernel process for one submission, in `workdir`."""

    workdir: Path
    limits: KernelLimits = field(default_factory=KernelLimits)
    sandbox: object = None
    client: _BoundedClient | None = None
    starts: int = 0
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def start(self) -> None:
        manager_class = type("GraderKernelManager", (_LimitedKernelManager,),
                             {"limits": self.limits, "sandbox": self.sandbox})
        notebook = nbformat.v4.new_notebook()
        client = _BoundedClient(notebook, timeout=60, startup_timeout=60, allow_errors=True,
                                kernel_name="python3", kernel_manager_class=manager_class,
                                resources={"metadata": {"path": str(self.workdir)}})
        client.output_limit = self.limits.output_bytes
        km = client.create_kernel_manager()
        km.connection_file = str(self.workdir / ".kernel-connection.json")
        if self.sandbox is not None:
            self.sandbox.configure(km, self.workdir)
        else:
            km.ip = "127.0.0.1"
        self.client = client
        try:
            self.loop.run_until_complete(client.async_start_new_kernel(cwd=str(self.workdir)))
            self.loop.run_until_complete(client.async_start_new_kernel_client())
        except BaseException:
            self.stop()
            raise
        self.starts += 1

    def run(self, code: str, timeout: float) -> CellOutcome:
        """Execute `code` as one cell; never raises for anything the student's code does."""
        if self.client is None:
            self.start()
        cell = nbformat.v4.new_code_cell(code)
        self.client.nb.cells = [cell]
        self.client.timeout = max(1, int(round(timeout)))
        began = time.monotonic()
        try:
            self.loop.run_until_complete(self.client.async_execute_cell(cell, 0, store_history=False))
        except CellTimeoutError:
            self.stop()
            return CellOutcome("timeout", time.monotonic() - began)
        except DeadKernelError:
            self.stop()
            return CellOutcome("died", time.monotonic() - began)
        except Exception as error:  # noqa: BLE001 - a broken kernel channel counts as a dead kernel
            self.stop()
            return CellOutcome("died", time.monotonic() - began, error_value=str(error))
        return _outcome(cell, time.monotonic() - began)

    def stop(self) -> None:
        """Kill the kernel and everything it started (its process group) and forget it."""
        client, self.client = self.client, None
        if client is None:
            return
        km = client.km
        try:
            if client.kc is not None:
                client.kc.stop_channels()
        except Exception:  # noqa: BLE001 - stopping must not fail
            pass
        for step in (km.shutdown_kernel(now=True), km.cleanup_resources()):
            try:
                self.loop.run_until_complete(step)
            except Exception:  # noqa: BLE001 - stopping must not fail
                pass

    def close(self) -> None:
        """Stop the kernel and release the event loop."""
        self.stop()
        self.loop.close()

    def alive(self) -> bool:
        return self.client is not None and self.loop.run_until_complete(self.client.km.is_alive())


def _outcome(cell, seconds: float) -> CellOutcome:
    stdout, truncated = [], False
    outcome = CellOutcome("ok", seconds)
    for output in cell.outputs:
        if output.output_type == "stream":
            if output.name == "grader-truncated":
                truncated = True
            else:
                stdout.append(output.text)
        elif output.output_type == "error":
            outcome.status = "error"
            outcome.error_name = output.ename
            outcome.error_value = output.evalue
            outcome.traceback = _strip_ansi("\n".join(output.traceback))
    outcome.stdout = "".join(stdout)
    outcome.truncated = truncated
    return outcome


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def environment_without_parent() -> dict:
    """The environment a kernel gets: ours minus what would make it watch our process."""
    env = dict(os.environ)
    env.pop("JPY_PARENT_PID", None)
    return env
