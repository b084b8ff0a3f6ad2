"""The grader's one error base class: whatever derives from GraderError is shown to the user as a
message (what is wrong, what to do), never as a traceback; grader.cli maps it to an exit status."""

from __future__ import annotations


class GraderError(Exception):
    """A problem the grader explains in one message; the message says what to do."""


class UserError(GraderError):
    """A problem with what the user asked for (a missing file, a wrong option); exit status 2."""
