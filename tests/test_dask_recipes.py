"""The Slurm recipe of the documentation's Dask page, as printed there: its job script checks the
sandbox before any worker starts, and starts the workers the page describes. No Slurm is needed:
dask-jobqueue renders the job script without submitting it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue")

from tests.fixtures import ROOT, environment

PAGE = ROOT / "docs" / "dask.md"
SECTION = "## On Slurm"


def page_recipe() -> str:
    """The one Python block of the Dask page's Slurm section: the recipe."""
    text = PAGE.read_text()
    section = text[text.index(SECTION) :]
    end = section.find("\n## ", len(SECTION))  # the next section, if any
    section = section if end < 0 else section[:end]
    blocks = re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)
    assert len(blocks) == 1, f"the Slurm section should hold one Python block (the recipe), not {len(blocks)}"
    return blocks[0]


@pytest.fixture(scope="module")
def job_script() -> str:
    """The recipe run as an imported module (not as __main__, so nothing is submitted), and its job script."""
    scope = {"__name__": "slurm_workers"}
    exec(compile(page_recipe(), "docs/dask.md: slurm_workers.py", "exec"), scope)  # noqa: S102
    cluster = scope["cluster"]
    try:
        yield cluster.job_script()
    finally:
        cluster.close()


def _lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.strip() and not line.startswith("#")]


def _probe_line(script: str) -> str:
    found = [line for line in _lines(script) if "grader isolation" in line]
    assert len(found) == 1, script
    return found[0]


def _worker_line(script: str) -> str:
    found = [line for line in _lines(script) if "distributed.cli.dask_worker" in line]
    assert len(found) == 1, script
    return found[0]


def test_the_job_probes_the_sandbox_before_its_workers_start(job_script):
    lines = _lines(job_script)
    assert lines.index(_probe_line(job_script)) < lines.index(_worker_line(job_script))
    assert _probe_line(job_script).endswith("|| exit 1")
    assert "grader-env/bin/activate" in lines[0]  # the grader is importable before the probe runs


def test_the_workers_run_one_kernel_each_without_a_dask_memory_limit(job_script):
    from distributed.cli.dask_worker import main

    arguments = _worker_line(job_script).split("distributed.cli.dask_worker", 1)[1].split()
    params = main.make_context("dask worker", arguments).params  # parsed as `dask worker` would parse them
    assert params["nthreads"] == 1 and int(params["n_workers"]) == 8
    assert params["memory_limit"] == "0"  # the kernels have their own memory limit
    assert params["nanny"] is True  # a killed worker process is replaced
    assert params["scheduler"].startswith("tcp://")


def _python_only(folder: Path) -> Path:
    """A folder holding only `python` (this interpreter): a node without bubblewrap."""
    folder.mkdir()
    wrapper = folder / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return folder


def test_the_probe_passes_here_and_stops_the_job_without_bubblewrap(job_script, tmp_path):
    probe, bash = _probe_line(job_script), shutil.which("bash")
    python = _python_only(tmp_path / "bin")
    here = environment()
    here["PATH"] = f"{python}{os.pathsep}{here.get('PATH', '')}"
    passed = subprocess.run([bash, "-c", probe], env=here, capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0, passed.stderr
    without = {**here, "PATH": str(python)}
    stopped = subprocess.run(
        [bash, "-c", probe + "\necho the workers started"], env=without, capture_output=True, text=True, timeout=120
    )
    assert stopped.returncode == 1
    assert "the workers started" not in stopped.stdout
    assert "cannot be isolated here" in stopped.stderr
    assert "bubblewrap (the sandbox program) is not installed" in stopped.stderr
