"""The report pages as a person sees them: real pages from a real batch, opened in headless Chromium.

One batch grades the instructor's solution (passes everything) and a copy whose L_layer_model
throws away the result of update_parameters (a catalogued mistake). Each of the passing feedback
page, the failing feedback page and summary.html is then loaded in a phone-sized frame and
photographed at phone size. The tests check what a reader would see: the headings and verdicts in
the rendered DOM, every image a real PNG that the browser decoded and that fits the screen, a
screenshot with something drawn on it, and a layout that suits a phone (no sideways scrolling, no
column so narrow that short words break across lines). The screenshots (a phone screen and the whole
page at phone width) are kept in the run's pytest temporary folder, screenshots0/ under
/tmp/pytest-of-$USER/pytest-current/ (pytest keeps the last three runs'), never in the checkout.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from tests import notebook_edits
from tests.browser import (
    INSTALL_HINT,
    PHONE,
    Rendering,
    data_uri_images,
    find_chromium,
    full_page_screenshot,
    ink,
    png_size,
    render,
    screenshot,
)
from tests.fixtures import ASSIGNMENT_DIR

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

PASSING, FAILING = "passing", "failing"
MISTAKE = "update-discarded"
UPDATE = "parameters = update_parameters(parameters, grads, learning_rate)"

# A screenshot with text, coloured badges and boxes on it has hundreds of colours (anti-aliased
# glyphs) and a good part of its pixels away from the background; a blank or nearly blank one
# (white page, a lone error line) has neither.
MIN_COLOURS = 64
MIN_INK = 0.03

FEEDBACK_SELECTORS = (
    "li.case",
    "li.case .badge",
    "#verdict",
    "#total",
    "#max-score",
    ".diagnosis h3",
    "figure.curve img",
    "section.function",
    "details.passed-cases > summary",
    "#what-to-fix",
    "#what-to-fix li.fix-item",
    ".diagnosis .fix",
    ".diagnosis-ref",
)
SUMMARY_SELECTORS = (
    "#count",
    "#graded-count",
    "#full-marks",
    ".histogram .column",
    "tr.case-rate",
    "tr.mistake",
    "tr.submission",
)


def points(value: float) -> str:
    return f"{round(float(value), 2):g}"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        reason = "headless Chromium is not installed: " + INSTALL_HINT
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test, but " + reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def mistake_title() -> str:
    """The catalogue's own title of the mistake the failing notebook makes."""
    spec = importlib.util.spec_from_file_location("browser_test_mistakes", ASSIGNMENT_DIR / "mistakes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return next(m["title"] for m in module.MISTAKES if m["id"] == MISTAKE)


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """Grade the solution and one broken copy with the real `grader grade`; the output folder."""
    from grader.cli import main

    folder = tmp_path_factory.mktemp("browser")
    solution = notebook_edits.solution()
    nbformat.write(solution, folder / f"{PASSING}.ipynb")
    broken = notebook_edits.replace(solution, "L_layer_model", UPDATE, UPDATE.replace("parameters = ", "", 1))
    nbformat.write(broken, folder / f"{FAILING}.ipynb")
    out = folder / "graded"
    argv = [
        "grade",
        str(folder / f"{PASSING}.ipynb"),
        str(folder / f"{FAILING}.ipynb"),
        "--out",
        str(out),
        "--quiet",
        "--assignment",
        str(ASSIGNMENT_DIR),
    ]
    assert main(argv) == 0
    for name in (PASSING, FAILING):
        assert (out / name / "feedback.html").is_file(), f"the batch wrote no feedback page for {name}"
    assert (out / "summary.html").is_file()
    return out


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the screenshots go: the run's pytest temporary folder, kept for a look after the run."""
    return tmp_path_factory.mktemp("screenshots")


def results(batch: Path, name: str) -> dict:
    return json.loads((batch / name / "results.json").read_text())


def look(chromium: str, page: Path, label: str, selectors: tuple[str, ...], screenshots: Path) -> Rendering:
    """Render the page, keep its screenshots in `screenshots`, and check what every page must get right."""
    seen = render(chromium, page, selectors)
    phone = screenshot(chromium, page, screenshots / f"{label}-phone.png")
    full_page_screenshot(chromium, page, screenshots / f"{label}-full.png", seen)

    measured = ink(phone)
    assert measured.size == PHONE, f"{phone}: {measured}"
    assert measured.distinct_colours >= MIN_COLOURS and measured.foreground_fraction >= MIN_INK, (
        f"the screenshot {phone} looks blank: {measured}"
    )

    assert seen.fetched == [], f"{label} fetched outside resources instead of being self-contained: {seen.fetched}"

    # Every image: a data: URI holding a real PNG, decoded by the browser at the PNG's size, on screen.
    source = page.read_text(encoding="utf-8")
    embedded = data_uri_images(source)
    assert len(embedded) == len(seen.images), f"{label}: every <img> must be an embedded data: URI"
    for (media_type, raw), image in zip(embedded, seen.images, strict=True):
        assert media_type == "image/png", f"{label}: an image is {media_type}, not a PNG"
        width, height = png_size(raw)
        assert image["complete"] and image["naturalWidth"] > 0, f"{label}: the browser did not load {image}"
        assert (image["naturalWidth"], image["naturalHeight"]) == (width, height), image
        assert image["width"] > 0 and image["height"] > 0, f"{label}: an image is not displayed: {image}"
        assert 0 <= image["left"] and image["right"] <= seen.viewport_width + 0.5, (
            f"{label}: an image sticks out of the phone screen: {image}"
        )
        assert image["alt"], f"{label}: an image has no alt text"
    return seen


def check_phone_layout(seen: Rendering, label: str) -> None:
    """Readable on a phone: no sideways scrolling, and no column squeezed until short words break."""
    assert seen.scroll_width <= seen.viewport_width, (
        f"{label} is {seen.scroll_width} px wide on a {seen.viewport_width} px phone screen: it scrolls sideways"
    )
    assert not seen.broken_words, f"{label} squeezes text until words break across lines: {seen.broken_words}"


def texts(seen: Rendering, selector: str) -> list[str]:
    return [element["text"] for element in seen.found[selector]]


class _Badges(HTMLParser):
    """Each case's badge text as written in the DOM (innerText is empty for a folded, unrendered case)."""

    def __init__(self):
        super().__init__()
        self.badges: dict[str, str] = {}
        self._case: str | None = None
        self._in_badge = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "li" and "case" in classes:
            self._case = attributes.get("data-case")
            self.badges[self._case] = ""
        self._in_badge = tag == "span" and "badge" in classes and self._case is not None

    def handle_endtag(self, tag):
        self._in_badge = False

    def handle_data(self, data):
        if self._in_badge:
            self.badges[self._case] += data.strip()


def badges_in_dom(dom: str) -> dict[str, str]:
    parser = _Badges()
    parser.feed(dom)
    return parser.badges


def check_feedback(seen: Rendering, assignment, report: dict, name: str) -> None:
    """What both feedback pages show: title, who, score, verdict, one section per function, every case.

    Within a function's section the failing cases come first, shown; the passed ones follow, folded
    under a summary that counts them.
    """
    cases = assignment.cases()
    assert seen.heading_texts(1) == [assignment.title]
    assert f"Feedback for {name}" in seen.text
    assert texts(seen, "#total") == [points(report["score"])]
    assert texts(seen, "#max-score") == [points(sum(f.points for f in assignment.functions))]
    h2 = seen.heading_texts(2)
    for function in assignment.functions:
        assert any(text.startswith(function.name) for text in h2), f"no heading for {function.name} in {h2}"
    # results.json lists the cases in the assignment's order, each with its status.
    ordered = [case.id for f in assignment.functions for case in cases if case.function == f.name]
    passed = {case_id: test["status"] == "passed" for case_id, test in zip(ordered, report["tests"], strict=True)}
    expected_order = []
    for function in assignment.functions:
        own = [case_id for case_id in ordered if case_id.startswith(function.name + "/")]
        expected_order += [c for c in own if not passed[c]] + [c for c in own if passed[c]]
    assert [c["data"]["case"] for c in seen.found["li.case"]] == expected_order
    for case in seen.found["li.case"]:
        shown_as_passed = "passed" in case["className"].split()
        assert shown_as_passed == passed[case["data"]["case"]], case
        # A folded case's text is not rendered: the reader sees it only after opening the fold.
        assert bool(case["text"]) != shown_as_passed, f"a failing case must be shown, a passed one folded: {case}"
        assert case["visible"] or shown_as_passed, case
    badges = badges_in_dom(seen.dom)
    assert list(badges) == expected_order
    for case_id, badge in badges.items():
        assert (badge.lower() == "passed") == passed[case_id], (case_id, badge)
    failing_badges = [text for text in texts(seen, "li.case .badge") if text]
    assert [text.lower() for text in failing_badges] == ["failed"] * sum(not p for p in passed.values())
    # One visible summary per function with passed cases, saying how many are folded under it.
    summaries = texts(seen, "details.passed-cases > summary")
    assert all(summary["visible"] for summary in seen.found["details.passed-cases > summary"])
    counts = [sum(passed[c] for c in ordered if c.startswith(f.name + "/")) for f in assignment.functions]
    assert len(summaries) == sum(1 for count in counts if count)
    for summary, count in zip(summaries, [count for count in counts if count], strict=True):
        assert str(count) in summary and "passed" in summary, summary


def test_passing_feedback_page(chromium, batch, assignment, screenshots):
    report = results(batch, PASSING)
    total = len(assignment.cases())
    seen = look(chromium, batch / PASSING / "feedback.html", "feedback-passing", FEEDBACK_SELECTORS, screenshots)

    check_feedback(seen, assignment, report, PASSING)
    assert report["score"] == sum(f.points for f in assignment.functions)
    assert texts(seen, "#verdict") == [f"All {total} cases passed."]
    assert "verdict ok" in seen.found["#verdict"][0]["className"]
    assert all("passed" in c["className"].split() for c in seen.found["li.case"])
    assert not seen.found[".diagnosis h3"], "a correct solution was told it made a mistake"
    assert not seen.found["#what-to-fix"], "a correct solution was given something to fix"
    check_phone_layout(seen, "feedback-passing")

    # The folded passed cases, once the reader opens them, show every case with its badge.
    opened = batch / PASSING / "feedback-opened.html"
    page = (batch / PASSING / "feedback.html").read_text(encoding="utf-8")
    assert page.count('<details class="passed-cases">') == len(assignment.functions)
    opened.write_text(
        page.replace('<details class="passed-cases">', '<details class="passed-cases" open>'), encoding="utf-8"
    )
    unfolded = look(chromium, opened, "feedback-passing-opened", FEEDBACK_SELECTORS, screenshots)
    assert len(unfolded.found["li.case"]) == total
    assert all(c["visible"] and c["text"] for c in unfolded.found["li.case"])
    assert [text.lower() for text in texts(unfolded, "li.case .badge")] == ["passed"] * total
    check_phone_layout(unfolded, "feedback-passing-opened")


def test_failing_feedback_page(chromium, batch, assignment, mistake_title, screenshots):
    report = results(batch, FAILING)
    total = len(assignment.cases())
    seen = look(chromium, batch / FAILING / "feedback.html", "feedback-failing", FEEDBACK_SELECTORS, screenshots)

    check_feedback(seen, assignment, report, FAILING)
    outcome = {c["data"]["case"]: "passed" in c["className"].split() for c in seen.found["li.case"]}
    failed = [case for case, passed in outcome.items() if not passed]
    assert failed and all(case.startswith("L_layer_model/") for case in failed), failed
    assert texts(seen, "#verdict") == [f"{total - len(failed)} of {total} cases passed."]
    assert "verdict bad" in seen.found["#verdict"][0]["className"]
    assert report["score"] < sum(f.points for f in assignment.functions)

    # The mistake is named in words, not only as "expected X, got Y", and explained once for the
    # function, not once per failing case; every failing case points at that explanation.
    named = texts(seen, ".diagnosis h3")
    assert named == [f"Likely mistake: {mistake_title}"], named
    assert len(seen.found[".diagnosis .fix"]) == 1
    references = texts(seen, ".diagnosis-ref")
    assert len(references) == len(failed) and all(mistake_title in text for text in references), references

    # "What to fix", above everything else: the function, its score, the mistake and its line.
    fixes = seen.found["#what-to-fix li.fix-item"]
    assert [item["data"]["function"] for item in fixes] == ["L_layer_model"]
    summary = fixes[0]["text"]
    lost = [test for test in report["tests"] if test["name"].startswith("L_layer_model:")]
    score = f"{points(sum(t['score'] for t in lost))} / {points(sum(t['max_score'] for t in lost))}"
    assert mistake_title in summary and score in summary, summary
    assert "line" in summary and "update_parameters(" in summary, summary
    assert seen.text.index("What to fix") < seen.text.index("two_layer_model"), "What to fix is not at the top"

    # Cost curves are drawn for public cases only (a hidden case's reference curve is its expected
    # costs); the long cases of this assignment are hidden, so the page shows none. Where one is
    # shown, it opens the function's section (before its list of failing cases).
    curves = seen.found["figure.curve img"]
    assert all(image["visible"] for image in curves)
    hidden_long = [t for t in report["tests"] if t["name"].startswith("L_layer_model:") and "hidden" in t["tags"]]
    assert hidden_long and not curves, "a hidden case's cost curve is shown"
    check_phone_layout(seen, "feedback-failing")


def test_summary_page(chromium, batch, assignment, mistake_title, screenshots):
    seen = look(chromium, batch / "summary.html", "summary", SUMMARY_SELECTORS, screenshots)

    assert seen.heading_texts(1) == [f"{assignment.title}: class summary"]
    for heading in ("Overview", "Score distribution", "Pass rate of every case", "Catalogued mistakes", "Submissions"):
        assert heading in seen.heading_texts(2), f"no {heading!r} section in {seen.heading_texts(2)}"
    assert texts(seen, "#count") == ["2"]
    assert texts(seen, "#graded-count") == ["2"]
    assert texts(seen, "#full-marks") == ["1"]

    columns = seen.found[".histogram .column"]
    assert columns and all(column["visible"] for column in columns)
    assert sorted(text for text in texts(seen, ".histogram .column") if text) == ["1", "1"]

    assert sorted(row["data"]["case"] for row in seen.found["tr.case-rate"]) == sorted(
        case.id for case in assignment.cases()
    )
    mistakes = {row["data"]["mistake"]: row["text"] for row in seen.found["tr.mistake"]}
    assert list(mistakes) == [MISTAKE], mistakes
    assert mistake_title in mistakes[MISTAKE] and mistakes[MISTAKE].rstrip().endswith("1")
    assert sorted(row["data"]["name"] for row in seen.found["tr.submission"]) == sorted([FAILING, PASSING])
    check_phone_layout(seen, "summary")


def test_probe_sees_what_a_reader_would_miss(chromium, tmp_path):
    """The checks above can fail: a broken image, a page too wide for a phone and a blank page are caught."""
    good = tmp_path / "good.png"
    Image.new("RGB", (40, 20), (200, 30, 30)).save(good)
    encoded = base64.b64encode(good.read_bytes()).decode()
    page = tmp_path / "page.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><h1>Probe</h1>"
        f"<img alt='good' src='data:image/png;base64,{encoded}'>"
        "<img alt='broken' src='data:image/png;base64,iVBORw0KGgoAAAAN'>"
        "<div style='width: 7ch; overflow-wrap: anywhere'>squeezedsqueezed real-valued</div>"
        "<div style='width: 900px'>too wide</div></body></html>"
    )
    seen = render(chromium, page, ("h1",))
    assert seen.heading_texts(1) == ["Probe"]
    good_image, broken_image = seen.images
    assert good_image["complete"] and (good_image["naturalWidth"], good_image["naturalHeight"]) == (40, 20)
    assert broken_image["naturalWidth"] == 0
    assert seen.viewport_width == PHONE[0] and seen.scroll_width > seen.viewport_width
    assert [word.split()[0] for word in seen.broken_words] == ["squeezedsqueezed"]  # "real-valued" may break at "-"
    with pytest.raises(ValueError):
        png_size(data_uri_images(page.read_text())[1][1])

    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    measured = ink(screenshot(chromium, blank, tmp_path / "blank.png"))
    assert measured.distinct_colours < MIN_COLOURS and measured.foreground_fraction < MIN_INK, measured
