"""The student's curve (a returned series) beside the reference's, as a small PNG for the feedback page.

Drawn on a bare matplotlib Figure (rendered by Agg; no pyplot, so no display and no global state),
returned as bytes or base64 so the HTML stays self-contained.
"""

from __future__ import annotations

import base64
import io
import math
from functools import lru_cache

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

# A case is worth a curve when the reference records at least this many costs on it.
CURVE_MIN_POINTS = 5
# About 600 x 390 px. What sets the text's size on screen is the figure's width in inches (the
# picture is scaled to the page's width), so a narrow figure with 11 pt text reads well on a phone.
FIGSIZE = (4.8, 3.1)
DPI = 125
FONT = 11
REFERENCE_COLOUR = "#2b6cb0"  # blue, solid, round markers
STUDENT_COLOUR = "#c2410c"  # dark orange, dashed, square markers: apart from the reference even in grey
LOG_SCALE_RATIO = 20.0
MAX_TITLE = 48  # what fits on one line of the picture at FONT + 1 bold


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


def _log_scale_helps(*series: list[float]) -> bool:
    """A log axis when the costs span more than LOG_SCALE_RATIO (a diverging run beside a converging
    one): on a linear axis the smaller curve would be a flat line at the bottom."""
    values = [v for values in series for v in values if math.isfinite(v)]
    if not values or min(values) <= 0:
        return False
    return max(values) / min(values) > LOG_SCALE_RATIO


def cost_curve_png(student_costs, reference_costs, title: str, name: str = "costs") -> bytes:
    """Both curves on one chart, x = position in costs; PNG bytes.

    Sized for a phone: about 600 px wide, shown at roughly 350 CSS px, with 11-12 pt text, which
    stays legible at that scale. The legend sits above the plot so it can never cover a line, and
    the student's line differs from the reference's by colour, dash and marker (not colour alone).
    """
    return _drawn(tuple(_as_floats(student_costs)), tuple(_as_floats(reference_costs)), title, name)


@lru_cache(maxsize=16)
def _drawn(student_costs: tuple[float, ...], reference_costs: tuple[float, ...], title: str, name: str) -> bytes:
    """The chart, drawn once per distinct picture in a process: a batch's blank and unrun submissions
    all show the reference's curve alone, which costs a tenth of a second to draw each time."""
    figure = Figure(figsize=FIGSIZE, dpi=DPI)
    figure.subplots_adjust(left=0.15, right=0.97, top=0.78, bottom=0.17)  # fixed: no second layout pass
    axes = figure.add_subplot()
    reference, student = list(reference_costs), list(student_costs)
    axes.plot(
        range(len(reference)),
        reference,
        color=REFERENCE_COLOUR,
        linewidth=3.0,
        solid_capstyle="round",
        marker=_marker(len(reference), "o"),
        markersize=5,
        label="reference",
        zorder=2,
    )
    if student:
        axes.plot(
            range(len(student)),
            student,
            color=STUDENT_COLOUR,
            linewidth=2.2,
            linestyle=(0, (5, 2.5)),
            marker=_marker(len(student), "s"),
            markersize=4.5,
            label="your code",
            zorder=3,
        )
    if _log_scale_helps(reference, student):
        axes.set_yscale("log")
        axes.yaxis.set_minor_locator(NullLocator())  # dozens of minor ticks: slow to draw, nothing to read
        axes.set_ylabel(f"{name} (log scale)", fontsize=FONT)
    else:
        axes.set_ylabel(name, fontsize=FONT)
    figure.suptitle(title, x=0.02, y=0.98, ha="left", va="top", fontsize=FONT + 1, fontweight="bold")
    note = _missing_note(student, name)
    if note:  # its own row under the title, so it covers no part of either line
        figure.text(0.02, 0.875, note, ha="left", va="top", fontsize=FONT - 1, color="#b42318")
        figure.subplots_adjust(top=0.72)
    _style(axes, name)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _missing_note(student: list[float], name: str) -> str:
    """What the student's curve lacks, said over the chart ("" when nothing)."""
    if not student:
        return f"your code returned no {name}"
    missing = sum(1 for v in student if math.isnan(v))
    return f"{missing} of your {name} values are nan or inf (not drawn)" if missing else ""


def _style(axes: Axes, name: str) -> None:
    """Margins, the x axis's label and integer ticks, the grid, and the legend above the plot."""
    axes.margins(x=0.03, y=0.08)
    axes.set_xlabel(f"entry of {name} (in order)", fontsize=FONT)
    axes.tick_params(labelsize=FONT - 1)
    axes.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg] # an AutoLocator takes it
    axes.grid(True, alpha=0.3)
    axes.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        ncol=2,
        fontsize=FONT,
        frameon=False,
        borderaxespad=0.0,
        handlelength=3.0,
        columnspacing=1.5,
    )


def reference_series(expected, curve: str) -> list[float]:
    """The reference's values of the returned part named `curve` (a list of numbers), else []."""
    from grader.model import python_value

    value = expected.parts.get(curve) if curve != "returned" else python_value(expected.returned)
    if not isinstance(value, (list, tuple, np.ndarray)):
        return []
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return []


def curves_for(report, expected, assignment) -> dict[str, str]:
    """Base64 PNG per public case long enough to have a curve: {case_id: base64}, for the feedback.

    The series drawn is the returned part the manifest's `curve` names (none by default). A hidden
    case gets none: the reference's curve is its expected values, and the student's could be
    anything the code computed from the hidden inputs.
    """
    curves: dict[str, str] = {}
    if not assignment.curve:
        return curves
    for verdict in report.cases:
        if verdict.visibility != "visible":
            continue
        try:
            reference = reference_series(expected.for_case(verdict.case_id), assignment.curve)
        except KeyError:
            continue
        if len(reference) < CURVE_MIN_POINTS:
            continue
        title = f"{verdict.function}: {verdict.description.split(':')[0]}"  # the case's name, not its details
        if len(title) > MAX_TITLE:
            title = title[: MAX_TITLE - 3] + "..."
        png = cost_curve_png(verdict.series, reference, title, assignment.curve)
        curves[verdict.case_id] = base64.b64encode(png).decode("ascii")
    return curves
