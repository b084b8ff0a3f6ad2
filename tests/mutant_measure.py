"""How well the Step by Step corpus's one-function mistakes are named, with and without the mutants.

The corpus: the catalogue's own mistakes (tests/step_by_step_corpus.py ENTRIES), its families'
members (MEMBERS), the uncatalogued slips (tests/step_by_step_slips.py SLIPS), and correct code
written otherwise (CORRECT, the decoy). Each notebook is graded by `grader grade`, once as the
assignment stands (its mutants stored) and once with `mutants_expected` taken out of a copy of its
manifest: the figures are how many mistakes a named diagnosis explains on their own function
(catalogued and mutant-named counted apart), how many are misnamed, how many correct variants are
told of a mistake, and the batch's seconds per submission each time.

Run `python -m tests.mutant_measure` for the figures (a few minutes: two batches of ~80 notebooks).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.model import SubmissionReport
from grader.model.diagnosis import Diagnosis, DiagnosisKind
from grader.render.diagnosis import diagnosis_words
from grader.store.gradebook import Gradebook
from tests.step_by_step_corpus import ENTRIES, FOLDER, MEMBERS, SOLUTION, _decoy, build
from tests.step_by_step_slips import CORRECT, SLIPS

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mistake:
    name: str  #: the notebook's name
    function: str  #: the only function it breaks
    expected: str  #: the catalogue id or family the feedback must name ("" for an uncatalogued slip)
    operator: str  #: for a slip: the operator of the mutant that models it ("" when none does)


def mistakes() -> list[Mistake]:
    found = [Mistake(e.mistake, e.function, e.mistake, "") for e in ENTRIES]
    found += [Mistake(m.name, m.function, m.family, "") for m in MEMBERS]
    found += [Mistake(s.name, s.function, "", str(s.operator or "")) for s in SLIPS]
    return found


def write(folder: Path) -> None:
    """Every mistake, correct variant and the decoy as notebooks in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    solution = nbformat.read(SOLUTION, as_version=4)
    for entry in ENTRIES:
        nbformat.write(build(entry, solution), folder / f"{entry.mistake}.ipynb")
    for member in MEMBERS:
        nbformat.write(member.notebook(solution), folder / f"{member.name}.ipynb")
    for slip in SLIPS + CORRECT:
        nbformat.write(slip.notebook(solution), folder / f"{slip.name}.ipynb")
    nbformat.write(_decoy(solution), folder / "ok-decoy.ipynb")


def grade(assignment: Path, batch: Path, out: Path) -> tuple[dict[str, SubmissionReport], float]:
    """The batch graded: {notebook name: report}, and the seconds it took."""
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            "--assignment",
            str(assignment),
            "--out",
            str(out),
            "--quiet",
            str(batch),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds = time.monotonic() - started
    assert done.returncode in (0, 1), done.stderr
    with Gradebook(out / "gradebook.sqlite") as book:
        return {row.name: row.submission_report() for row in book.rows()}, seconds


def without_mutants(folder: Path) -> Path:
    """A copy of the assignment whose manifest asks for no mutants."""
    copy = folder / "assignment"
    shutil.copytree(FOLDER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = copy / "assignment.toml"
    manifest.write_text(
        "".join(
            line for line in manifest.read_text().splitlines(keepends=True) if not line.startswith("mutants_expected")
        )
    )
    return copy


def named(report: SubmissionReport, function: str) -> list[Diagnosis]:
    return [
        v.diagnosis
        for v in report.cases
        if v.function == function and not v.passed and v.diagnosis is not None and v.diagnosis.named
    ]


def verdict(report: SubmissionReport, mistake: Mistake) -> tuple[str, str]:
    """("catalogue"/"mutant"/"", whether it is misnamed and the words) for one mistake's notebook."""
    found = named(report, mistake.function)
    if not found:
        return "", ""
    first = found[0]
    words = diagnosis_words(first).title + (f" [{first.place.code}]" if first.place else "")
    if first.kind == DiagnosisKind.MUTANT:
        slip = first.slip
        wrong = bool(mistake.expected) or bool(
            mistake.operator and slip is not None and slip.operator != mistake.operator
        )
        return "mutant", ("MISNAMED " if wrong else "") + words
    wrong = first.mistake != mistake.expected and not str(first.mistake).startswith(mistake.expected + "=")
    return "catalogue", ("MISNAMED " if wrong or not mistake.expected else "") + f"{first.mistake}: {words}"


@dataclass
class Figures:
    """What the measurement found (the names of the notebooks concerned)."""

    catalogued: list[str]
    by_mutant: list[str]
    unnamed: list[str]
    misnamed: list[str]
    told: list[str]  #: correct variants told of a mistake (a failed case, or a named diagnosis)
    text: str
    collateral: list[str] = field(default_factory=list)  #: "mistake: function" for a correct function losing points


def report(after: dict, seconds: tuple[float | None, float]) -> Figures:
    lines = []
    sorted_out: dict[str, list[str]] = {"catalogue": [], "mutant": [], "": [], "misnamed": []}
    counts = {"catalogue": 0, "mutant": 0, "": 0}
    misnamed = 0
    for mistake in mistakes():
        how, words = verdict(after[mistake.name], mistake)
        counts[how] += 1
        misnamed += words.startswith("MISNAMED")
        sorted_out[how].append(mistake.name)
        if words.startswith("MISNAMED"):
            sorted_out["misnamed"].append(mistake.name)
        lines.append(f"  {mistake.name:38} {how or 'not named':10} {words}")
    total = len(mistakes())
    collateral = [
        f"{m.name}: {function}"
        for m in mistakes()
        for function, points in after[m.name].function_points.items()
        if function != m.function and after[m.name].function_scores[function] < points
    ]
    lines.append(
        f"correct functions that lose points in a one-function mistake's notebook: {len(collateral)} {collateral}"
    )
    correct = [s.name for s in CORRECT] + ["ok-decoy"]
    told = [
        name
        for name in correct
        if any(not v.passed or (v.diagnosis is not None and v.diagnosis.named) for v in after[name].cases)
    ]
    lines.append(
        f"one-function mistakes: {total}; named {counts['catalogue'] + counts['mutant']} "
        f"({100 * (counts['catalogue'] + counts['mutant']) / total:.0f} %): catalogued {counts['catalogue']}, "
        f"mutant-named {counts['mutant']}; not named {counts['']}; misnamed {misnamed}"
    )
    lines.append(f"correct variants: {len(correct)}; told of a mistake: {len(told)} {told}")
    uncatalogued = [m for m in mistakes() if not m.expected]
    by_mutant = sum(verdict(after[m.name], m)[0] == "mutant" for m in uncatalogued)
    lines.append(f"uncatalogued slips: {len(uncatalogued)}; named by a mutant: {by_mutant}")
    n = len(after)
    before = seconds[0]
    without = f"{before:.1f} s for {n} notebooks without the mutants ({before / n:.2f} s each), " if before else ""
    lines.append(f"grading: {without}{seconds[1]:.1f} s with them ({seconds[1] / n:.2f} s each)")
    text = "\n".join(lines)
    return Figures(
        sorted_out["catalogue"], sorted_out["mutant"], sorted_out[""], sorted_out["misnamed"], told, text, collateral
    )


def measure(compare: bool = True) -> Figures:
    """The figures; with `compare`, the batch is also graded without the mutants, for its seconds."""
    with tempfile.TemporaryDirectory(prefix="grader-mutant-measure-") as folder:
        base = Path(folder)
        write(base / "batch")
        before_seconds = grade(without_mutants(base), base / "batch", base / "before")[1] if compare else None
        after, after_seconds = grade(FOLDER, base / "batch", base / "after")
        return report(after, (before_seconds, after_seconds))


if __name__ == "__main__":
    print(measure().text)
