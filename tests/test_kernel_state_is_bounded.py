"""What the grader keeps of a kernel's messages stays bounded, whatever the message type.

A cell sends a hundred and fifty megabytes of widget (comm) state, and display updates, display
ids and output metadata: nbclient would keep all of them for the kernel's lifetime. The grader keeps none
of the widget or display state, and at most its output cap of the rest.
"""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path

import pytest

from grader.kernel.session import KernelSession
from grader.model import Limits
from tests.fixtures import proven_sandbox

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

FLOOD = """
from comm import create_comm
from IPython.display import display, update_display


big = "x" * 1_000_000
widget = create_comm(target_name="any-target", data={"state": {"v": big}, "buffer_paths": []})
for i in range(150):
    widget.send({"method": "update", "state": {f"k{i}": big}, "buffer_paths": []})
# Display updates and metadata are output, and count towards the flood limit (2 000 000
# characters here): stay below it, so that the kernel lives and what the grader kept can be read.
small = "y" * 5_000
for i in range(150):
    name = "d" * 100_000 + str(i)
    display({"text/plain": "a"}, raw=True, display_id=name)
    update_display({"text/plain": small}, raw=True, display_id=name)
for i in range(50):
    display({"text/plain": "m"}, metadata={"junk": small}, raw=True)
print("done")
"""
LIMITS = Limits(cpu_seconds=120, memory_mb=2048, processes=64, output_bytes=200_000)


def _kept_characters(client) -> int:
    """Everything nbclient keeps across cells, and the current cell's outputs, in characters."""
    kept = [client.widget_state, client.widget_buffers, client.comm_objects, client._display_id_map]
    kept += [cell.get("outputs", []) for cell in client.nb.cells]
    return sum(len(str(part)) for part in kept)


@pytest.fixture(scope="module")
def flooded():
    with tempfile.TemporaryDirectory(prefix="grader-kernel-") as folder:
        session = KernelSession(Path(folder), LIMITS, proven_sandbox())
        try:
            session.start()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            outcome = session.run(FLOOD, 120)
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            kept = _kept_characters(session.client)
            print(
                f"\npeak RSS of the grading process: {before // 1024} MB before, {after // 1024} MB after "
                f"the flood; {kept} characters kept"
            )
            state = {
                "widget_state": dict(session.client.widget_state),
                "display_ids": dict(session.client._display_id_map),
                "comm_objects": dict(session.client.comm_objects),
            }
            yield outcome, kept, state
        finally:
            session.close()


def test_the_cell_ran(flooded):
    outcome, _, _ = flooded
    assert outcome.status == "ok", (outcome.error_name, outcome.error_value)
    assert "done" in outcome.stdout


def test_no_widget_or_display_state_is_kept(flooded):
    _, _, state = flooded
    assert state == {"widget_state": {}, "display_ids": {}, "comm_objects": {}}


def test_a_widget_message_nbclient_cannot_read_is_ignored(tmp_path):
    """A comm_open for the widget target without the state nbclient expects made it raise, and the
    grader took the kernel for dead."""
    session = KernelSession(tmp_path, LIMITS, proven_sandbox())
    try:
        outcome = session.run(
            "from comm import create_comm\n"
            'create_comm(target_name="jupyter.widget", data={"state": {}})\nprint("done")',
            60,
        )
        assert outcome.status == "ok" and "done" in outcome.stdout, (outcome.status, outcome.error_value)
    finally:
        session.close()


def test_what_is_kept_is_within_the_output_cap(flooded):
    _, kept, _ = flooded
    assert kept < 2 * LIMITS.output_bytes  # the cell sent about 170 MB
