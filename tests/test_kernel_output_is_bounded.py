"""Flooding is judged by what a cell printed in all, never by how the kernel split it into messages.

The kernel's output reaches the grader in as many messages as its I/O thread happened to flush,
which depends on timing and load. The rule (docs/limits.md): a cell's output is counted over
every message it sends; past the flood limit the kernel is stopped and every report says the same
sentence, whether the output came in one message too large to accept or in many small ones.
Below that limit, the first `output_bytes` characters are kept and the rest dropped.
"""

from __future__ import annotations

import os
import stat

import nbformat
import pytest

from grader.kernel.session import (
    COUNTED,
    FLOOD_ERROR,
    KernelSession,
    _BoundedClient,
    flood_death,
    flood_limit,
    message_limit,
)
from grader.model import Limits
from tests.fixtures import proven_sandbox

pytestmark = [pytest.mark.critical, pytest.mark.kernel]  # also run under the oldest supported versions

LIMITS = Limits(output_bytes=10_000)
FLOOD = flood_limit(LIMITS.output_bytes)
CHUNKINGS = {  # sizes of the successive messages, in characters
    "one message": lambda total: [total],
    "many small messages": lambda total: [1_000] * (total // 1_000),
    "mixed": lambda total: [total // 2] + [997] * ((total - total // 2) // 997) + [(total - total // 2) % 997],
}


def _messages(sizes: list[int]) -> list[dict]:
    return [
        {
            "msg_type": "stream",
            "header": {"msg_type": "stream"},
            "parent_header": {"msg_id": "cell"},
            "content": {"name": "stdout", "text": "x" * size},
        }
        for size in sizes
        if size
    ]


def _account(sizes: list[int]) -> tuple[bool, int, bool]:
    """Feed fake output messages to the client: (flooded, characters kept, marked truncated)."""
    client = _BoundedClient(nbformat.v4.new_notebook())
    client.output_limit, client.flood_limit = LIMITS.output_bytes, FLOOD
    client.clear_before_next_output = False  # as nbclient sets it when a cell starts
    cell = nbformat.v4.new_code_cell("")
    for message in _messages(sizes):
        client.process_message(message, cell, 0)
    kept = sum(len(o.get("text", "")) for o in cell.outputs if o.get("name") != "grader-truncated")
    return client.flooded, kept, any(o.get("name") == "grader-truncated" for o in cell.outputs)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_the_accounting_does_not_depend_on_the_chunking(chunking):
    split = CHUNKINGS[chunking]
    assert sum(split(FLOOD + 5_000)) == FLOOD + 5_000 and sum(split(FLOOD - 5_000)) == FLOOD - 5_000
    assert _account(split(FLOOD + 5_000))[0] is True
    assert _account(split(FLOOD - 5_000)) == (False, LIMITS.output_bytes, True)
    assert _account(split(LIMITS.output_bytes)) == (False, LIMITS.output_bytes, False)


@pytest.mark.parametrize("output_bytes", [1, 10_000, 200_000, 5_000_000])
def test_a_refused_message_can_only_be_a_flood(output_bytes):
    """ZeroMQ refuses a message above the message limit: any such message held more than the flood limit."""
    worst_bytes_per_char = 6  # a control character, JSON-escaped as \u00XX
    envelope = 64 * 1024  # the message's header, metadata and JSON keys, generously
    assert message_limit(output_bytes) > worst_bytes_per_char * flood_limit(output_bytes) + envelope
    assert flood_limit(output_bytes) >= 10 * output_bytes


# --- the same rule, end to end in a real kernel -------------------------------------------------

PRINTS = {
    "one message": "print('x' * {total}, end='')",
    "many small messages": "import sys\nfor _ in range({total} // 1000):\n"
    "    print('x' * 1000, end=''); sys.stdout.flush()",
    "mixed": "import sys\nprint('x' * ({total} // 2), end=''); sys.stdout.flush()\n"
    "for _ in range({total} // 2000):\n    print('y' * 1000, end='', file=sys.stderr); sys.stderr.flush()",
    "one message too large to accept": "print('a line\\n' * ({total} * 4), end='')",
}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flood-test")
    os.chmod(folder, 0o755)
    session = KernelSession(folder, LIMITS, proven_sandbox())
    yield session
    session.close()


@pytest.mark.parametrize("how", PRINTS)
def test_a_flood_gets_the_same_verdict_however_it_was_sent(session, how):
    outcome = session.run(PRINTS[how].format(total=FLOOD + 100_000), timeout=60)
    assert (outcome.status, outcome.death, outcome.truncated) == ("died", flood_death(LIMITS.output_bytes), True)
    assert session.run("print(6 * 7)", timeout=30).stdout == "42\n"  # a fresh kernel took over


@pytest.mark.parametrize("how", ["one message", "many small messages"])
def test_output_below_the_flood_limit_is_kept_up_to_the_limit(session, how):
    outcome = session.run(PRINTS[how].format(total=FLOOD // 2), timeout=60)
    assert (outcome.status, len(outcome.stdout), outcome.truncated) == ("ok", LIMITS.output_bytes, True)


def test_a_cell_that_prints_without_end_is_stopped_as_a_flood_not_timed_out(session):
    outcome = session.run("import sys\nwhile True:\n    print('x' * 1000); sys.stdout.flush()", timeout=60)
    assert (outcome.status, outcome.death) == ("died", flood_death(LIMITS.output_bytes))


def test_the_kernels_own_count_decides_when_output_messages_were_lost():
    """ZeroMQ drops output messages when a busy grader falls behind; the execute reply's count is never lost."""
    client = _BoundedClient(nbformat.v4.new_notebook())
    client.flood_limit = FLOOD
    client.note_reply(
        execute_reply={
            "content": {"user_expressions": {COUNTED: {"status": "ok", "data": {"text/plain": str(FLOOD + 1)}}}}
        }
    )
    assert client.flooded
    client.kernel_printed = 0
    client.note_reply(execute_reply={"content": {"user_expressions": {COUNTED: {"status": "error"}}}})
    assert not client.flooded  # a kernel that broke its counter is judged on what arrived
    client.note_reply(execute_reply={"content": {"status": "error", "ename": "ValueError", "evalue": ""}})
    assert not client.flooded
    client.note_reply(execute_reply={"content": {"status": "error", "ename": FLOOD_ERROR, "evalue": ""}})
    assert client.flooded  # the counter stopped the cell: a reply after an error holds no count


def test_output_of_a_cell_that_raised_does_not_count_for_the_next(session):
    """The kernel's count is reset as each cell starts, so it never adds two cells together."""
    failing = session.run(f"print('x' * {FLOOD * 3 // 4}, end='')\nraise ValueError('after printing')", timeout=60)
    assert failing.status != "died" and failing.truncated
    outcome = session.run(PRINTS["many small messages"].format(total=FLOOD * 3 // 4), timeout=60)
    assert (outcome.status, outcome.truncated) == ("ok", True)


def test_an_error_after_the_kept_output_is_still_an_error(tmp_path):
    """A cell that prints past the kept output and then raises has raised: the error is kept."""
    session = KernelSession(tmp_path, LIMITS, proven_sandbox())
    try:
        outcome = session.run(f"print('x' * {LIMITS.output_bytes * 2})\nraise ValueError('after the output')", 60)
        assert (outcome.status, outcome.error_name, outcome.truncated) == ("error", "ValueError", True)
        assert outcome.error_value == "after the output"
    finally:
        session.close()


WRAPPED_WRITE = """import sys
inner = sys.stdout.write
sys.stdout.write = lambda text, *args: inner(text, *args)
print('x' * 999)
sys.stdout.write = inner
"""


def test_the_kernels_count_sees_each_write_once_however_write_is_wrapped(session):
    """IPython 9 wraps each stream's write anew for every cell: the kernel's count stays in front of any wrapper."""
    outcome = session.run(WRAPPED_WRITE, timeout=30)
    assert (outcome.status, len(outcome.stdout), session.client.kernel_printed) == ("ok", 1000, 1000)


# Kernels whose own count says they printed nothing, and whose output is lost on its way: an I/O
# thread that cannot serialise a large message (a MemoryError there under a memory limit, as
# IPython 9 kernels meet it), or every output message dropped (as ZeroMQ drops them when the
# grader falls behind). Only what the kernel's streams pass on, or the error its counter stops
# the cell with, can show the flood.
SAYS_NOTHING = "__grader_printed__ = lambda: 0\nimport sys\n"
LOSES_LARGE = (
    SAYS_NOTHING
    + f"""_pack = sys.stdout.session.pack
def _lossy_pack(obj):
    if isinstance(obj, dict) and len(str(obj.get("text", ""))) > {2 * FLOOD}:
        raise MemoryError("too large to serialise")
    return _pack(obj)
sys.stdout.session.pack = _lossy_pack
"""
)
LOSES_ALL = (
    SAYS_NOTHING
    + """import threading
done = threading.Event()
def _drop_all():  # a hook of the I/O thread, where output is sent: None means "not sent"
    sys.stdout.register_hook(lambda msg: None)
    sys.stderr.register_hook(lambda msg: None)
    done.set()
sys.stdout.pub_thread.schedule(_drop_all)
assert done.wait(10)
"""
)
LOSSES = [
    (LOSES_LARGE, "small\n", "one message too large to accept"),
    (LOSES_ALL, "", "many small messages"),
    (LOSES_ALL, "", "one message"),
]


def test_a_flood_the_kernel_loses_and_does_not_count_is_still_a_flood(tmp_path):
    session = KernelSession(tmp_path, LIMITS, proven_sandbox())
    try:
        for lossy, small, how in LOSSES:
            assert session.run(lossy + "print('small')", timeout=30).stdout == small  # what the simulation loses
            outcome = session.run(PRINTS[how].format(total=FLOOD + 100_000), timeout=60)
            assert (outcome.status, outcome.death, outcome.truncated) == (
                "died",
                flood_death(LIMITS.output_bytes),
                True,
            ), how
    finally:
        session.close()


BURST = """
import threading, time, zmq
def _burst(count, size):
    time.sleep(0.5)  # after the cell's reply: nothing in the grader reads its channels now
    kernel = get_ipython().kernel
    session, thread = kernel.session, kernel.iopub_thread
    frame = zmq.Frame(b"\\0" * size)  # one buffer, sent again and again without a copy
    for _ in range(count):
        frames = session.serialize(session.msg("comm_msg", content={"comm_id": "x", "data": {}})) + [frame]
        thread.schedule(lambda frames=frames: thread.socket.send_multipart(frames, copy=False))
threading.Thread(target=_burst, args=(64, 12 * 1024 * 1024), daemon=True).start()
"""


def _resident_mb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) // 1024


def test_messages_nobody_reads_yet_are_bounded_in_the_graders_memory(session):
    """A kernel can send large messages that no cell asked for (not output, so never counted)
    while the grader compares or diagnoses a case. ZeroMQ queues them in the grader's process:
    the channel holds a bounded number, not ZeroMQ's default of 1000 (16 GB at 16 MB each)."""
    import time

    before = _resident_mb()
    assert session.run(BURST, timeout=30).ok
    peak, steady_since = before, time.monotonic()
    for _ in range(100):  # until the queue stops growing: 64 x 12 MB unbounded, 16 x 12 MB at most bounded
        time.sleep(0.1)
        now = _resident_mb()
        peak, steady_since = (now, time.monotonic()) if now > peak + 8 else (peak, steady_since)
        if time.monotonic() - steady_since > 1.5 or peak - before > 500:
            break
    assert peak - before < 400, f"the grader held {peak - before} MB of unread messages"
    assert session.run("print(6 * 7)", timeout=30).stdout == "42\n"


def _largest_open_file() -> int:
    """Bytes of the largest regular file this process holds open (deleted temporary files too)."""
    sizes = [0]
    for name in os.listdir("/proc/self/fd"):
        try:
            info = os.stat(f"/proc/self/fd/{name}")
        except OSError:
            continue
        sizes.append(info.st_size if stat.S_ISREG(info.st_mode) else 0)
    return max(sizes)


def test_what_the_kernel_writes_to_its_own_stderr_is_not_kept_on_the_hosts_disk(session):
    """The kernel process's own stderr (not a cell's output: uncounted) was a temporary file on the
    host, holding all it wrote up to the file-size limit; only its last lines are kept now."""
    before = _largest_open_file()
    code = (
        "import os, sys\nfd = getattr(sys.stderr, '_original_stdstream_copy', None) or 2\n"
        "for _ in range(64):\n    os.write(fd, b'x' * 1_000_000)\n"
    )
    assert session.run(code, timeout=60).ok
    assert _largest_open_file() <= max(before, 1_000_000)
    assert session.run("print(6 * 7)", timeout=30).stdout == "42\n"
