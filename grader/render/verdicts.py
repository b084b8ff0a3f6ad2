"""A verdict's messages in words: its differences first, one sentence each, then its notes."""

from __future__ import annotations

from grader.model import CaseVerdict
from grader.render.notes import note_text
from grader.render.wording import describe


def case_messages(verdict: CaseVerdict, names: tuple[str, ...] = (), labels: tuple = ()) -> list[str]:
    """What a case's report says, in order: each difference, then each note (on a hidden case, nothing
    the kernel wrote and no expected value: grader.render.wording and grader.render.notes see to it)."""
    public = verdict.public
    return [describe(d, public, names, labels) for d in verdict.differences] + [
        note_text(note, public) for note in verdict.notes
    ]
