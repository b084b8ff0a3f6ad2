"""Knowing that a new kernel is ready, without waiting for silence.

jupyter_client's wait_for_ready asks for kernel_info until the shell channel answers, then reads
the output channel until it has been quiet for 0.2 s: a fixed fifth of a second of every kernel's
start spent waiting, more than the forked kernel's own start. Here the kernel is ready once both
channels carried the same request: its reply on the shell channel, and its "idle" status on the
output channel (the last message a kernel publishes for a request). A status lost because the
output channel was still connecting (ZeroMQ drops what a subscriber misses) only means asking
again, as jupyter_client does when nothing arrives; a status merely late (a loaded machine) is
waited for longer each time, and an answer to any request asked so far counts.
"""

from __future__ import annotations

import inspect
import time
from queue import Empty
from typing import Any

SHELL_WAIT = 1.0  # seconds a kernel_info request waits for its reply before it is asked again
STATUS_WAIT = 0.05  # seconds the idle status may first lag behind the reply; then ask again, waiting twice as long


async def wait_until_ready(client: Any, timeout: float | None) -> None:
    """Return once `client`'s kernel answered kernel_info on both channels; RuntimeError when it
    died first or `timeout` seconds passed (jupyter_client's own failures, which nbclient reports)."""
    deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
    asked: set[str] = set()  # every request sent: a late answer to an earlier one counts as well
    status_wait = STATUS_WAIT
    while True:
        asked.add(await _answer(client.kernel_info()))  # a Future in older jupyter_clients
        reply = await _message_for(client.shell_channel, asked, deadline, SHELL_WAIT, "kernel_info_reply")
        if reply is not None and await _message_for(client.iopub_channel, asked, deadline, status_wait, "idle"):
            handle = getattr(client, "_handle_kernel_info_reply", None)  # the protocol version it speaks
            if handle is not None:
                handle(reply)
            return
        status_wait = min(SHELL_WAIT, 2 * status_wait)  # a loaded kernel's status lags more: wait longer
        if not await _alive(client):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


async def _message_for(channel: Any, asked: set[str], deadline: float, wait: float, wanted: str) -> dict | None:
    """The first message on `channel` answering one of the requests `asked` that is `wanted` (a
    message type, or "idle" for the idle status); None when none came within `wait` seconds (or by
    the deadline). Messages about anything else are dropped: nothing else was asked of the kernel."""
    until = min(time.monotonic() + wait, deadline)
    while (left := until - time.monotonic()) > 0:
        try:
            message = await channel.get_msg(timeout=left)
        except (TimeoutError, Empty):
            return None
        if message.get("parent_header", {}).get("msg_id") not in asked:
            continue
        if wanted == "idle":
            if message.get("msg_type") == "status" and message.get("content", {}).get("execution_state") == "idle":
                return message
        elif message.get("msg_type") == wanted:
            return message
    return None


async def _alive(client: Any) -> bool:
    return bool(await _answer(client.is_alive()))


async def _answer(value: Any) -> Any:
    """The value, awaited when it is awaitable (jupyter_client's async client returns coroutines or
    futures from some calls depending on its version, plain values from others)."""
    return await value if inspect.isawaitable(value) else value
