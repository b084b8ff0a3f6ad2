"""A pytest plugin: `pytest --grade NOTEBOOK [--assignment DIR]` makes each grading case a test item.

The notebook is graded once, at collection, by the same engine and sandboxed kernel as
`grader grade` (one kernel for the whole notebook); each item then reports its case's verdict, a
failure with the very text the feedback shows. `--junitxml` turns that into per-case results for
CI. Without --grade the plugin does nothing at all: it is registered for every pytest run of the
environment (the `pytest11` entry point, named as the module so that `-p grader.pytest_plugin`
registers it once), the project's own test suite included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

OPTION = "grade"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "grade a notebook's cases as test items (the grader's plugin)")
    group.addoption(
        "--grade",
        dest=OPTION,
        metavar="NOTEBOOK",
        default=None,
        help="grade NOTEBOOK: one test item per grading case; nothing else is collected",
    )
    group.addoption(
        "--grade-no-sandbox",
        dest="grade_no_sandbox",
        action="store_true",
        default=False,
        help="run the notebook's kernel without isolation (as root: as an unprivileged account); "
        "without it, the kernel runs in the sandbox, or, where none exists and you are not "
        "root, under your own account, and the summary says so",
    )
    try:
        group.addoption(
            "--assignment",
            "--grade-assignment",
            dest="grade_assignment",
            metavar="DIR",
            default=None,
            help="the assignment folder (default: the nearest assignment.toml above the notebook)",
        )
    except ValueError:  # another plugin owns --assignment: keep ours under its long name only
        group.addoption(
            "--grade-assignment",
            dest="grade_assignment",
            metavar="DIR",
            default=None,
            help="the assignment folder (default: the nearest assignment.toml above the notebook)",
        )


def _grading(config: pytest.Config) -> bool:
    return bool(config.getoption(OPTION, default=None))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --grade, the cases are the only items: no test file is collected (or imported)."""
    return True if _grading(config) else None


class CaseFailed(Exception):
    """A case that did not pass; its text is the feedback's."""


class CaseItem(pytest.Item):
    """One grading case, already graded: running it only reports the verdict."""

    def __init__(self, *, verdict, text: str, notebook: Path, **kwargs):
        super().__init__(**kwargs)
        self.verdict, self.text, self.notebook = verdict, text, notebook

    def runtest(self) -> None:
        if not self.verdict.passed:
            raise CaseFailed(self.text)

    def repr_failure(self, excinfo, style=None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self):
        return self.notebook, None, self.name


def _grade(config: pytest.Config):
    """Grade the notebook once, as `grader grade` does (hidden cases too, unless given a bundle)."""
    from grader.assignment.locate import find_assignment
    from grader.errors import GraderError
    from grader.grading import GradeOptions, grade_one
    from grader.judge.expected import ExpectedValues
    from grader.kernel.isolation import Isolation, isolation_of, kernel_launcher, not_sandboxed_reason
    from grader.render.errors import error_text
    from grader.render.isolation import describe, unavailable_text

    notebook = Path(config.getoption(OPTION))
    if not notebook.is_file():
        raise pytest.UsageError(f"--grade {notebook}: no such notebook file")
    try:
        assignment = find_assignment(config.getoption("grade_assignment"), near=[notebook])
        expected = ExpectedValues(assignment)
        assignment.cases()
    except GraderError as error:
        raise pytest.UsageError(f"--grade: {error}") from None
    no_sandbox = bool(config.getoption("grade_no_sandbox", default=False))
    try:
        hidden = () if assignment.is_bundle else (assignment.folder, *assignment.instructor_paths)
        launcher = kernel_launcher(own_code=assignment.is_bundle, no_sandbox=no_sandbox, hidden=hidden)
    except GraderError as error:  # exit status 2, as the grader's own refusal
        pytest.exit(f"--grade: {error_text(error, 'add --grade-no-sandbox to the command')}", returncode=2)
    report = grade_one(notebook, assignment, expected, GradeOptions(public_only=assignment.is_bundle, sandbox=launcher))
    if isolation_of(launcher) != Isolation.NONE:
        config.stash[_NOTE] = f"graded isolated: {describe(launcher)}"
    elif no_sandbox:
        config.stash[_NOTE] = f"graded WITHOUT isolation (--grade-no-sandbox): {describe(launcher)}"
    else:
        why = not_sandboxed_reason(hidden)
        config.stash[_NOTE] = f"graded WITHOUT the sandbox, because {unavailable_text(why) if why else 'unknown'}"
    return notebook, report, assignment


_NOTE = pytest.StashKey[str]()
_INSTRUCTOR = pytest.StashKey[list[str]]()  #: what the catalogue's hooks raised, for the instructor


class NotebookCases(pytest.Collector):
    """The graded notebook as a collector: its children are its cases, already graded."""

    def __init__(self, *, items: list[dict], notebook: Path, **kwargs):
        super().__init__(**kwargs)
        self.items, self.notebook = items, notebook

    def collect(self) -> list[pytest.Item]:
        return [CaseItem.from_parent(self, notebook=self.notebook, **item) for item in self.items]

    def reportinfo(self):
        return self.notebook, None, self.name


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """The cases become the items, collected under the notebook (`name.ipynb::function::case`) and
    reported as collected, so that pytest counts and lists them as it does test files' items."""
    if not _grading(config):
        return
    from grader.render.feedback import case_text
    from grader.render.notes import hook_failed_text, note_text

    notebook, report, assignment = _grade(config)
    problems = [f"The notebook: {note_text(p)}" for p in report.problems] if report.status == "invalid" else []
    config.stash[_INSTRUCTOR] = [hook_failed_text(n, assignment.mistakes_file) for n in report.instructor_notes]
    cases = [
        {"name": item_name(verdict), "verdict": verdict, "text": "\n".join([case_text(verdict, assignment), *problems])}
        for verdict in report.cases
    ]
    collector = NotebookCases.from_parent(
        session, name=notebook.name, nodeid=notebook.name, items=cases, notebook=notebook
    )
    collected = config.hook.pytest_make_collect_report(collector=collector)
    config.hook.pytest_collectreport(report=collected)
    items[:] = [item for item in collected.result if isinstance(item, pytest.Item)]


def item_name(verdict) -> str:
    """`function::case`: the case's id without its function's prefix (the item's id is
    `notebook.ipynb::function::case`)."""
    case = verdict.case_id.removeprefix(f"{verdict.function}/")
    return f"{verdict.function}::{case}"


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _grading(config):
        return None
    return f"grader: one item per case of {config.getoption(OPTION)}, graded once at collection"


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    if _grading(config) and _NOTE in config.stash:
        terminalreporter.write_line(f"grader: {config.stash[_NOTE]}")
    for line in config.stash.get(_INSTRUCTOR, []) if _grading(config) else []:
        terminalreporter.write_line(f"grader: {line}")
