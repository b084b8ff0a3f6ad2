"""`grader bench`: how fast check and grade are, against running the whole notebook.

All figures come from one process on this machine, so the ratios are what to read: the
baseline is executing the solution notebook top to bottom with nbclient, as a grader that runs
everything would.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from grader.assignment.manifest import Assignment


def _whole_notebook_seconds(assignment: Assignment, data_dir: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="grader-bench-") as folder:
        for name in assignment.support:
            source = assignment.folder / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, Path(folder) / name)
        notebook = nbformat.read(assignment.folder / assignment.solution, as_version=4)
        previous = os.environ.get("DNN_DATA_DIR")
        os.environ["DNN_DATA_DIR"] = str(data_dir)
        os.environ.setdefault("MPLBACKEND", "agg")
        try:
            began = time.perf_counter()
            NotebookClient(notebook, timeout=1800, kernel_name="python3",
                           resources={"metadata": {"path": folder}}).execute()
            return time.perf_counter() - began
        finally:
            if previous is None:
                os.environ.pop("DNN_DATA_DIR", None)
            else:
                os.environ["DNN_DATA_DIR"] = previous


def _data_dir(explicit: str | None, scratch: Path) -> tuple[Path, str]:
    folder = explicit or os.environ.get("DNN_DATA_DIR")
    if folder:
        folder = Path(folder).resolve()  # the notebook runs in another folder
        if not (folder / "train_catvnoncat.h5").is_file():
            raise FileNotFoundError(f"{folder} holds no train_catvnoncat.h5: point --data or DNN_DATA_DIR at the "
                                    "dataset folder, or unset it to use a synthetic dataset")
        return folder, str(folder)
    from reference.synthetic import write_synthetic_dataset

    return write_synthetic_dataset(scratch / "synthetic"), "synthetic"


def _make_batch(assignment: Assignment, folder: Path, count: int) -> None:
    """`count` distinct copies of the solution notebook (a comment makes each file's hash unique)."""
    import nbformat

    notebook = nbformat.read(assignment.folder / assignment.solution, as_version=4)
    folder.mkdir(parents=True)
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    original = first_code.source
    for number in range(count):
        first_code.source = f"# submission {number}\n" + original
        nbformat.write(notebook, folder / f"student_{number:03d}.ipynb")


def run_bench(args: argparse.Namespace, assignment: Assignment) -> int:
    from grader.cli import main as grader_main

    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as scratch_name:
        scratch = Path(scratch_name)
        solution = assignment.folder / assignment.solution
        sandbox_flag = [] if not getattr(args, "no_sandbox", False) else ["--no-sandbox"]

        began = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            grader_main(["check", str(solution), "--assignment", str(assignment.folder), "--color", "never",
                         *sandbox_flag])
        figures["check_seconds"] = round(time.perf_counter() - began, 2)

        if not args.skip_baseline:
            data_dir, label = _data_dir(args.data, scratch)
            figures["baseline_data"] = label
            figures["whole_notebook_seconds"] = round(_whole_notebook_seconds(assignment, data_dir), 2)
            figures["check_speedup"] = round(figures["whole_notebook_seconds"] / figures["check_seconds"], 1)

        batch = scratch / "batch"
        _make_batch(assignment, batch, args.submissions)
        began = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            grader_main(["grade", str(batch), "--assignment", str(assignment.folder), "--out", str(scratch / "out"),
                         "--workers", str(args.workers), "--quiet", *sandbox_flag])
        seconds = time.perf_counter() - began
        figures["batch_submissions"] = args.submissions
        figures["batch_workers"] = args.workers
        figures["batch_seconds"] = round(seconds, 2)
        figures["submissions_per_minute"] = round(60 * args.submissions / seconds, 1)
        if "whole_notebook_seconds" in figures:
            figures["batch_speedup_vs_whole_notebooks"] = round(
                figures["whole_notebook_seconds"] * args.submissions / args.workers / seconds, 1)
    print(json.dumps(figures, indent=1))
    return 0
