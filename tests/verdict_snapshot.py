"""Every corpus of tests/, graded by `grader grade` and checked by `grader check`, as one JSON snapshot:
verdicts, scores, named mistakes and the words of every report. Two snapshots, one taken before a
change and one after, say whether the change moved any of them.

    python -m tests.verdict_snapshot OUT.json          grade everything, write the snapshot
    python -m tests.verdict_snapshot --diff A.json B.json   what differs between two snapshots

It is a tool for a refactoring's note, not a test (grading every corpus takes minutes).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TIMING = re.compile(r"\d+(\.\d+)? ?(s|seconds)\b")  # durations change from run to run
CHECKED = 8  # notebooks per assignment also run through `grader check` against the release bundle


def _corpora(folder: Path) -> dict[str, tuple[Path, list[Path]]]:
    """{assignment name: (assignment folder, the notebooks to grade)}, every corpus written out."""
    sys.path.insert(0, str(ROOT))
    from tests import hostile_corpus, intake_corpus, mistakes_corpus, step_by_step_corpus, toy_corpus

    app, step, toy = folder / "dnn_app", folder / "step", folder / "toy"
    for place in (app, step, toy):
        place.mkdir(parents=True)
    toy_assignment = toy_corpus.copy_assignment(folder / "assignments")  # with its generated data file
    written = [
        *hostile_corpus.write_corpus(app / "hostile", folder / "outside").values(),
        *mistakes_corpus.write_corpus(app / "mistakes").values(),
        *mistakes_corpus.write_corpus(app / "families", mistakes_corpus.FAMILY_BATCH).values(),
        *intake_corpus.write_intake_corpus(app / "intake").values(),
    ]
    step_written = list(step_by_step_corpus.write_corpus(step / "mistakes").values())
    (step / "families").mkdir()
    step_by_step_corpus.write_families(step / "families")
    step_written += sorted((step / "families").glob("*.ipynb"))
    toy_corpus.write_wrong(toy)
    for place, assignment in (
        (app, ROOT / "assignments" / "dnn_app"),
        (step, ROOT / "assignments" / "dnn_step_by_step"),
        (toy, toy_assignment),
    ):
        _solution_and_blank(assignment, place)
    return {
        "dnn_app": (ROOT / "assignments" / "dnn_app", [app]),
        "dnn_step_by_step": (ROOT / "assignments" / "dnn_step_by_step", [step]),
        "toy": (toy_assignment, [toy]),
    } | {"_written": (folder, written + step_written)}


def _solution_and_blank(assignment: Path, place: Path) -> None:
    from grader.assignment.manifest import load_assignment
    from grader.assignment.released import released_notebook

    found = load_assignment(assignment)
    (place / "solution.ipynb").write_bytes((assignment / found.solution).read_bytes())
    nbformat.write(released_notebook(found), place / "blank.ipynb")


def _masked(text: str) -> str:
    return TIMING.sub("<time>", text)


def _graded(assignment: Path, paths: list[Path], out: Path) -> dict:
    """Grade `paths` into `out`; each submission's results.json and feedback.md, masked."""
    command = [
        sys.executable,
        "-m",
        "grader",
        "grade",
        *map(str, paths),
        "--assignment",
        str(assignment),
        "--out",
        str(out),
        "--quiet",
        "--workers",
        "2",
        "--case-seconds",
        "5",
        "--submission-seconds",
        "30",
        "--memory-mb",
        "1024",
        "--processes",
        "64",
    ]
    subprocess.run(command, capture_output=True, text=True, timeout=3600)
    found = {}
    for results in sorted(out.glob("*/results.json")):
        document = json.loads(results.read_text())
        document.pop("execution_time", None)
        feedback = results.with_name("feedback.md")
        found[results.parent.name] = {
            "results": json.loads(_masked(json.dumps(document, sort_keys=True))),
            "feedback": _masked(feedback.read_text()) if feedback.exists() else None,
        }
    return found


def _checked(assignment: Path, notebooks: list[Path], bundle: Path) -> dict:
    """`grader check` on a few notebooks against the release bundle: the student's terminal text."""
    subprocess.run(
        [sys.executable, "-m", "grader", "release", "--assignment", str(assignment), "--out", str(bundle)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    found = {}
    for notebook in notebooks[:CHECKED]:
        done = subprocess.run(
            [sys.executable, "-m", "grader", "check", str(notebook), "--assignment", str(bundle), "--color", "never"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        found[notebook.stem] = {"status": done.returncode, "out": _masked(done.stdout)}
    return found


def snapshot(out_file: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="grader-snapshot-") as scratch:
        folder = Path(scratch)
        corpora = _corpora(folder / "corpora")
        corpora.pop("_written")
        taken = {}
        for name, (assignment, paths) in corpora.items():
            notebooks = sorted(p for path in paths for p in path.rglob("*.ipynb"))
            taken[name] = {
                "graded": _graded(assignment, paths, folder / "out" / name),
                "checked": _checked(assignment, [p for p in notebooks if p.is_file()], folder / "bundle" / name),
            }
            print(f"{name}: {len(taken[name]['graded'])} graded", file=sys.stderr)
    out_file.write_text(json.dumps(taken, indent=1, sort_keys=True) + "\n")


def diff(before: Path, after: Path) -> int:
    """Print what differs, submission by submission; 0 when nothing does."""
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    differing = 0
    for assignment in sorted(set(a) | set(b)):
        for part in ("graded", "checked"):
            left, right = a.get(assignment, {}).get(part, {}), b.get(assignment, {}).get(part, {})
            for name in sorted(set(left) | set(right)):
                if left.get(name) != right.get(name):
                    differing += 1
                    print(f"--- {assignment} {part} {name}")
                    print(json.dumps(left.get(name), indent=1, sort_keys=True)[:3000])
                    print(f"+++ {assignment} {part} {name}")
                    print(json.dumps(right.get(name), indent=1, sort_keys=True)[:3000])
    print(f"{differing} submissions differ", file=sys.stderr)
    return 1 if differing else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--diff":
        sys.exit(diff(Path(sys.argv[2]), Path(sys.argv[3])))
    if len(sys.argv) == 2:
        snapshot(Path(sys.argv[1]))
        sys.exit(0)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
