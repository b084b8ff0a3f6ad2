"""The student's cost curve beside the reference's, as a small PNG to embed in the feedback page.

Drawn on a bare matplotlib Figure (rendered by Agg; no pyplot, so no display and no global state),
returned as bytes or base64 so the HTML stays self-contained.
"""

from __future__ import annotations

import base64
import io
import math

from matplotlib.figure import Figure

# A case is worth a curve when the reference records at least this many costs on it.
CURVE_MIN_POINTS = 5


def _as_floats(values) -> list[float]:
    """The costs as floats; nan and inf become nan, which the line leaves out (a gap) instead of breaking."""
    shown = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        shown.append(number if math.isfinite(number) else math.nan)
    return shown


def _marker(points: int, shape: str) -> str:
    return shape if points <= 50 else ""  # hundreds of markers would hide the line


def cost_curve_png(student_costs, reference_costs, title: str) -> bytes:
    """Both curves on one small chart, x = position in costs; PNG bytes."""
    figure = Figure(figsize=(5.0, 3.2), dpi=80)
    figure.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.15)  # fixed: no second layout pass
    axes = figure.add_subplot()
    reference = _as_floats(reference_costs)
    axes.plot(range(len(reference)), reference, color="#2b6cb0", linewidth=2.2,
              marker=_marker(len(reference), "o"), markersize=3.5, label="reference")
    student = _as_floats(student_costs)
    if student:
        axes.plot(range(len(student)), student, color="#dd6b20", linewidth=1.6, linestyle="--",
                  marker=_marker(len(student), "s"), markersize=3, label="your code")
    missing = sum(1 for v in student if math.isnan(v))
    note = ("your code recorded no cost" if not student
            else f"{missing} of your costs are nan or inf (not drawn)" if missing else "")
    if note:
        axes.text(0.98, 0.95, note, transform=axes.transAxes, ha="right", va="top", fontsize=8, color="#c53030")
    axes.set_title(title, fontsize=9)
    axes.set_xlabel("entry of costs (in the order recorded)", fontsize=8)
    axes.set_ylabel("cost", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, loc="center right" if note else "upper right")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def curves_for(report, expected) -> dict[str, str]:
    """Base64 PNG per case long enough to have a curve: {case_id: base64}, for the feedback's extras."""
    curves = {}
    for verdict in report.cases:
        try:
            reference = list(expected.for_case(verdict.case_id).get("costs", []))
        except KeyError:
            continue
        if len(reference) < CURVE_MIN_POINTS:
            continue
        title = f"{verdict.function}: {verdict.description.split(':')[0]}"  # the case's name, not its details
        if len(title) > 60:
            title = title[:57] + "..."
        png = cost_curve_png(verdict.costs, reference, title)
        curves[verdict.case_id] = base64.b64encode(png).decode("ascii")
    return curves
