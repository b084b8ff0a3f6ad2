"""Helpers the test files share (the pytest fixtures themselves live in conftest.py, which uses these):
where the checkout and the assignment are, the sandbox a kernel test needs, submissions to grade and
the `grader grade` command, made records, readers of what a batch wrote, and what must never leak.
Test files import from here (or from a corpus module), never from one another."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.judge.expected import ExpectedValues
from grader.model import CaseStatus, CaseVerdict, Isolation, SubmissionReport, SubmissionStatus, Visibility
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.store.gradebook import Gradebook

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_DIR = ROOT / "assignments" / "dnn_app"
SOLUTION = ASSIGNMENT_DIR / "dnn_app_solution.ipynb"
FUNCTIONS = ("two_layer_model", "L_layer_model")


# --- the sandbox: a test that runs student code needs it, and says so when there is none ------------


def needed(reason: str) -> None:
    """A test cannot run here: it fails under CI (CI=true) and skips elsewhere, saying why."""
    if os.environ.get("CI"):
        pytest.fail("CI must run this test, but it " + reason)
    pytest.skip(reason)


def proven_sandbox():
    """The bubblewrap sandbox, proven by its probe (the checkout and dnn_app hidden), before a test runs
    any student code. Without one a test fails under CI (CI=true) and skips elsewhere, with the reason."""
    from grader.kernel import zygote
    from grader.kernel.isolation import bubblewrap, forked
    from grader.kernel.sandbox import hidden_folders
    from grader.model.isolation import Unavailable
    from grader.render.isolation import unavailable_text

    hidden = hidden_folders((ASSIGNMENT_DIR,))
    found = bubblewrap(hidden)
    if isinstance(found, Unavailable):
        needed(f"runs student code, which needs the sandbox, and there is none here: {unavailable_text(found)}")
    if zygote.wanted():  # GRADER_KERNEL_START=zygote: the same tests, each kernel forked from a zygote
        found = forked(found, hidden)
        if isinstance(found, Unavailable):
            needed(f"asks for kernels forked from a zygote, which cannot be had here: {unavailable_text(found)}")
    return found


# --- printed lines ---------------------------------------------------------------------------------


def printed(text: str, want: str) -> bool:
    """Does `text` hold the line `want`? Its floats may differ by another NumPy's rounding (the stale tolerance)."""
    from grader.judge.compare import same_line
    from grader.judge.expected import STALE_ATOL, STALE_RTOL

    return any(same_line(line, want, STALE_RTOL, STALE_ATOL) for line in text.splitlines())


def printed_lines(got: list[str], want: list[str]) -> bool:
    """The same lines in the same order, floats compared within the stale tolerance."""
    from grader.judge.compare import same_line
    from grader.judge.expected import STALE_ATOL, STALE_RTOL

    pairs = zip(got, want, strict=False)
    return len(got) == len(want) and all(same_line(g, w, STALE_RTOL, STALE_ATOL) for g, w in pairs)


# --- submissions to grade, and `grader grade` as an instructor runs it -------------------------------

# The L-layer update written with the course's default rate instead of the argument: the public
# case with another rate fails, and so do the hidden cases with other rates.
HARD_CODED_RATE = (
    "parameters = update_parameters(parameters, grads, learning_rate)",
    "parameters = update_parameters(parameters, grads, 0.0075)",
)


def write_broken(path: Path, function: str = "L_layer_model") -> Path:
    """A copy of the solution whose `function` ignores its learning rate."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith(f"# GRADED FUNCTION: {function}"):
            assert HARD_CODED_RATE[0] in cell.source
            cell.source = cell.source.replace(*HARD_CODED_RATE)
    nbformat.write(notebook, path)
    return path


def write_unwritten(path: Path) -> Path:
    """A copy of the solution whose graded functions raise at once: gradable, and quick to grade."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith("# GRADED FUNCTION:"):
            assert "    np.random.seed(1)\n" in cell.source
            cell.source = cell.source.replace(
                "    np.random.seed(1)\n", "    raise NotImplementedError('not yet')\n", 1
            )
    nbformat.write(notebook, path)
    return path


def grade_command(*args: str, assignment: Path = ASSIGNMENT_DIR) -> list[str]:
    """`python -m grader grade` with an assignment (the project's by default), as an instructor would run it."""
    return [sys.executable, "-m", "grader", "grade", "--assignment", str(assignment), "--quiet", *args]


def grade_cli(
    *args: str,
    cwd: Path,
    timeout: float = 300,
    env_drop: tuple = (),
    assignment: Path = ASSIGNMENT_DIR,
    env_add: dict | None = None,
) -> subprocess.CompletedProcess:
    """grade_command run to its end, its output captured; `env_add` sets variables for it."""
    return subprocess.run(
        grade_command(*args, assignment=assignment),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**environment(env_drop), **(env_add or {})},
    )


def environment(drop: tuple = ()) -> dict:
    """This environment, with the checkout importable and without the variables in `drop`."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# --- made records, and readers of what a batch wrote -------------------------------------------------


def make_report(
    name: str,
    sha: str = "1" * 64,
    passed: tuple = (True, True, True, True),
    version: str = "1",
    status: str = "graded",
    mistake: str | None = None,
) -> SubmissionReport:
    """A small report: two cases per function, 25 points each; `passed` says which cases passed."""
    report = SubmissionReport(
        name=name,
        path=f"/submissions/{name}.ipynb",
        sha256=sha,
        assignment="dnn_app",
        assignment_version=version,
        status=SubmissionStatus(status),
        isolation=Isolation.SANDBOX,
        seconds=1.0,
    )
    for index, ok in enumerate(passed):
        function = FUNCTIONS[index // 2]
        verdict = CaseVerdict(
            case_id=f"{function}/case-{index % 2}",
            function=function,
            description=f"case {index % 2} of {function}",
            visibility=Visibility.HIDDEN if index % 2 else Visibility.VISIBLE,
            status=CaseStatus.PASSED if ok else CaseStatus.FAILED,
            score=25.0 if ok else 0.0,
            max_score=25.0,
        )
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
    shown = {
        "mistake": found.mistake,
        "title": words.title,
        "explanation": words.explanation,
        "fix": words.fix,
        "also_possible": list(found.also_possible),
        "parameter": found.parameter or None,
        "evidence": {"fitted": "fitted+confirmed", "stated": "static+confirmed"}.get(str(found.evidence)),
    }
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


# --- what must never leak: a hidden case's numbers and recipe -----------------------------------------


def number_strings(value: float) -> list[str]:
    """The ways a report could print `value`, keeping only forms specific enough to search for."""
    forms = {format(float(value), spec) for spec in (".6g", ".8g", ".10g")} | {repr(float(value))}
    return sorted(f for f in forms if len(re.sub(r"e.*$", "", f).replace("-", "").replace(".", "").lstrip("0")) >= 5)


def case_numbers(values: dict, count: int = 6) -> list[str]:
    """Number strings of the first entries of every expected array of one case."""
    arrays = [*values.parts["parameters"].values(), values.parts["costs"], *values.inputs.values()]
    found = []
    for array in arrays:
        for value in np.ravel(np.asarray(array, dtype=np.float64))[:count]:
            found += number_strings(value)
    return found


def hidden_secrets(assignment) -> dict[str, list[str]]:
    """Per hidden case: strings that would give it away (its recipe, its globals, its expected numbers)."""
    expected = ExpectedValues(assignment)
    secrets = {}
    for case in assignment.cases():
        if case.visibility == "visible":
            continue
        found = [
            json.dumps(case.recipe),
            json.dumps(case.recipe.get("arrays")),
            "randn",
            "bernoulli",
            "case_images.h5",
            '"seed"',
        ]
        for name, value in case.misleading_globals.items():
            found += [json.dumps({name: value})[1:-1], str(value) if isinstance(value, list) else f"{name}={value}"]
        found += case_numbers(expected.for_case(case.id))
        secrets[case.id] = found
    return secrets


def leaks(files: list[Path], secrets: dict[str, list[str]]) -> list[str]:
    """Which secret strings appear in which report file (empty: nothing leaked)."""
    found = []
    for path in files:
        text = path.read_text()
        for case_id, strings in secrets.items():
            found += [f"{path.name}: {case_id}: {s!r}" for s in strings if s in text]
    return found
