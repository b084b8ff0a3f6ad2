"""Known mistakes in the toy assignment, each a runnable variant (instructor-only).

The grader runs each variant on the cases (`grader expected`) and names the mistake when a
student's failing case behaves exactly like it. `ADVICE` words what a difference usually means
when no mistake matches (see grader.diagnose.advice_for).
"""

from pathlib import Path

import numpy as np

from grader.kernel.harness import __grader_inputs__


def _sum_not_mean(x):
    return float(np.sum(np.asarray(x) ** 2))


MISTAKES = [
    {
        "id": "sum-not-mean",
        "title": "the squares are summed, not averaged",
        "explanation": "A mean square divides the sum of the squares by how many there are.",
        "fix": "Use np.mean instead of np.sum.",
        "functions": ["mean_square"],
        "pattern": r"np\.sum\(",
        "variants": {"mean_square": _sum_not_mean},
    },
]

ADVICE = [
    {
        "part": "losses",
        "index": 0,
        "title": "the first loss already differs: the starting point or the loss",
        "explanation": "Nothing has been learnt at step 0: check the starting w and b and how the loss is computed.",
    },
]


def variant_outputs(mistake_id: str, case, folder: Path) -> dict:
    """What the mistake's variant returns on one case (its printed lines are none)."""
    mistake = next(m for m in MISTAKES if m["id"] == mistake_id)
    arguments = __grader_inputs__(case.recipe, str(folder))
    return {"returned": mistake["variants"][case.function](**arguments), "stdout": []}
