"""A new kernel is ready once one kernel_info request came back on both channels, never after a
fixed wait for silence (grader.kernel.ready): a lost status means asking again, a dead kernel or
the deadline an error, and nothing about another request counts."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from queue import Empty

import pytest

from grader.kernel import ready
from grader.kernel.ready import wait_until_ready
from grader.kernel.session import KernelSession
from grader.model import Limits
from tests.fixtures import proven_sandbox


class _Channel:
    """A channel whose messages are queued by the fake kernel below."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    async def get_msg(self, timeout: float | None = None) -> dict:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            raise Empty from None


class _FakeClient:
    """Answers kernel_info like ipykernel: the reply on shell, busy and idle on iopub. `lose` statuses
    are dropped (an output channel still connecting); `stray` messages of another request come first."""

    def __init__(
        self, lose: int = 0, alive: bool = True, answer: bool = True, stray: bool = False, lag: float = 0.0
    ) -> None:
        self.shell_channel, self.iopub_channel = _Channel(), _Channel()
        self.lose, self.alive, self.answer, self.stray, self.lag = lose, alive, answer, stray, lag
        self.asked: list[str] = []
        self.handled: list[dict] = []

    def kernel_info(self) -> str:
        request = f"request-{len(self.asked)}"
        self.asked.append(request)
        if self.stray:
            other = {"msg_id": "someone-else"}
            self.shell_channel.queue.put_nowait({"msg_type": "kernel_info_reply", "parent_header": other})
            idle = {"msg_type": "status", "parent_header": other, "content": {"execution_state": "idle"}}
            self.iopub_channel.queue.put_nowait(idle)
        if self.answer:
            parent = {"msg_id": request}
            reply = {"msg_type": "kernel_info_reply", "parent_header": parent, "content": {"protocol_version": "5.3"}}
            self.shell_channel.queue.put_nowait(reply)
            if self.lose > 0:
                self.lose -= 1
            else:
                for state in ("busy", "idle"):
                    message = {"msg_type": "status", "parent_header": parent, "content": {"execution_state": state}}
                    self._publish(message)
        return request

    def _publish(self, message: dict) -> None:
        """On the output channel, `lag` seconds after the reply (a loaded kernel's output thread)."""
        if self.lag:
            asyncio.get_running_loop().call_later(self.lag, self.iopub_channel.queue.put_nowait, message)
        else:
            self.iopub_channel.queue.put_nowait(message)

    def is_alive(self) -> bool:
        return self.alive

    def _handle_kernel_info_reply(self, message: dict) -> None:
        self.handled.append(message)


def test_ready_after_one_request_answered_on_both_channels():
    client = _FakeClient()
    asyncio.run(wait_until_ready(client, 10))
    assert client.asked == ["request-0"]
    assert [m["parent_header"]["msg_id"] for m in client.handled] == ["request-0"]


def test_a_lost_status_means_asking_again():
    client = _FakeClient(lose=2)
    asyncio.run(wait_until_ready(client, 10))
    assert len(client.asked) == 3
    assert client.handled[-1]["parent_header"]["msg_id"] == "request-2"


def test_another_requests_answers_do_not_count():
    client = _FakeClient(stray=True, lose=1)
    asyncio.run(wait_until_ready(client, 10))
    assert len(client.asked) == 2  # the stray idle status did not stand for the lost one


def test_a_dead_kernel_is_an_error():
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(wait_until_ready(_FakeClient(answer=False, alive=False), 10))


def test_a_silent_kernel_runs_out_of_time(monkeypatch):
    monkeypatch.setattr(ready, "SHELL_WAIT", 0.05)
    with pytest.raises(RuntimeError, match="didn't respond"):
        asyncio.run(wait_until_ready(_FakeClient(answer=False), 0.3))


@pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)
def test_a_started_kernels_first_cell_gets_all_of_its_output_and_only_its_own():
    """Ten starts in a row: each kernel's first cell prints its number and nothing else arrives."""
    limits = Limits(cpu_seconds=60, memory_mb=1024, processes=32)
    with tempfile.TemporaryDirectory(prefix="grader-kernel-") as folder:
        for number in range(10):
            session = KernelSession(Path(folder), limits, proven_sandbox())
            try:
                session.start()
                outcome = session.run(f"print('kernel {number}')", 30)
            finally:
                session.close()
            assert outcome.status == "ok" and outcome.stdout == f"kernel {number}\n", outcome


def test_a_client_answering_with_futures_is_read_the_same():
    """jupyter_client 8.0's async client returns a Future from kernel_info() and is_alive()."""

    class FutureClient(_FakeClient):
        def kernel_info(self):
            future = asyncio.get_running_loop().create_future()
            future.set_result(super().kernel_info())
            return future

        def is_alive(self):
            async def alive():
                return self.alive

            return alive()

    client = FutureClient(lose=1)
    asyncio.run(wait_until_ready(client, 10))
    assert len(client.asked) == 2
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(wait_until_ready(FutureClient(answer=False, alive=False), 10))


def test_a_status_always_late_is_waited_for_longer_each_time():
    """Every status comes 0.3 s after its reply: ready after a few requests (an answer to an earlier
    one counts), long before the deadline, whereas a fixed short wait would ask forever."""
    client = _FakeClient(lag=0.3)
    asyncio.run(wait_until_ready(client, 10))
    assert 2 <= len(client.asked) <= 5
