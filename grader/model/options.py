"""How one submission is graded: which cases, how its kernels run, under which limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.model.limits import Limits


@dataclass
class GradeOptions:
    """What the caller decides about grading a submission (the pool, a Dask worker, check, Gradescope)."""

    public_only: bool = False  #: only the public cases (the self-check)
    trim_setup: bool = False  #: run only the setup statements the graded cells need (grader.grading.needed)
    execute_all: bool = False  #: run the whole notebook, not only the setup and graded cells
    sandbox: Any = None  #: the kernel's launcher (grader.kernel.isolation chooses it); None: as the grader's user
    limits: Limits | None = None  #: what the kernel may use (None: the assignment's limits)
    data_dir: Path | None = None  #: the dataset folder for execute_all
    name: str | None = None  #: the submission's name in the reports (default: the file's stem)
    no_sandbox: bool = False  #: the command said --no-sandbox (a Dask worker then runs kernels unisolated too)
    phases: bool = False  #: measure the CPU of each phase into the report (`grader bench`; costs a few ms)
    #: the first kernel, started ahead for this submission (a grader.kernel.ahead.WarmKernel, whose take()
    #: gives its folder and session once started); None: started when the first case needs it
    kernel: Any = None
    ahead: bool = False  #: start the next submission's kernel while this one is graded (a batch's worker)
