"""Per-submission reports: the Gradescope results format, the feedback pages, and no hidden case leaks.

The reports are built from verdicts that the real comparison produces on answers a little off the
expected values, so every message a failing case can carry is in them, without running a kernel.
"""

import base64
import dataclasses
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from grader.judge.compare import compare, split_numbers
from grader.judge.expected import ExpectedValues
from grader.kernel.untrusted import KernelResult, result_of_value
from grader.model import (
    CaseStatus,
    CaseVerdict,
    Difference,
    Expected,
    Finding,
    Isolation,
    Kind,
    SubmissionReport,
    SubmissionStatus,
    Visibility,
    python_value,
)
from grader.model.diagnosis import Diagnosis, DiagnosisKind, Place
from grader.model.notes import Text
from grader.model.report import FindingRule
from grader.render.feedback import HIDDEN_CASE_VISIBILITY, capped_messages, points, write_submission_reports
from grader.render.verdicts import case_messages
from grader.render.wording import describe
from tests.fixtures import case_numbers, hidden_secrets, leaks

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(64))).decode()
DIAGNOSIS = Diagnosis(
    DiagnosisKind.MISTAKE,
    "hard-coded-rate",
    "The learning rate is hard-coded",
    "The update uses 0.0075 & ignores the learning_rate argument.",
    "Pass learning_rate to update_parameters.",
    place=Place(30, 57, "parameters = update_parameters(parameters, grads, 0.0075)"),
)


def _perturbed_stdout(lines: list[str], factor: float) -> str:
    """The printed lines with every float scaled by `factor` (words and integers kept)."""
    out = []
    for line in lines:
        split = split_numbers(line)
        numbers = [n if n.lstrip("+-").isdigit() else repr(float(n) * factor) for n in split.numbers]
        out.append("".join(t + n for t, n in zip(split.text, [*numbers, ""], strict=True)))
    return "\n".join(out)


def _answer(case, values: dict, factor: float) -> KernelResult:
    """What a student's kernel would send back: the expected values scaled by `factor`."""
    parameters = {key: np.asarray(v) * factor for key, v in values.parts["parameters"].items()}
    costs = [float(c) * factor for c in values.parts["costs"]]
    inputs = python_value(values.arguments) if "inputs_unchanged" in case.compare else None
    return result_of_value((parameters, costs), _perturbed_stdout(list(values.stdout), factor), inputs)


def build_report(assignment, failing: set[str], isolated: bool = False) -> SubmissionReport:
    """A graded report whose `failing` cases are 1% off; the verdicts come from the real compare()."""
    expected = ExpectedValues(assignment)
    report = SubmissionReport(
        name="student-07",
        path="student-07.ipynb",
        sha256="ab" * 32,
        assignment=assignment.name,
        assignment_version=assignment.version,
        status=SubmissionStatus.GRADED,
        isolation=Isolation.SANDBOX if isolated else Isolation.NONE,
        seconds=2.5,
    )
    cases = assignment.cases()
    for graded in assignment.functions:
        own = [c for c in cases if c.function == graded.name]
        for case in own:
            values = expected.for_case(case.id)
            names = graded.returns
            comparison = compare(
                case,
                values,
                _answer(case, values, 1.01 if case.id in failing else 1.0),
                assignment.tolerance(graded.name, case),
                names,
            )
            share = graded.points / len(own)
            report.cases.append(
                CaseVerdict(
                    case_id=case.id,
                    function=case.function,
                    description=case.description,
                    visibility=case.visibility,
                    status=CaseStatus.PASSED if comparison.passed else CaseStatus.FAILED,
                    score=share if comparison.passed else 0.0,
                    max_score=share,
                    differences=comparison.differences,
                )
            )
        report.function_points[graded.name] = graded.points
        report.function_scores[graded.name] = sum(v.score for v in report.cases_of(graded.name))
    report.score = sum(report.function_scores.values())
    report.max_score = sum(report.function_points.values())
    return report


@pytest.fixture(scope="module")
def cases(assignment):
    return assignment.cases()


@pytest.fixture(scope="module")
def failing(cases):
    """Every L_layer_model case and one public two_layer_model case fail."""
    public_two_layer = next(c.id for c in cases if c.function == "two_layer_model" and c.visibility == "visible")
    return {c.id for c in cases if c.function == "L_layer_model"} | {public_two_layer}


@pytest.fixture(scope="module")
def written(assignment, failing, tmp_path_factory):
    """Reports of a part-failing submission, with a rule finding, a problem, a diagnosis and a curve."""
    report = build_report(assignment, failing)
    report.findings.append(Finding(FindingRule.TEXT, 31, 2, detail="an extra code cell <b>was</b> added"))
    report.problems.append(Text("cell 40 raised ValueError: <script>alert('x')</script>"))
    hidden_failure = next(v for v in report.cases if v.function == "L_layer_model" and v.visibility == "hidden")
    hidden_failure.diagnosis = DIAGNOSIS
    public_failure = next(v for v in report.cases if v.visibility == "visible" and not v.passed)
    public_failure.diagnosis = Diagnosis(DiagnosisKind.ADVICE, title="W1 goes wrong first")
    folder = tmp_path_factory.mktemp("reports") / "student-07"
    other_public = next(
        v for v in report.cases if v.visibility == "visible" and not v.passed and v.function != public_failure.function
    )
    extras = {
        "curves": {
            public_failure.case_id: PNG,
            hidden_failure.case_id: PNG,
            other_public.case_id: 'AAAA"><script>x</script>',
        }
    }
    write_submission_reports(report, folder, assignment, extras)
    return report, folder, hidden_failure


def test_results_json_follows_the_gradescope_format(written, assignment):
    report, folder, _ = written
    results = json.loads((folder / "results.json").read_text())
    assert results["score"] == pytest.approx(report.score)
    assert results["score"] < report.max_score  # the failing cases cost points
    assert isinstance(results["execution_time"], (int, float))
    assert len(results["tests"]) == len(report.cases)
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"])
    names = {f.name for f in assignment.functions}
    for test, verdict in zip(results["tests"], report.cases, strict=True):
        assert set(test) >= {"name", "score", "max_score", "output", "visibility", "tags", "status"}
        function = test["name"].split(":")[0]
        assert function in names and function == verdict.function
        assert verdict.function in test["tags"]
        assert test["status"] == ("passed" if verdict.passed else "failed")
        assert test["visibility"] == ("visible" if verdict.visibility == "visible" else HIDDEN_CASE_VISIBILITY)
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert verdict.description in test["name"]
        assert 0 <= test["score"] <= test["max_score"]
        for message in case_messages(verdict, assignment.function(verdict.function).returns):
            assert message in test["output"]
    # Submission-level: the not-isolated warning first, then problems and rule findings with their place.
    assert results["output"].startswith("WARNING: NOT ISOLATED")
    assert "cell 31, line 2: an extra code cell" in results["output"]
    assert "cell 40 raised ValueError" in results["output"]


def test_isolated_reports_carry_no_warning(assignment, tmp_path):
    report = build_report(assignment, set(), isolated=True)
    write_submission_reports(report, tmp_path, assignment)
    assert "NOT ISOLATED" not in (tmp_path / "results.json").read_text()
    assert "NOT ISOLATED" not in (tmp_path / "feedback.md").read_text()
    assert 'id="isolation-warning"' not in (tmp_path / "feedback.html").read_text()
    assert json.loads((tmp_path / "results.json").read_text())["score"] == report.max_score


def test_no_report_shows_a_hidden_case_recipe_or_expected_value(written, assignment, failing, cases):
    report, folder, _ = written
    files = [folder / "results.json", folder / "feedback.md", folder / "feedback.html"]
    secrets = hidden_secrets(assignment)
    assert any(case_id in failing for case_id in secrets)  # hidden cases did fail, with messages
    assert leaks(files, secrets) == []
    # The search is not blind: a failing public case's expected numbers are shown, and found.
    public = next(c for c in cases if c.visibility == "visible" and c.id in failing)
    shown = case_numbers(ExpectedValues(assignment).for_case(public.id))
    assert any(number in files[1].read_text() for number in shown)


class _Page(HTMLParser):
    """The parts of an HTML page the tests look at."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag not in ("meta", "img", "br", "link"):
            self._open.append(attributes.get("id"))
            if attributes.get("id"):
                self.text_by_id[attributes["id"]] = ""

    def handle_endtag(self, tag):
        if tag not in ("meta", "img", "br", "link") and self._open:
            self._open.pop()

    def handle_data(self, data):
        for element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += data

    def having(self, tag: str | None = None, cls: str | None = None) -> list[dict]:
        return [
            a
            for t, a in self.elements
            if (tag is None or t == tag) and (cls is None or cls in (a.get("class") or "").split())
        ]


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def test_feedback_html_is_self_contained_and_structured(written, assignment):
    report, folder, hidden_failure = written
    text = (folder / "feedback.html").read_text()
    page = _page(text)
    assert page.text_by_id["title"].strip() == assignment.title
    assert page.having("h1") and any(meta.get("name") == "viewport" for meta in page.having("meta"))
    passed = sum(v.passed for v in report.cases)
    assert page.text_by_id["verdict"].strip() == f"{passed} of {len(report.cases)} cases passed."
    assert "NOT ISOLATED" in page.text_by_id["isolation-warning"]
    assert len(page.having("li", "case")) == len(report.cases)
    assert len(page.having("li", "passed")) == passed
    assert len(page.having("li", "failed")) == len(report.cases) - passed
    for verdict in report.cases:
        assert verdict.description in text.replace("&#39;", "'")
    for function in assignment.functions:
        assert f"function-{function.name}" in page.text_by_id
    # Self-contained: no script, no external resource, no link out.
    assert "<script" not in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "&lt;script&gt;" in text and "&lt;b&gt;was&lt;/b&gt;" in text  # student text is escaped
    # The diagnosis: explained once, at the top of its function's section; the case points at it;
    # the summary at the top of the page names it with its line.
    function_text = page.text_by_id[f"function-{hidden_failure.function}"]
    assert DIAGNOSIS.title in function_text and DIAGNOSIS.fix in function_text and "line 57" in function_text
    assert text.count(DIAGNOSIS.fix) == 1
    case_text = page.text_by_id["case-" + re.sub(r"[^A-Za-z0-9_-]+", "-", hidden_failure.case_id)]
    assert DIAGNOSIS.title in case_text and DIAGNOSIS.fix not in case_text
    summary = page.text_by_id["what-to-fix"]
    assert DIAGNOSIS.title in summary and "line 57" in summary
    unnamed = next(v for v in report.cases if not v.passed and v.function != hidden_failure.function)
    first = case_messages(unnamed, assignment.function(unnamed.function).returns)[0]
    assert first in summary.replace("&#39;", "'")  # no mistake named: the first difference
    failing_functions = {v.function for v in report.cases if not v.passed}
    assert {a["data-function"] for a in page.having("li", "fix-item")} == failing_functions
    # Passed cases are folded away under a count; failing ones are not.
    folded = page.having("details", "passed-cases")
    assert len(folded) == sum(1 for f in assignment.functions if any(v.passed for v in report.cases_of(f.name)))
    assert all("open" not in attributes for attributes in folded)
    # The cost curve of the failing case.
    images = page.having("img")
    assert len(images) == 1  # the malformed curve was dropped, and a hidden case's is never shown
    assert images[0]["src"] == f"data:image/png;base64,{PNG}"
    public_failure = next(v for v in report.cases if v.visibility == "visible" and not v.passed)
    assert public_failure.description in images[0]["alt"]
    assert hidden_failure.description not in images[0]["alt"]


def test_feedback_markdown_has_scores_cases_and_diagnosis(written):
    report, folder, hidden_failure = written
    text = (folder / "feedback.md").read_text()
    assert text.startswith("# ")
    assert f"**Score: {points(report.score)} / {points(report.max_score)}**" in text
    assert "## two_layer_model" in text and "## L_layer_model" in text
    assert text.count("**FAILED**") == sum(not v.passed for v in report.cases)
    assert f"Likely mistake: {DIAGNOSIS.title}" in text
    assert "Likely mistake: W1 goes wrong first" in text
    assert "0.0075 &amp; ignores" in text
    assert "<script>" not in outside_code_spans(text)  # inside a code span it is shown, not run
    assert "cell 31, line 2" in text


def test_long_runs_of_parameter_differences_are_capped(written):
    report, folder, _ = written
    text = (folder / "feedback.md").read_text()
    names = ("parameters", "costs")
    said = {v.case_id: case_messages(v, names) for v in report.cases}
    many = [v for v in report.cases if sum(1 for m in said[v.case_id] if " differs" in m and m[:1] in "Wb") > 5]
    assert many, "no case with many differing parameters to look at"
    for verdict in many:
        about_parameters = [m for m in said[verdict.case_id] if m[:1] in "Wb" and " differs" in m]
        assert f"and {len(about_parameters) - 4} more differ as well" in text
        assert about_parameters[3] in text.replace("&#39;", "'")
    differences = [Difference(Kind.LENGTH, (1,), 1, 3, what="list")]
    differences += [Difference(Kind.VALUES, (0, f"{k}{n}"), 1.0, 2.0) for n in range(1, 6) for k in "Wb"]
    differences.append(Difference(Kind.PRINTED, (), "x", "y", line=1))
    messages = [describe(d, True, names) for d in differences]
    verdict = CaseVerdict("c", "f", "d", Visibility.VISIBLE, CaseStatus.FAILED, differences=differences)
    shown = capped_messages(verdict, names=names)
    assert shown == [*messages[:5], "and 6 more differ as well: W3, b3, W4, b4, W5, b5", messages[-1]]
    verdict = CaseVerdict("c", "f", "d", Visibility.VISIBLE, CaseStatus.FAILED, differences=differences[:6])
    assert capped_messages(verdict, names=names) == messages[:6]  # five lines: nothing to gain by cutting


def test_a_hidden_case_shows_no_numeric_error(written):
    """An error beside the number a student chose gives the expected value back (returned 1.0 with a
    relative error of 0.56: the reference's is 1 / 1.56 or 1 / 0.44), so a hidden case shows none."""
    from types import SimpleNamespace

    from grader.model import Tolerance

    expected = Expected(result_of_value((np.array([[0.641, 0.2], [0.3, 0.4]]), [0.641, 0.5])).returned, None)
    answer = result_of_value((np.array([[1.0, 0.2], [0.3, 0.4]]), [1.0, 0.5]))
    differences = compare(SimpleNamespace(compare=["returned"]), expected, answer, Tolerance()).differences
    names = ("parameters", "costs")
    assert [describe(d, False, names) for d in differences] == [
        "parameters differs from the reference",
        "costs[0] differs from the reference",
    ]
    assert [describe(d, True, names) for d in differences] == [
        "parameters differs: expected 0.641, got 1 at [0, 0] (1 of 4 entries differ)",
        "costs[0] differs: expected 0.641, got 1 (1 of 2 entries differ)",
    ]
    report, folder, _ = written  # hidden cases fail there, 1% off
    for name in ("results.json", "feedback.md", "feedback.html"):
        assert "error up to" not in (folder / name).read_text()


def test_an_invalid_submission_says_it_was_not_graded(assignment, tmp_path):
    report = build_report(assignment, set())
    report.status = SubmissionStatus.INVALID
    report.problems = [Text("notes.txt is not a notebook: it is not valid JSON")]
    for verdict in report.cases:
        verdict.status, verdict.score, verdict.notes = CaseStatus.SKIPPED, 0.0, [Text("not run")]
    report.score = 0.0
    write_submission_reports(report, tmp_path, assignment)
    page = _page((tmp_path / "feedback.html").read_text())
    assert page.text_by_id["verdict"].startswith("Not graded")
    assert "not valid JSON" in page.text_by_id["problems"]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 0 and all(t["status"] == "failed" for t in results["tests"])


def outside_code_spans(markdown: str) -> str:
    """The Markdown text with every code span (CommonMark's rule: a backtick run closed by a run of
    the same length) and every backslash escape removed: what a renderer would treat as markup."""
    out, index = [], 0
    while index < len(markdown):
        char = markdown[index]
        if char == "\\":
            index += 2
            continue
        if char == "`":
            run = re.match(r"`+", markdown[index:]).group(0)
            close = re.compile(rf"(?<!`){run}(?!`)").search(markdown, index + len(run))
            if close:
                index = close.end()
                continue
            out.append(run)
            index += len(run)
            continue
        out.append(char)
        index += 1
    return "".join(out)


HOSTILE_TEXTS = [
    "![x](http://evil/x.png)",
    "[a](javascript:alert(1))",
    "``code`` and ` one",
    "<img src=x onerror=y>",
    "first\n# a heading\n- an item\n\n<b>bold</b>",
    "`",
    "www.evil.example and me@evil.example",
]


@pytest.mark.parametrize("hostile", HOSTILE_TEXTS)
def test_student_text_in_feedback_markdown_stays_inert(assignment, tmp_path, hostile):
    """Messages, problems, findings and names may hold the student's text: the Markdown shows it
    literally, never as an image, a link, HTML, or a new heading or list item."""
    report = build_report(assignment, set())
    report.name = f"name {hostile}"
    verdict = report.cases[0]
    verdict.status, verdict.score, verdict.notes = CaseStatus.FAILED, 0.0, [Text(f"raised ValueError: {hostile}")]
    verdict.diagnosis = Diagnosis(
        DiagnosisKind.MISTAKE, "m", f"the function raised {hostile}", hostile, hostile, place=Place(3, 4, hostile)
    )
    report.problems.append(Text(f"cell 40 raised ValueError: {hostile}"))
    report.findings.append(Finding(FindingRule.TEXT, 31, 2, detail=f"a cell holds {hostile}"))
    write_submission_reports(report, tmp_path, assignment)
    text = (tmp_path / "feedback.md").read_text()
    markup = outside_code_spans(text)
    for active in ("](", "<", "http:", "javascript:", "www.", "@"):
        assert active not in markup, f"{active!r} is active in:\n{markup}"
    assert not re.search(r"^\s*(# a heading|- an item)", text, re.M)
    one_line = re.sub(r"\s*\n\s*", " / ", hostile.strip())
    assert text.count(one_line) >= 3  # the message, the problem and the finding, shown as written


ODD_TEXTS = [
    "lone \ud800 surrogate",
    "a file name's byte \udce9",
    "NUL \x00 inside",
    "bell \x07 and clear \x1b[2J",
    "RTL \u202eevil\u202c override",
    "C1 \x85\x9b controls",
    "tab\tand\r\nCRLF",
    "long " + "x" * 100_000,
]
# What no written report may hold: a lone surrogate, a control character but tab and line breaks, an override.
UNSHOWABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_every_report_survives_any_text_a_student_can_produce(assignment, tmp_path):
    """A lone surrogate in a message stopped the feedback pages from being written: every output is now
    written, is valid UTF-8, reads back, and shows such characters as escapes rather than obeying them."""
    import csv
    import io
    from pathlib import Path

    from grader.render.console import Style as _Style
    from grader.render.console import print_report
    from grader.render.summary import write_gradebook_csv, write_summary_html
    from grader.store.gradebook import Gradebook

    report = build_report(assignment, set())
    report.name = "student-\udce9"
    report.problems += [Text(text) for text in ODD_TEXTS]
    report.findings.append(Finding(FindingRule.TEXT, 3, 1, detail=" | ".join(ODD_TEXTS[:-1])))
    for verdict in (report.cases[0], next(v for v in report.cases if v.visibility != "visible")):
        verdict.status, verdict.score, verdict.notes = CaseStatus.FAILED, 0.0, [Text(text) for text in ODD_TEXTS]
        verdict.diagnosis = Diagnosis(
            DiagnosisKind.MISTAKE, "m", ODD_TEXTS[3], ODD_TEXTS[0], ODD_TEXTS[4], place=Place(1, 1, "x")
        )
    folder = tmp_path / "out"
    write_submission_reports(report, folder / "student", assignment)
    with Gradebook(folder / "gradebook.sqlite") as book:
        book.record(report)
        stored = book.rows()[0].submission_report()
        write_gradebook_csv(book, folder / "gradebook.csv", assignment)
        write_summary_html(book, folder / "summary.html", assignment)
    assert [p.text for p in stored.problems[-len(ODD_TEXTS) : -1]] == [
        "lone \\ud800 surrogate",
        "a file name's byte \\xe9",
        *ODD_TEXTS[2:-1],
    ]  # kept as stored, but valid UTF-8
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".md", ".html", ".csv"))
    assert [p.relative_to(folder).as_posix() for p in files] == [
        "gradebook.csv",
        "student/feedback.html",
        "student/feedback.md",
        "student/results.json",
        "summary.html",
    ]
    texts = {p.name: p.read_bytes().decode("utf-8") for p in files}  # strict: valid UTF-8 or it raises
    assert {name: UNSHOWABLE.findall(text) for name, text in texts.items()} == {name: [] for name in texts}
    assert all(word in texts["feedback.md"] for word in ("\\ud800", "\\x00", "\\x1b[2J", "\\u202e", "x" * 100))
    results = json.loads(texts["results.json"])
    assert "\\ud800" in results["tests"][0]["output"] and "\\x00" in results["output"]
    assert _page(texts["feedback.html"]).having("h1")
    assert [row[0] for row in csv.reader(io.StringIO(texts["gradebook.csv"]))] == ["name", "student-\\xe9"]
    assert "\\ud800" in texts["summary.html"]
    terminal = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    print_report(report, assignment, Path("caf\udce9.ipynb"), "", _Style(True), out=terminal)
    terminal.flush()
    printed = terminal.buffer.getvalue().decode("utf-8")
    assert "\\x1b[2J" in printed and "\\ud800" in printed and "caf\\xe9.ipynb" in printed
    assert UNSHOWABLE.findall(re.sub(r"\x1b\[[0-9;]*m", "", printed)) == []  # the printer's colours only


def test_the_jupyter_check_shows_a_failing_case_without_a_diagnosis(assignment, tmp_path):
    """check()'s HTML names a function's first failing case even when none of its cases has a likely cause
    (a timeout, or a difference nothing localises): `first` of no diagnosis stopped the template."""
    from grader.render.jupyter import check_html

    report = build_report(assignment, set())
    verdict = report.cases[0]
    verdict.status, verdict.score, verdict.notes = CaseStatus.TIMEOUT, 0.0, [Text("ran out of time")]
    html = check_html(report, assignment, tmp_path / "n.ipynb", "", "", [])
    assert f"✗ {verdict.description}: ran out of time" in html.replace("&#39;", "'")
    assert "Likely cause" not in html


# Kinds whose public words name no number of the answer's either.
HIDDEN_ONLY_WORDS = {
    Kind.MISSING_KEY,
    Kind.EXTRA_KEY,
    Kind.INPUT_CHANGED,
    Kind.CUT,
    Kind.NOT_FINITE,
    Kind.TYPE,
    Kind.RAISED,
}


@pytest.mark.parametrize("kind", list(Kind))
def test_a_hidden_case_words_no_number_the_code_chose(kind):
    """Every kind of difference on a hidden case: no length, shape, count, position or line the code
    could have chosen to carry what it read from the hidden inputs (the kernel picked 8017 and 7919)."""
    from grader.model.differences import Difference

    chosen = Difference(
        kind, path=(1, 0), expected=3, got=8017, what="list", at=(7919, 8017), count=7919, total=8017, line=7919
    )
    hidden = describe(chosen, public=False, names=("parameters", "costs"))
    assert "8017" not in hidden and "7919" not in hidden, hidden
    assert "8017" in describe(chosen, public=True, names=("parameters", "costs")) or kind in HIDDEN_ONLY_WORDS


def test_a_difference_reads_the_same_after_a_trip_through_json():
    """Workers and the gradebook send reports as JSON: a shape comes back a tuple, worded as before."""
    from grader.model.differences import Difference

    shape = Difference(Kind.SHAPE, path=(0,), expected=(4, 1), got=(1,))
    again = Difference.from_dict(json.loads(json.dumps(dataclasses.asdict(shape))))
    assert again == shape
    assert describe(again, True, ("W1",)) == "W1 has shape (1,), expected (4, 1)"


def test_rule_findings_show_their_code_as_code_and_say_which_cost_points(assignment, tmp_path):
    """A rule's words put code between backticks: the HTML shows it as <code>, the Markdown as a code span
    (never a literal backtick in the HTML); the heading says which findings cost points and which are advice."""
    report = build_report(assignment, set())
    report.findings.append(
        Finding(FindingRule.GLOBAL_READ, 30, 62, function="L_layer_model", name="parameters", set_in=19)
    )
    report.findings.append(Finding(FindingRule.SYNTAX_ERROR, 17, 3, function="two_layer_model", detail="bad"))
    write_submission_reports(report, tmp_path, assignment)
    html, markdown = (tmp_path / "feedback.html").read_text(), (tmp_path / "feedback.md").read_text()
    assert "reads <code>parameters</code>, a variable" in html and "`parameters`" not in html
    assert "reads `parameters`, a variable of the notebook" in markdown
    for text in (html, markdown):
        assert "do not cost points here" not in text
        assert "costs points where it makes cases fail" in text and "advice" in text


def test_the_counts_of_passed_cases_agree_in_number():
    from grader.render.feedback import cases_passed, environment

    assert cases_passed(1, 1, "public") == "the public case passed"
    assert cases_passed(4, 4, "public") == "all 4 public cases passed"
    assert cases_passed(0, 1) == "0 of 1 case passed" and cases_passed(2, 3) == "2 of 3 cases passed"
    line = environment().from_string('{{ cases_passed(1, 1, "public")|capitalize }}.').render()
    assert line == "The public case passed."
