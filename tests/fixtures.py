"""Helpers several test files share (pytest fixtures themselves live in conftest.py): made records, and
readers of what a batch wrote. Test files import from here, never from one another."""

from __future__ import annotations

import csv
from pathlib import Path

from grader.model import CaseStatus, CaseVerdict, Isolation, SubmissionReport, SubmissionStatus, Visibility
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.store.gradebook import Gradebook

FUNCTIONS = ("two_layer_model", "L_layer_model")


def make_report(name: str, sha: str = "1" * 64, passed: tuple = (True, True, True, True), version: str = "1",
                status: str = "graded", mistake: str | None = None) -> SubmissionReport:
    """A small report: two cases per function, 25 points each; `passed` says which cases passed."""
    report = SubmissionReport(name=name, path=f"/submissions/{name}.ipynb", sha256=sha, assignment="dnn_app",
                              assignment_version=version, status=SubmissionStatus(status),
                              isolation=Isolation.SANDBOX, seconds=1.0)
    for index, ok in enumerate(passed):
        function = FUNCTIONS[index // 2]
        verdict = CaseVerdict(case_id=f"{function}/case-{index % 2}", function=function,
                              description=f"case {index % 2} of {function}",
                              visibility=Visibility.HIDDEN if index % 2 else Visibility.VISIBLE,
                              status=CaseStatus.PASSED if ok else CaseStatus.FAILED, score=25.0 if ok else 0.0,
                              max_score=25.0)
        if not ok and mistake:
            verdict.diagnosis = Diagnosis(DiagnosisKind.MISTAKE, mistake, f"the {mistake} mistake")
        report.cases.append(verdict)
    for function in FUNCTIONS:
        report.function_points[function] = 50.0
        report.function_scores[function] = sum(v.score for v in report.cases_of(function))
    report.score = sum(report.function_scores.values())
    report.max_score = 100.0
    return report


def gradebook_rows(out: Path, assignment: str = "dnn_app") -> dict:
    """The rows a batch committed into out/gradebook.sqlite, by name."""
    with Gradebook(out / "gradebook.sqlite") as book:
        return {row.name: row for row in book.rows(assignment)}


def csv_rows(out: Path) -> dict:
    """The rows of out/gradebook.csv, by name."""
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def findings_of(notebook, assignment):
    """The submission rules a notebook breaks."""
    from grader.assignment.notebook import parse_notebook
    from grader.judge import rules

    return rules.check(parse_notebook(notebook, assignment.setup_marker), assignment)


def by_rule(findings, family: str):
    """The findings of one course rule (grader.model.report.RULE_FAMILIES' names)."""
    return [f for f in findings if f.family == family]


def message(finding) -> str:
    """A finding in words, as the reports show it."""
    from grader.render.findings import finding_text

    return finding_text(finding)


def printed_costs(text: str) -> dict[int, float]:
    """The costs a notebook printed ("Cost after iteration i: c"), by iteration."""
    found = {}
    for line in text.splitlines():
        if line.startswith("Cost after iteration "):
            iteration, value = line.removeprefix("Cost after iteration ").split(": ")
            found[int(iteration)] = float(value)
    return found


def said(verdict_or_diagnosis) -> dict:
    """A case's diagnosis as the student reads it, with the record's id and evidence: {} when there is none."""
    from grader.model import CaseVerdict
    from grader.render.diagnosis import diagnosis_words

    found = verdict_or_diagnosis.diagnosis if isinstance(verdict_or_diagnosis, CaseVerdict) else verdict_or_diagnosis
    if found is None:
        return {}
    public = verdict_or_diagnosis.public if isinstance(verdict_or_diagnosis, CaseVerdict) else True
    words = diagnosis_words(found, public)
    shown = {"mistake": found.mistake, "title": words.title, "explanation": words.explanation, "fix": words.fix,
             "also_possible": list(found.also_possible), "parameter": found.parameter or None,
             "evidence": {"fitted": "fitted+confirmed", "stated": "static+confirmed"}.get(str(found.evidence))}
    if found.place is not None:
        shown |= {"line": words.line, "place": words.place, "code": words.code}
    if found.first is not None and found.differing:
        shown["where"] = f"{found.first.kind.value}:{found.differing[0]}"
    return {key: value for key, value in shown.items() if value not in (None, "", [])} | {"mistake": found.mistake}


def problem_texts(report) -> list[str]:
    """A report's problems in words, as the reports show them."""
    from grader.render.notes import note_text

    return [note_text(problem) for problem in report.problems]


def messages(verdict, assignment=None) -> list[str]:
    """A case's messages in words, as the reports show them (with the assignment: its parts named as
    the manifest's `returns` and labels name them)."""
    from grader.render.verdicts import case_messages

    graded = next((f for f in getattr(assignment, "functions", ()) if f.name == verdict.function), None)
    if graded is None:
        return case_messages(verdict)
    return case_messages(verdict, tuple(graded.returns), tuple(graded.labels))
