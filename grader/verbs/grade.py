"""`grader grade`: grade notebooks, folders and zips of them; write reports and a gradebook.

Results are kept in OUT/gradebook.sqlite as each submission finishes: running the same command
again grades only what is new or changed.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import tempfile
from pathlib import Path

from grader.assignment.locate import bundle_refusal
from grader.assignment.manifest import Assignment
from grader.batch.run import Batch, say
from grader.errors import UserError
from grader.grading import GradeOptions
from grader.judge.expected import ExpectedValues
from grader.model import Limits
from grader.store.gradebook import GradebookError


def grade_options(
    *,
    sandbox=None,
    limits: Limits | None = None,
    execute_all: bool = False,
    data: str | None = None,
    data_variable: str = "DATA_DIR",
    no_sandbox: bool = False,
    phases: bool = False,
) -> GradeOptions:
    """GradeOptions for a batch; running whole notebooks needs the dataset folder (`data`, else the
    environment variable the assignment's manifest names)."""
    data_dir = None
    if execute_all:
        folder = data or os.environ.get(data_variable)
        if not folder:
            raise UserError(
                "--execute all runs the whole notebook, which loads the dataset: pass --data DIR "
                f"or set {data_variable} to the folder holding it"
            )
        data_dir = Path(folder).resolve()
        if not data_dir.is_dir():
            raise UserError(f"the dataset folder {folder} (from --data or {data_variable}) does not exist")
    return GradeOptions(
        public_only=False,
        execute_all=execute_all,
        sandbox=sandbox,
        limits=limits,
        data_dir=data_dir,
        no_sandbox=no_sandbox,
        phases=phases,
    )


DASK_MISSING = (
    "--dask needs Dask's `distributed` package, which is not installed: pip install -e '.[dask]' "
    "(or pip install distributed), on this machine and on every worker"
)


def check_dask_address(address: str) -> None:
    """`local:N` or a scheduler's address (tcp://host:8786); distributed must be installed."""
    if importlib.util.find_spec("distributed") is None:
        raise UserError(DASK_MISSING)
    if address.startswith("local:"):
        count = address.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise UserError(f"--dask {address}: give local:N with N worker processes, e.g. local:4")
    elif "://" not in address and ":" not in address:
        raise UserError(f"--dask {address}: give the scheduler's address (tcp://host:8786) or local:N")


def _say_isolation(sandbox, no_sandbox: bool, dask: str | None) -> None:
    """One line when kernels are not sandboxed: how they run instead (an external cluster's workers
    each prove their own isolation, and the client prints what each one said)."""
    from grader.kernel.isolation import Isolation, isolation_of
    from grader.render.isolation import describe

    if dask and not dask.startswith("local:"):
        return
    kind = isolation_of(sandbox)
    if kind == Isolation.NONE:
        say(f"kernels run WITHOUT isolation (--no-sandbox): {describe(sandbox)}; every report says so")
    elif kind == Isolation.ACCOUNT:
        say(f"bubblewrap cannot run here, so kernels run as the {describe(sandbox)}, one at a time")


def grade(
    *,
    assignment: Assignment,
    paths: list[Path],
    out: Path = Path("graded"),
    workers: int = 2,
    execute_all: bool = False,
    data: str | None = None,
    regrade: bool = False,
    quiet: bool = False,
    sandbox=None,
    limits: Limits | None = None,
    dask: str | None = None,
    no_sandbox: bool = False,
    phases: bool = False,
) -> int:
    """Grade a batch. Returns 0 when every submission got its verdict (whatever the scores, refused
    files included), 1 when the grader failed on some (error rows: run again) or the batch could not
    run; bad input raises a UserError (exit status 2). `phases`: each report holds the CPU of each
    phase of its grading (for `grader bench`)."""
    if assignment.is_bundle:  # its public cases alone would give wrong scores, recorded as this version's
        raise UserError(bundle_refusal(assignment.folder))
    if workers < 1:
        raise UserError("--workers must be at least 1")
    if dask is not None:
        check_dask_address(dask)
    options = grade_options(
        sandbox=sandbox,
        limits=limits,
        execute_all=execute_all,
        data=data,
        data_variable=assignment.data_variable,
        no_sandbox=no_sandbox,
        phases=phases,
    )
    _say_isolation(sandbox, no_sandbox, dask)
    if getattr(sandbox, "dedicated", False):  # kernels of one account could reach each other: one at a time
        workers = 1
    ExpectedValues(assignment)  # fails now, with a clear message, when the expected values are missing
    try:
        assignment.cases()
    except Exception as error:  # noqa: BLE001 - an instructor's broken cases module stops the batch cleanly
        raise UserError(
            f"the assignment's cases cannot be loaded ({type(error).__name__}: {error}): fix its cases module"
        ) from None
    try:
        pickle.dumps(options)
    except Exception as error:  # noqa: BLE001 - pickling may raise anything
        say(f"the grading options cannot be sent to worker processes ({error})")
        return 1
    out = Path(out)
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: reports and the gradebook hold hidden cases
    except OSError as error:
        raise UserError(f"cannot create the output folder {out}: {error.strerror}; pass --out DIR") from None
    staging = Path(tempfile.mkdtemp(prefix="grader-batch-"))
    try:
        return Batch(
            assignment, options, out, staging, paths=paths, workers=workers, regrade=regrade, quiet=quiet, dask=dask
        ).run()
    except GradebookError as error:
        say(str(error))
        return 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
