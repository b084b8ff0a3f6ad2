"""The one message for an error the grader explains (grader.errors): most carry their words, and
a refusal to run unisolated code carries records that grader.render.isolation words."""

from __future__ import annotations

from grader.kernel.isolation import IsolationRefused
from grader.render.isolation import refused_text


def error_text(error: BaseException, anyway: str | None = "add --no-sandbox to the command") -> str:
    """What the user reads for `error`: what is wrong and what to do (`anyway`: how to run student code
    without isolation where the user is, as grader.render.isolation.refused_text says it)."""
    if isinstance(error, IsolationRefused):
        return refused_text(error, anyway)
    return str(error)
