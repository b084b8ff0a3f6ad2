"""The `grader` command: argument parsing only. Each verb is a function in grader.verbs called with
keyword arguments; errors derived from grader.errors.GraderError become one line and exit status 2 (bad input, for
every verb); 1 means the verb ran and something needs a look (check: a case failed; grade: the
grader failed on some submission).

Without --assignment, the assignment is the nearest assignment.toml beside or above the notebook
(or the paths to grade), else above the current folder.
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import sys
from pathlib import Path

from grader.assignment.locate import find_assignment
from grader.assignment.manifest import Assignment
from grader.errors import GraderError, UserError
from grader.model import Limits

ASSIGNMENT_HELP = (
    "assignment folder (default: the nearest assignment.toml beside or above the notebook, else above the "
    "current folder)"
)
CHECK_ASSIGNMENT_HELP = ASSIGNMENT_HELP.replace("assignment folder", "assignment folder or release bundle", 1)
FOLDER_ASSIGNMENT_HELP = "assignment folder (default: the nearest assignment.toml in or above the current folder)"

DESCRIPTION = """\
Grade Jupyter notebook assignments. Student code runs in its own sandboxed kernel; hidden cases
and expected values never enter it.

  grader release --assignment DIR --out release     build the student bundle (folder and zip)
  grader check NOTEBOOK                             the student's self-check on the public cases
  grader grade PATH... --assignment DIR --out DIR   grade notebooks, folders or zips
  grader expected --assignment DIR [--check]        regenerate (or verify) the expected values
  grader bench --assignment DIR                     time check and grade against whole notebooks
  grader gradescope --assignment DIR --out ZIP      build Gradescope's autograder.zip
  grader isolation                                  say how student code would be isolated here
  grader new NAME                                   scaffold an assignment folder

--assignment DIR is the instructor's assignment folder (assignments/dnn_app in the checkout); left
out, the nearest assignment.toml beside or above the notebook, else above the current folder, is
used (for check, the release bundle the notebook sits in). `grader VERB --help` says more.

Student code never runs without isolation unless the command says --no-sandbox: where the sandbox
(bubblewrap) cannot be built, grade stops with the cause and the fix (exit status 2).
"""


def _positive(kind):
    """An argparse type: a number of `kind` greater than zero."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not 0 < value < math.inf:  # nan and inf too: a limit that never applies, or always does
            raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, not {text}")
        return value

    return parse


# One row per option: (flags, argparse keyword arguments).
Options = tuple[tuple[tuple[str, ...], dict[str, object]], ...]


def _option(*flags: str, **settings: object) -> tuple[tuple[str, ...], dict[str, object]]:
    return flags, settings


ASSIGNMENT = _option("--assignment", help=ASSIGNMENT_HELP)
FOLDER_ASSIGNMENT = _option("--assignment", help=FOLDER_ASSIGNMENT_HELP)  # for the verbs given no notebook
CHECK_ASSIGNMENT = _option("--assignment", help=CHECK_ASSIGNMENT_HELP)
DATA_HELP = "(default: the folder in the environment variable the manifest names as data_variable"
LIMITS: Options = (
    _option("--case-seconds", type=_positive(float), help="wall-clock limit of one case"),
    _option("--submission-seconds", type=_positive(float), help="wall-clock limit of one submission"),
    _option("--cpu-seconds", type=_positive(int), help="CPU-time limit of the kernel process"),
    _option("--memory-mb", type=_positive(int), help="address-space limit of the kernel process"),
    _option("--processes", type=_positive(int), help="how many processes the kernel may have at once"),
    _option(
        "--output-bytes",
        type=_positive(int),
        help="characters of output kept per cell (ten times as much stops the cell as a flood)",
    ),
)
NO_SANDBOX = _option(
    "--no-sandbox",
    action="store_true",
    help="run kernels without isolation, on this command only (every report then says the kernel "
    "was not isolated; as root, kernels still run as an unprivileged account)",
)

# verb: (help, description, options, takes the [limits] overrides)
VERBS: dict[str, tuple[str, str, Options, bool]] = {
    "release": (
        "build the student bundle from the solution notebook",
        "Blank every YOUR CODE region of the solution notebook, clear its outputs, and copy the support files "
        "beside it: a folder and a zip holding nothing secret.",
        (
            FOLDER_ASSIGNMENT,
            _option(
                "--out",
                default="release",
                help="bundle folder to write (default: ./release); the zip is written beside it",
            ),
            _option(
                "--data",
                help="folder with the dataset files to ship in the bundle's datasets/ (default: none; "
                "students point the assignment's data variable at them)",
            ),
        ),
        False,
    ),
    "check": (
        "self-check a notebook on the public cases",
        "Run the public cases on a notebook and say, per graded function, what passed and what differs. Exit "
        "status: 0 all passed, 1 something failed, 2 the file cannot be graded.",
        (
            _option("notebook", help="the .ipynb file to check"),
            CHECK_ASSIGNMENT,
            _option(
                "--color",
                choices=["auto", "always", "never"],
                default="auto",
                help="colour the output: on a terminal (auto, the default), always, or never",
            ),
        ),
        True,
    ),
    "grade": (
        "grade submissions and write reports and a gradebook",
        "Grade notebooks on every case, public and hidden. PATH is a notebook, a folder of notebooks or a zip of "
        "them. Results are kept in DIR/gradebook.sqlite as each submission finishes: run the same command again to "
        "grade only what is new or changed. Exit status: 0 every submission has its verdict (files that are not a "
        "gradable notebook are refused with a score of 0 and counted apart), 1 the grader itself failed on some "
        "(their rows say error: run the same command again) or the batch could not run, 2 bad input (no such "
        "file, nothing to grade, a bad option or assignment).",
        (
            _option(
                "paths",
                nargs="+",
                metavar="PATH",
                help="a notebook, a folder searched for notebooks, or a zip of notebooks (any number)",
            ),
            ASSIGNMENT,
            _option("--out", default="graded", help="output folder (default: ./graded)"),
            _option("--workers", type=_positive(int), default=2, help="submissions graded at once (default: 2)"),
            _option(
                "--dask",
                metavar="ADDRESS",
                help="grade on a Dask cluster: a scheduler's address (tcp://host:8786), or local:N for N worker "
                "processes on this machine (needs pip install -e '.[dask]')",
            ),
            _option(
                "--execute",
                choices=["graded", "all"],
                default="graded",
                help="run only setup and graded cells (default) or the whole notebook",
            ),
            _option("--data", help=f"dataset folder for --execute all {DATA_HELP})"),
            _option("--regrade", action="store_true", help="grade everything again, even unchanged files"),
            _option("--quiet", action="store_true", help="no progress bar"),
        ),
        True,
    ),
    "expected": (
        "regenerate or verify the stored expected values",
        "Run the reference on every case and write the expected values (expected.npz, "
        "public_tests_expected.json, and the mistake catalogue's values when there is one); with --check, only "
        "compare and fail when they are out of date. The solution notebook runs in the sandbox kernel: as the "
        "reference when the assignment names none, else checked to agree with it on every case (nothing is "
        "written where they disagree), and with each [[mistake]]'s wrong copy in place of its function.",
        (
            FOLDER_ASSIGNMENT,
            _option("--check", action="store_true", help="fail (exit 1) when the stored values are stale"),
            NO_SANDBOX,
        ),
        False,
    ),
    "bench": (
        "time check and grade, with whole-notebook runs as the baseline",
        "Print, as JSON, how long `grader check` takes on the solution, how long running the whole solution "
        "notebook takes (the baseline), and how many submissions a minute `grader grade` handles on a batch of "
        "copies, with the CPU-seconds of each submission phase by phase (docs/speed.md).",
        (
            FOLDER_ASSIGNMENT,
            _option(
                "--submissions",
                type=_positive(int),
                default=100,
                help="batch size for the throughput figure (default: 100)",
            ),
            _option("--workers", type=_positive(int), default=2, help="workers of the timed batch (default: 2)"),
            _option(
                "--check-runs",
                type=_positive(int),
                default=5,
                help="times `grader check` is run on the solution; the median is printed (default: 5)",
            ),
            _option(
                "--data",
                help=f"dataset folder for the whole-notebook baseline {DATA_HELP}; without one the "
                "baseline is left out)",
            ),
            _option("--skip-baseline", action="store_true", help="leave out the whole-notebook run"),
            _option(
                "--scaling",
                action="store_true",
                help="also print the batch's CPU-seconds per submission and the grader's memory at checkpoints "
                "(windows of 100 submissions ending at 100, 200, 500, 1000, 1500, 2000, ... and the last)",
            ),
            _option(
                "--skip-dask",
                action="store_true",
                help="leave out the same batch on a Dask LocalCluster with as many workers (timed when distributed "
                "is installed)",
            ),
            _option("--no-sandbox", action="store_true", help="time kernels without the OS sandbox"),
        ),
        False,
    ),
    "gradescope": (
        "build Gradescope's autograder.zip",
        "Write Gradescope's programming-assignment autograder bundle: setup.sh, run_autograder, the grader as a "
        "wheel with pinned requirements, and the instructor's side of the assignment.",
        (
            FOLDER_ASSIGNMENT,
            _option("--out", default="autograder.zip", help="zip to write (default: ./autograder.zip)"),
        ),
        False,
    ),
    "new": (
        "scaffold a new assignment folder",
        "Make the folder NAME holding assignment.toml (one graded function, a public and a hidden case, one "
        "catalogued mistake) and NAME_solution.ipynb (a setup cell, the graded cell with its learner region, and "
        "the mistake as a wrong copy of the function). It grades end to end at once: run `grader expected "
        "--assignment NAME`, then `grader check NAME/NAME_solution.ipynb`. An existing folder is never touched.",
        (
            _option("name", metavar="NAME", help="the assignment's name and folder: lower-case letters, digits, _"),
            _option("--out", help="the folder to make NAME in (default: the current folder)"),
        ),
        False,
    ),
    "isolation": (
        "say how student code would be isolated here",
        "Prove, as grade would before grading, that student code can be isolated on this machine (the sandbox, or "
        "as root without it a dedicated unprivileged account), and say how; or say why not and what to do. Exit "
        "status: 0 isolated, 2 not.",
        (_option("--assignment", help="also prove that no kernel can read this assignment folder"),),
        False,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, built from the VERBS table."""
    parser = argparse.ArgumentParser(
        prog="grader",
        usage="grader [-h] VERB ...",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # The description lists the verbs, with how each is called: argparse's own list would repeat them.
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", help=argparse.SUPPRESS)
    for name, (summary, description, options, limits) in VERBS.items():
        verb = verbs.add_parser(name, help=summary, description=description, prog=f"grader {name}")
        for flags, settings in options:
            verb.add_argument(*flags, **settings)  # type: ignore[arg-type]
        if limits:
            group = verb.add_argument_group("limits (override the assignment manifest's [limits])")
            for flags, settings in LIMITS:
                group.add_argument(*flags, **settings)  # type: ignore[arg-type]
            verb.add_argument(*NO_SANDBOX[0], **NO_SANDBOX[1])  # type: ignore[arg-type]
    return parser


def _launcher(
    args: argparse.Namespace,
    assignment: Assignment | None,
    own_code: bool,
    protect: tuple[Path, ...] = (),
    private: tuple[Path, ...] = (),
    forking: bool = False,
):
    """The kernels' launcher for this command (grader.kernel.isolation), or IsolationRefused (exit 2).
    `private`: what else no kernel may read (the submissions of a batch, its output folder)."""
    from grader.kernel.isolation import kernel_launcher

    hidden = () if assignment is None or assignment.is_bundle else (assignment.folder, *assignment.instructor_paths)
    return kernel_launcher(
        own_code=own_code,
        no_sandbox=getattr(args, "no_sandbox", False),
        hidden=(*hidden, *private),
        protect=protect,
        forking=forking,
    )


def _limits(args: argparse.Namespace, assignment: Assignment) -> Limits:
    """The limits this command grades under: the manifest's (grader.model.Limits' defaults where it
    says nothing) with the command line's in their place, refused with one line when they cannot
    grade anything."""
    given = {name: getattr(args, name) for name in Limits.names() if getattr(args, name, None) is not None}
    limits = assignment.limits.overridden(given)
    refusal = limits.refusal(
        lambda name: "--" + name.replace("_", "-") if name in given else f"the manifest's [limits] {name}"
    )
    if refusal:
        raise UserError(refusal)
    return limits


def _find_assignment(explicit: str | None, **where) -> Assignment:
    """find_assignment, with a --assignment that names no folder refused in words that say what one holds."""
    if explicit and not Path(explicit).is_dir():
        what = "is a file, not a folder" if os.path.lexists(explicit) else "folder does not exist"
        raise UserError(
            f"--assignment {explicit}: that {what}; an assignment folder must contain "
            "assignment.toml (the manifest), as the instructor's assignment folder and the release "
            "bundle do"
        )
    return find_assignment(explicit, **where)


def _notebook(path: str) -> Path:
    notebook = Path(path)
    if not notebook.is_file():
        if os.path.lexists(notebook):
            raise UserError(
                f"{notebook} is not a notebook file (a folder, FIFO, device or broken link): pass "
                "the .ipynb file itself"
            )
        raise UserError(f"no such file: {notebook}")
    return notebook


def _release(args: argparse.Namespace) -> int:
    from grader.verbs.release import build_release

    assignment = _find_assignment(args.assignment, bundle_ok=False)
    bundle, archive = build_release(assignment, Path(args.out), Path(args.data) if args.data else None)
    print(f"wrote {bundle}/ and {archive}")
    return 0


def _check(args: argparse.Namespace) -> int:
    notebook = _notebook(args.notebook)
    assignment = _find_assignment(args.assignment, near=[notebook])
    limits = _limits(args, assignment)
    # Only a student's bundle runs unsandboxed as its user: the instructor's folder is never exposed.
    launcher = _launcher(args, assignment, own_code=assignment.is_bundle)
    kernel = None
    try:
        kernel = _kernel_ahead(notebook, assignment, limits, launcher)
        from grader.verbs.check import run_check  # most of the grader's imports, while the kernel starts

        return run_check(
            notebook,
            assignment,
            color=args.color,
            sandbox=launcher,
            limits=limits,
            no_sandbox=args.no_sandbox,
            kernel=kernel,
        )
    finally:
        if kernel is not None:
            kernel.discard()


def _kernel_ahead(notebook: Path, assignment: Assignment, limits: Limits, launcher):
    """The check's kernel, starting now in a thread; the setup imports the notebook needs are named
    once the grader has read it (grader.grading.needed), so that it is ready about when the grader
    is; None for a path that is no notebook (check says so)."""
    if not notebook.is_file():
        return None
    from grader.kernel.ahead import warm_kernel

    kernel = warm_kernel(assignment.prepare_workdir, limits, launcher, imports_to_come=True)
    try:
        kernel.wait_launched()  # the grader's own imports then run beside the kernel's, on the other core
    except BaseException:  # interrupted meanwhile: nothing is left behind
        kernel.discard()
        raise
    return kernel


def _grade(args: argparse.Namespace) -> int:
    from grader.verbs.grade import grade

    paths, out = [Path(p) for p in args.paths], Path(args.out)
    assignment = _find_assignment(args.assignment, near=paths, bundle_ok=False)
    limits = _limits(args, assignment)
    launcher = None
    if not (args.dask and not args.dask.startswith("local:")):  # an external cluster's workers prove their own
        # A kernel must read neither the classmates' submissions nor the reports of the batch.
        private = (*(p for p in paths if p.exists()), out)
        launcher = _launcher(args, assignment, own_code=False, protect=(out,), private=private, forking=True)
    return grade(
        assignment=assignment,
        paths=paths,
        out=out,
        workers=args.workers,
        execute_all=args.execute == "all",
        data=args.data,
        regrade=args.regrade,
        quiet=args.quiet,
        sandbox=launcher,
        limits=limits,
        dask=args.dask,
        no_sandbox=args.no_sandbox,
    )


def _expected(args: argparse.Namespace) -> int:
    from grader.verbs.expected import expected

    return expected(assignment=_find_assignment(args.assignment), check=args.check, no_sandbox=args.no_sandbox)


def _bench(args: argparse.Namespace) -> int:
    from grader.verbs.bench import bench

    assignment = _find_assignment(args.assignment, bundle_ok=False)
    return bench(
        assignment=assignment,
        submissions=args.submissions,
        workers=args.workers,
        data=args.data,
        skip_baseline=args.skip_baseline,
        sandbox=_launcher(args, assignment, own_code=False, forking=True),  # its batch forks, as grade's
        dask=not args.skip_dask,
        check_runs=args.check_runs,
        scaling=args.scaling,
    )


def _gradescope(args: argparse.Namespace) -> int:
    from grader.verbs.gradescope import build_gradescope

    archive = build_gradescope(_find_assignment(args.assignment, bundle_ok=False), Path(args.out))
    print(f"wrote {archive}: upload it as the autograder of a Gradescope programming assignment")
    return 0


def _new(args: argparse.Namespace) -> int:
    from grader.verbs.new import new_assignment

    folder = new_assignment(args.name, Path(args.out) if args.out else None)
    print(
        f"wrote {folder}: next, `grader expected --assignment {folder}` stores the expected values, then "
        f"`grader check {folder / (folder.name + '_solution.ipynb')}` should pass every case"
    )
    return 0


def _isolation(args: argparse.Namespace) -> int:
    from grader.verbs.isolation import show_isolation

    return show_isolation(_find_assignment(args.assignment) if args.assignment else None)


RUNNERS = {
    "release": _release,
    "check": _check,
    "grade": _grade,
    "expected": _expected,
    "bench": _bench,
    "gradescope": _gradescope,
    "isolation": _isolation,
    "new": _new,
}


def run(args: argparse.Namespace) -> int:
    """Call the verb the arguments name, with keyword arguments."""
    runner = RUNNERS.get(args.verb)
    if runner is None:
        build_parser().print_help()
        return 2
    return runner(args)


# Verbs after which the `grader` command leaves at once (see command): everything they start is
# stopped before they return, and the student waits for every tenth of a second.
QUICK_EXIT_VERBS = ("check",)
_ran: list[str] = []  # the verb main() ran, for command()


def command() -> None:
    """The `grader` script and `python -m grader`: main(), then, after a self-check, out without
    freeing the interpreter's modules one by one (a fifth of a second after the verdict is shown):
    the output is flushed and every exit handler runs, as at any exit."""
    status = main()
    if _ran and _ran[-1] in QUICK_EXIT_VERBS:
        sys.stdout.flush()
        sys.stderr.flush()
        atexit._run_exitfuncs()
        sys.stdout.flush()  # what the exit handlers printed
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def main(argv: list[str] | None = None) -> int:
    """Parse, run the verb, map errors to exit statuses (`command` is the script around it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verb:
        parser.print_help()
        return 2
    _ran.append(args.verb)
    try:
        return run(args)
    except (GraderError, FileNotFoundError) as error:
        from grader.render.errors import error_text

        print(f"grader {args.verb}: {error_text(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"grader {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output went to `head` or a pager that closed early
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
        return 141
