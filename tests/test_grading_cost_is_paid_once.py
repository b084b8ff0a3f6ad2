"""The grader's side of a batch does its work once: a submission's curves are drawn once for both of
its pages, a picture shared by many submissions once per process, and the class summary and the
gradebook's listings once per batch, however many submissions it holds. `grader bench` splits a
submission's CPU into phases that add up to what the batch spent.

No kernel runs here: the pool is replaced by one that hands back reports at once.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
import threading
import weakref

import pytest

from grader.assignment.manifest import load_assignment
from grader.batch import pool as pool_module
from grader.batch import run as batch_run
from grader.batch.collection import Submission
from grader.batch.pool import unrun_report
from grader.grading import GradeOptions
from grader.grading.phases import PhaseClock, lap, phase_clock
from grader.model import SubmissionReport, SubmissionStatus
from grader.model.notes import NotRun
from grader.model.phases import PhaseCpu
from grader.render import plots
from grader.render.feedback import write_submission_reports
from grader.verbs.bench import phase_figures
from tests.fixtures import make_report
from tests.toy_corpus import SOLUTION


def _unrun(assignment, name: str = "student") -> SubmissionReport:
    """A report whose cases were not run: fit_line's public case shows the reference's curve alone."""
    submission = Submission(name=name, path=SOLUTION, source=str(SOLUTION), sha256="0" * 64)
    return unrun_report(submission, assignment, SubmissionStatus.ERROR, NotRun())


def test_a_submissions_curve_is_drawn_once_for_both_pages(toy_dir, tmp_path, monkeypatch):
    assignment = load_assignment(toy_dir)
    drawn = []
    original = plots.cost_curve_png
    monkeypatch.setattr(plots, "cost_curve_png", lambda *args: drawn.append(args[2]) or original(*args))
    write_submission_reports(_unrun(assignment), tmp_path / "student", assignment)
    assert drawn == ["fit_line: public test"]  # the one public case long enough for a curve
    assert "data:image/png;base64," in (tmp_path / "student" / "feedback.html").read_text()


def test_the_same_picture_is_drawn_once_per_process(toy_dir, tmp_path, monkeypatch):
    assignment = load_assignment(toy_dir)
    figures = []

    class CountedFigure(plots.Figure):
        def __init__(self, *args, **kwargs):
            figures.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(plots, "Figure", CountedFigure)
    plots._drawn.cache_clear()
    for number in range(3):
        write_submission_reports(_unrun(assignment, f"s{number}"), tmp_path / f"s{number}", assignment)
    pages = {(tmp_path / f"s{n}" / "feedback.html").read_text().split("base64,")[1][:200] for n in range(3)}
    assert len(figures) == 1 and len(pages) == 1


class _InstantPool:
    """Stands in for the worker pool: every submission finishes at once, with a report."""

    def __init__(self, assignment, options, workers, staging, finish):
        self.assignment, self.finish = assignment, finish

    def run(self, submissions):
        for submission in submissions:
            report = unrun_report(submission, self.assignment, SubmissionStatus.GRADED, NotRun())
            self.finish(submission, report)


@pytest.mark.parametrize("count", [2, 9])
def test_the_summary_and_listings_are_built_once_per_batch(toy_dir, tmp_path, monkeypatch, count):
    assignment = load_assignment(toy_dir)
    folder = tmp_path / "submissions"
    folder.mkdir()
    for number in range(count):
        text = SOLUTION.read_text().replace("import numpy as np", f"import numpy as np  # {number}", 1)
        (folder / f"student_{number}.ipynb").write_text(text)
    built = []
    for name in ("write_summary_html", "write_gradebook_csv"):
        real = getattr(batch_run, name)
        monkeypatch.setattr(batch_run, name, lambda *args, _real=real, _name=name: built.append(_name) or _real(*args))
    read_all = []
    real_rows = batch_run.Gradebook.rows
    monkeypatch.setattr(batch_run.Gradebook, "rows", lambda *a, **k: read_all.append(1) or real_rows(*a, **k))
    monkeypatch.setattr(batch_run, "Pool", _InstantPool)
    out = tmp_path / "out"
    batch = batch_run.Batch(assignment, GradeOptions(), out, tmp_path / "staging", paths=[folder], quiet=True)
    batch.run()
    assert sorted(built) == ["write_gradebook_csv", "write_summary_html"]
    assert len(read_all) <= 3  # the summary, the CSV and the closing line: not one per submission
    assert len(list(out.glob("student_*/feedback.html"))) == count


def test_phases_add_up_to_the_batchs_cpu():
    one = PhaseCpu(start=0.5, setup=0.6, code=0.05, cases=0.7, worker=0.2)
    summed = one + one + one
    assert dataclasses.astuple(summed.per(3)) == pytest.approx(dataclasses.astuple(one))
    assert summed.total == pytest.approx(3 * 2.05) and summed.kernel == pytest.approx(3 * 1.85)
    figures = phase_figures((summed, 3), cpu=3 * 2.3, submissions=3)
    breakdown = figures["phases_cpu_seconds_per_submission"]
    assert sum(breakdown.values()) == pytest.approx(2.3, abs=0.01)
    assert breakdown["grader_rest"] == pytest.approx(2.3 - one.total, abs=0.01)
    assert figures["limit_cpu_seconds_per_submission"] == pytest.approx(0.7 + 0.2 + breakdown["grader_rest"], abs=0.01)
    assert figures["ratio_to_limit"] == pytest.approx(2.3 / figures["limit_cpu_seconds_per_submission"], abs=0.01)
    assert "none" in phase_figures((PhaseCpu(), 0), cpu=1.0, submissions=1)["phases"]


def test_a_report_keeps_its_phases_through_the_gradebooks_json(toy_dir):
    report = _unrun(load_assignment(toy_dir))
    assert SubmissionReport.from_dict(report.to_dict()).phases is None  # measured only when asked
    report.phases = PhaseCpu(start=0.5, cases=0.25, worker=0.125)
    assert SubmissionReport.from_dict(report.to_dict()).phases == report.phases


BURN = (
    "import sys, time\nwhile time.process_time() < {seconds}: pass\n"
    "sys.stdout.write('done\\n'); sys.stdout.flush()\ninput()"
)


def _burning_child(seconds: float) -> subprocess.Popen:
    """A child that spends `seconds` of CPU, says so, and then waits (alive, idle) for a line."""
    child = subprocess.Popen(
        [sys.executable, "-c", BURN.format(seconds=seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "done\n"
    return child


def test_a_kernels_cpu_goes_to_the_phase_it_was_spent_in():
    with phase_clock(True) as clock:
        assert isinstance(clock, PhaseClock)
        lap("start")  # nothing runs below us yet
        child = _burning_child(0.4)
        try:
            lap("setup")
            lap("cases")  # the child is idle now
        finally:
            child.communicate("\n", timeout=30)
        record = clock.record()
    assert record.start < 0.1
    assert record.setup >= 0.35  # its whole burn, interpreter start included, in clock ticks
    assert record.cases < record.setup / 4


def test_without_a_clock_laps_cost_nothing_and_record_nothing():
    with phase_clock(False) as clock:
        lap("setup")  # no clock: nothing is read
    assert clock is None


def test_a_child_reaped_by_the_kernel_counts_for_the_kernel():
    """A kernel's short-lived children (a pip call, a subprocess) end before the next lap: their time
    reaches the kernel's counters when it waits for them."""
    code = (
        "import subprocess, sys\n"
        f"subprocess.run([sys.executable, '-c', {BURN.format(seconds=0.3)!r}], input='\\n', text=True,"
        " stdout=subprocess.DEVNULL)\n"
        "print('done', flush=True)\ninput()"
    )
    with phase_clock(True) as clock:
        assert clock is not None
        parent = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert parent.stdout is not None and parent.stdout.readline() == "done\n"
            lap("cases")
        finally:
            parent.communicate("\n", timeout=30)
    assert clock.record().cases >= 0.25


def test_bench_help_names_the_check_runs_and_the_phases():
    done = subprocess.run(
        [sys.executable, "-m", "grader", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0
    assert "--check-runs" in done.stdout and "phase by phase" in done.stdout


def test_the_bench_meter_counts_the_processes_below_it():
    from grader.verbs.bench import _CpuMeter

    with _CpuMeter() as idle:
        threading.Event().wait(1.0)  # ten samples of /proc, nothing else: its own sampling is left out
    with _CpuMeter() as busy:
        child = _burning_child(0.4)
        threading.Event().wait(0.5)  # idle, alive: sampled after its burn however late the sampler runs
        child.communicate("\n", timeout=30)
    assert idle.seconds < 0.1
    assert busy.seconds >= 0.35


def small_report(path: str, name: str) -> dict:
    """The work of the pool's workers in the test below: a report at once, no kernel."""
    return make_report(name).to_dict()


def test_the_pool_keeps_no_finished_submissions_report(toy_dir, tmp_path, monkeypatch):
    """Memory stays flat as a batch grows: a finished submission's result is dropped once stored."""
    yielded: list[weakref.ref] = []
    real = pool_module.as_completed

    def tracked(futures):
        for future in real(futures):
            yielded.append(weakref.ref(future))
            yield future

    alive = []

    def finish(submission, report):
        gc.collect()
        alive.append(sum(1 for ref in yielded[:-1] if ref() is not None))

    monkeypatch.setattr(pool_module, "as_completed", tracked)
    pool = pool_module.Pool(load_assignment(toy_dir), GradeOptions(), 1, tmp_path, finish, work=small_report)
    pool.run([Submission(f"s{n}", tmp_path / f"s{n}", f"s{n}", sha256="0" * 64) for n in range(4)])
    assert len(alive) == 4 and max(alive) == 0


def test_the_font_lists_are_found_without_importing_matplotlib(tmp_path):
    """Each kernel start binds the grader's matplotlib font lists; finding them must not cost the
    grader an import of matplotlib (only building a missing one does)."""
    (tmp_path / "fontlist-v390.json").write_text("{}")
    code = (
        "import sys; from grader.kernel import sandbox; found = sandbox._font_lists(); "
        "print([p.name for p in found], 'matplotlib' in sys.modules)"
    )
    env = dict(os.environ, MPLCONFIGDIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split("\n")[0] == "['fontlist-v390.json'] False"
