"""Grading on a Dask cluster: each task grades one submission on a worker, with the same engine as
the local pool (sandboxed kernel, limits, comparison outside the kernel).

Workers need not share a file system with the client: the submission travels as bytes, and the
assignment folder (with the instructor modules its cases import) travels once, as a tar archive in
a worker plugin that every worker, including one started later, unpacks into a folder of its own.
The client stays the only writer of the gradebook; it records each result as it arrives.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import io
import logging
import multiprocessing.util
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager, suppress
from pathlib import Path

import dask.config
from distributed import Client, KilledWorker, LocalCluster, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from grader.assignment.manifest import Assignment
from grader.batch.collection import Submission
from grader.batch.pool import graded, unrun_report
from grader.errors import UserError
from grader.grading import GradeOptions
from grader.judge.catalogue import load_catalogue
from grader.judge.expected import ExpectedValues
from grader.model import SubmissionReport, SubmissionStatus
from grader.model.notes import Failure, GraderFailed

# A task whose worker died this many times is given up (KilledWorker): the submission gets an error
# row and the batch goes on. Dask counts a death against every task the worker held, so 2 leaves a
# second chance to a task that only shared a worker with the one that killed it.
ALLOWED_FAILURES = 2
WORKER_WAIT_SECONDS = 60  # a scheduler without workers would keep the batch waiting for ever
IN_FLIGHT_PER_WORKER = 4  # submissions handed to the scheduler ahead of need (their bytes wait there)

# For a LocalCluster the grader starts itself (its nannies hand the config to their worker processes).
# Dask's defaults sample each worker thread's stack every 10 ms, read the system's counters every
# 0.5 s and check each event loop every 20 ms in every scheduler, nanny and worker: diagnostics for
# a dashboard nobody opens, about a tenth of a batch's CPU. Nothing here schedules or restarts work.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "1s",  # under tick.limit (3 s), past which a slow loop is logged
}


# ----------------------------------------------------------------------------------------------
# The assignment, packed on the client and unpacked once on each worker


def _imported_names(folder: Path) -> set[str]:
    """The top-level module names that the assignment's own Python files import."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _clean(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Leave out byte-code caches; the worker's unpacked copy belongs to the worker's user."""
    if "__pycache__" in Path(info.name).parts:
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def assignment_place(assignment: Assignment) -> str:
    """Where the assignment folder goes in the archive: inside the `instructor_path` folder holding it, at
    the same place (instructor modules find the assignment's files from their own location, as the
    reference finds the support module in the checkout), or at `assignment/` when none holds it."""
    for number, folder in enumerate(assignment.instructor_paths):
        if assignment.folder.resolve().is_relative_to(folder.resolve()):
            return f"path{number}/{assignment.folder.resolve().relative_to(folder.resolve()).as_posix()}"
    return "assignment"


def pack_assignment(assignment: Assignment) -> bytes:
    """The assignment folder (at `assignment_place`), and from each `instructor_path` folder the modules and
    packages its Python files import, as `path<i>/` (not the whole checkout, nor the grader itself)."""
    wanted = _imported_names(assignment.folder) - {"grader"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for number, folder in enumerate(assignment.instructor_paths):
            archive.add(folder, arcname=f"path{number}", recursive=False, filter=_clean)
            for name in sorted(wanted):
                for entry in (folder / name, folder / f"{name}.py"):
                    if entry.exists():
                        archive.add(entry, arcname=f"path{number}/{entry.name}", filter=_clean)
        archive.add(assignment.folder, arcname=assignment_place(assignment), filter=_clean)
    return buffer.getvalue()


@dataclasses.dataclass
class _Unpacked:
    """What one worker process holds for one assignment."""

    assignment: Assignment
    options: GradeOptions
    expected: ExpectedValues | None
    error: str = ""
    isolation: str = ""  #: how this worker's kernels run, in words (or why it refuses to grade)


def _worker_launcher(options: GradeOptions, assignment: Assignment) -> tuple[GradeOptions, str, str]:
    """This worker's own isolation, proven here: (options with its launcher, how kernels run, refusal).
    A worker never grades less isolated than the client asked; the dedicated account is not used,
    since a worker's kernels run side by side with other workers' on the same machine."""
    from grader.assignment.preload import setup_modules
    from grader.kernel.isolation import kernel_launcher
    from grader.kernel.zygote import ZygoteSandbox
    from grader.render.errors import error_text
    from grader.render.isolation import describe

    try:
        launcher = kernel_launcher(
            own_code=False,
            no_sandbox=options.no_sandbox,
            allow_account=False,
            hidden=(assignment.folder, *assignment.instructor_paths),
            forking=True,
        )
    except UserError as refused:  # words made here: the worker's refusal travels to the client as text
        return options, "", error_text(refused)
    if isinstance(launcher, ZygoteSandbox):  # this worker's zygote preloads the setup cell's modules
        launcher = launcher.preloading(setup_modules(assignment))
    return dataclasses.replace(options, sandbox=launcher, ahead=True), describe(launcher), ""


_SHIPPED: dict[str, _Unpacked] = {}  # by the archive's sha256, in each worker process


class ShipAssignment(WorkerPlugin):
    """Unpacks the assignment once per worker and loads its expected values there."""

    def __init__(self, assignment: Assignment, options: GradeOptions):
        self.archive = pack_assignment(assignment)
        self.key = hashlib.sha256(self.archive).hexdigest()
        self.name = f"grader-assignment-{self.key[:16]}"
        self.assignment = assignment
        self.options = dataclasses.replace(options, sandbox=None)  # each worker proves its own isolation
        self.folder: Path | None = None

    def setup(self, worker=None) -> None:
        self.folder = _unpacked(self.key, self.archive)
        assignment = dataclasses.replace(
            self.assignment,
            folder=self.folder / assignment_place(self.assignment),
            instructor_paths=tuple(self.folder / f"path{n}" for n in range(len(self.assignment.instructor_paths))),
        )
        options, isolation, refusal = _worker_launcher(self.options, assignment)
        if refusal:
            _SHIPPED[self.key] = _Unpacked(assignment, options, None, refusal, isolation)
            return
        try:
            load_catalogue(assignment)  # loads here as on the client, or its diagnoses would be lost unseen
            _SHIPPED[self.key] = _Unpacked(assignment, options, ExpectedValues(assignment), "", isolation)
        except Exception as error:  # noqa: BLE001 - reported on each submission this worker is given
            _SHIPPED[self.key] = _Unpacked(assignment, options, None, f"{type(error).__name__}: {error}", isolation)

    def teardown(self, worker=None) -> None:
        """The folder stays until the process exits: the client registers the plugin again when a
        worker dies, and the modules this process imported from the folder (the instructor's
        packages, imported lazily by the cases' hooks) must still find their files."""
        _SHIPPED.pop(self.key, None)


_FOLDERS: dict[str, Path] = {}  # by the archive's sha256: unpacked once per worker process


def _unpacked(key: str, archive: bytes) -> Path:
    """The assignment's archive unpacked in this process (once: a plugin registered again reuses it),
    removed when the process exits."""
    folder = _FOLDERS.get(key)
    if folder is None or not folder.is_dir():
        folder = Path(tempfile.mkdtemp(prefix=f"grader-assignment-{key[:12]}-"))
        with tarfile.open(fileobj=io.BytesIO(archive)) as unpacking:
            unpacking.extractall(folder, filter="data")
        # A Dask worker is a multiprocessing child, which ends without atexit: its finalizers remove it.
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder, True), exitpriority=0)
        _FOLDERS[key] = folder
    return folder


def _file_name(name: str) -> str:
    """The submission's file name (its reports quote it), kept to one plain path component."""
    name = Path(name).name
    return name if name not in ("", ".", "..") else "submission.ipynb"


class WorkerRefused(RuntimeError):
    """This worker cannot isolate student code (or load the assignment), so it grades nothing."""

    def __init__(self, worker: str, why: str):
        super().__init__(worker, why)  # the arguments travel: Dask re-raises a copy on the client
        self.worker, self.why = worker, why

    def __str__(self) -> str:
        return f"the worker {self.worker} refuses to grade: {self.why}"


def _this_worker() -> str:
    try:
        return get_worker().address
    except ValueError:  # not inside a worker (a test calling the task directly)
        return "this process"


def grade_on_worker(key: str, name: str, notebook: bytes, file_name: str = "submission.ipynb") -> dict:
    """A Dask task: grade one submission, given as bytes, with the assignment this worker unpacked.
    Returns {"report": ..., "worker": address, "isolation": how its kernels run}."""
    shipped = _SHIPPED.get(key)
    if shipped is None:
        raise WorkerRefused(_this_worker(), "it has not received the assignment")
    if shipped.error:
        raise WorkerRefused(_this_worker(), shipped.error)
    with tempfile.TemporaryDirectory(prefix="grader-submission-") as folder:
        path = Path(folder) / _file_name(file_name)
        path.write_bytes(notebook)
        options = dataclasses.replace(shipped.options, name=name)
        report = graded(path, shipped.assignment, shipped.expected, options).to_dict()
    return {"report": report, "worker": _this_worker(), "isolation": shipped.isolation}


# ----------------------------------------------------------------------------------------------
# The client side


def _allow_failures(dask_scheduler, count: int) -> None:
    dask_scheduler.allowed_failures = count


@contextmanager
def connect(address: str) -> Iterator[Client]:
    """A client of the scheduler at `address`, or of a LocalCluster for "local:N"; closed on exit."""
    if address.startswith("local:"):
        count = int(address.split(":", 1)[1])
        # The kernels have their own memory limits: the nanny must not kill a worker for its kernel.
        # The scheduler always serves HTTP (health, metrics): on a free local port, not 8787 or the
        # warning that another cluster holds it.
        with (
            dask.config.set(LOCAL_CLUSTER_CONFIG),
            LocalCluster(
                n_workers=count,
                threads_per_worker=1,
                processes=True,
                memory_limit=0,
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    else:
        try:
            client = Client(address, timeout="30s")
        except (OSError, ValueError) as error:
            raise UserError(
                f"cannot reach the Dask scheduler at {address} ({error}): start it (dask scheduler) "
                "or check the address"
            ) from None
        with client:
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
            except TimeoutError:
                raise UserError(
                    f"no Dask worker joined the scheduler at {address} within {WORKER_WAIT_SECONDS} s: "
                    f"start some (dask worker {address})"
                ) from None
            yield client


def _register(client: Client, plugin: ShipAssignment, tries: int = 3) -> None:
    """Ship the assignment; a worker dying meanwhile fails the call, and a worker started later (the
    nanny's replacement) gets the plugin from the scheduler anyway, so try again."""
    for attempt in range(tries):
        try:
            client.register_plugin(plugin, name=plugin.name)
            return
        except OSError:  # CommClosedError is one: the worker went away during the call
            if attempt == tries - 1:
                raise


class DaskPool:
    """Runs submissions as Dask tasks; the same interface as grader.batch.pool.Pool."""

    def __init__(
        self,
        assignment: Assignment,
        options: GradeOptions,
        address: str,
        finish: Callable,
        work: Callable = grade_on_worker,
        allowed_failures: int = ALLOWED_FAILURES,
        notify: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    ):
        self.assignment, self.options, self.address, self.finish = assignment, options, address, finish
        self.work, self.allowed_failures, self.notify = work, allowed_failures, notify
        self._workers_said: set[str] = set()

    def _say_once(self, worker: str, text: str) -> None:
        """Each worker's isolation (or refusal), said the first time one of its results arrives."""
        if worker not in self._workers_said:
            self._workers_said.add(worker)
            self.notify(f"worker {worker}: {text}")

    def _failed(self, submission: Submission, problem: GraderFailed) -> SubmissionReport:
        return unrun_report(submission, self.assignment, SubmissionStatus.ERROR, problem, self.options)

    def _report(self, submission: Submission, future) -> SubmissionReport:
        try:
            result = future.result()
            self._say_once(result["worker"], f"kernels run: {result['isolation']}")
            return SubmissionReport.from_dict(result["report"])
        except WorkerRefused as refused:
            self._say_once(refused.worker, f"REFUSES to grade: {refused.why}")
            return self._failed(submission, GraderFailed(Failure.WORKER_REFUSED, refused.why, worker=refused.worker))
        except CancelledError:  # the scheduler is gone (or the client lost it): stop, keep what is committed
            raise UserError(
                f"lost the Dask scheduler at {self.address}; every result received so far is in "
                "the gradebook: run the same command again to grade the rest"
            ) from None
        except KilledWorker:
            return self._failed(submission, GraderFailed(Failure.WORKER_DIED, count=self.allowed_failures + 1))
        except Exception as error:  # noqa: BLE001 - one submission's failure never stops the batch
            return self._failed(submission, GraderFailed(Failure.EXCEPTION, f"{type(error).__name__}: {error}"))

    def run(self, submissions: list[Submission]) -> None:
        with connect(self.address) as client:
            client.run_on_scheduler(_allow_failures, count=self.allowed_failures)
            plugin = ShipAssignment(self.assignment, self.options)
            _register(client, plugin)
            try:
                window = IN_FLIGHT_PER_WORKER * max(1, sum(client.nthreads().values()))
                queue = iter(submissions)
                futures: dict = {}
                done = as_completed()

                def send(count: int) -> None:
                    for submission in (s for _, s in zip(range(count), queue, strict=False)):
                        future = client.submit(
                            self.work,
                            plugin.key,
                            submission.name,
                            submission.path.read_bytes(),
                            submission.path.name,
                            pure=False,
                        )
                        futures[future] = submission
                        done.add(future)

                send(window)
                for future in done:
                    submission = futures.pop(future)
                    self.finish(submission, self._report(submission, future))
                    future.release()
                    send(1)
            finally:  # a scheduler that outlives the batch does not hand the assignment to new workers
                with suppress(Exception):
                    client.unregister_worker_plugin(plugin.name)
