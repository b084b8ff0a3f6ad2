"""The one message for an error the grader explains (grader.errors): most carry their words, and
a refusal to run unisolated code carries records that grader.render.isolation words."""

from __future__ import annotations

from grader.kernel.isolation import IsolationRefused
from grader.render.isolation import refused_text


def error_text(error: BaseException) -> str:
    """What the user reads for `error`: what is wrong and what to do."""
    if isinstance(error, IsolationRefused):
        return refused_text(error)
    return str(error)
