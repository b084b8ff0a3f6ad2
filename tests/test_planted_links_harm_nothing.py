"""A kernel that plants links in its folder and then dies, to make the grader restart it, harms nothing.

Before every kernel start the grader (often root) used to create, chown and copy into paths inside
the folder the previous kernel could write: a link planted there sent those acts to any host file
or folder, or to the batch's own gradebook through /proc/self/cwd. Here three notebooks plant
links wherever a kernel can (its working folder, the matplotlib folder, the socket folder, the
result file) towards sentinel files and folders on the host and towards the gradebook, then end
the kernel with os._exit(1). `grader grade` runs as an instructor runs it, from the output folder.
Afterwards no sentinel changed owner, mode or content, and an incremental rerun keeps every row.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import pytest

from grader.store.gradebook import FILE_NAME as GRADEBOOK_FILE
from grader.store.gradebook import Gradebook
from tests.fixtures import SOLUTION, grade_cli, proven_sandbox, write_unwritten
from tests.hostile_corpus import DEEP, TWO, in_body, solution_notebook

pytestmark = pytest.mark.kernel  # runs notebook code: the sandbox is proven first (conftest.py)

PLANT = """
import json, os, shutil
import matplotlib.font_manager

font = "fontlist-v" + matplotlib.font_manager.FontManager.__version__ + ".json"

def plant(name, target):
    try:
        if os.path.islink(name) or os.path.isfile(name):
            os.remove(name)
        elif os.path.isdir(name):
            shutil.rmtree(name)
        os.symlink(target, name)
    except OSError:
        pass

def plant_inside(folder, name, target):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        pass
    plant(os.path.join(folder, name), target)

try:
    from ipykernel.connect import get_connection_file
    connection = get_connection_file()
    sockets = os.path.dirname(json.load(open(connection))["ip"])
except Exception:
    connection, sockets = "", ""
{plants}
os._exit(1)
"""

PLANTS = {
    "links_to_folders": """
plant(".matplotlib", "{victim_dir}")
plant(".results", "{victim_dir2}")
plant(os.environ.get("MPLCONFIGDIR", "/tmp/matplotlib"), "{victim_dir}")
for entry in os.listdir("."):
    plant(entry, "{victim_dir2}")
""",
    "links_to_files": """
plant_inside(".matplotlib", font, "{victim_file}")
plant_inside(os.environ.get("MPLCONFIGDIR", "/tmp/matplotlib"), font, "{victim_file}")
plant(".kernel-connection.json", "{victim_file2}")
plant(connection, "{victim_file2}")
plant(os.path.join(os.path.dirname(connection), "result.npz"), "{victim_file2}")
for entry in os.listdir(sockets or "."):
    plant(os.path.join(sockets, entry), "{victim_file}")
""",
    "links_to_the_gradebook": """
plant_inside(".matplotlib", font, "/proc/self/cwd/{gradebook}")
plant(".kernel-connection.json", "/proc/self/cwd/{gradebook}")
plant_inside(".results", "planted.npz", "/proc/self/cwd/{gradebook}")
plant(connection, "/proc/self/cwd/{gradebook}")
plant(os.path.dirname(connection), "/proc/self/cwd")
""",
}


def _sentinels(folder: Path) -> dict[str, Path]:
    """Host files and folders a planted link points at: none of them may change."""
    folder.mkdir(mode=0o755)
    made = {
        "victim_dir": folder / "victim_dir",
        "victim_dir2": folder / "victim_dir2",
        "victim_file": folder / "victim_file.txt",
        "victim_file2": folder / "victim_file2.txt",
    }
    for name in ("victim_dir", "victim_dir2"):
        made[name].mkdir(mode=0o750)
        (made[name] / "inside.txt").write_text(f"kept in {name}")
        os.chmod(made[name] / "inside.txt", 0o640)
    for name in ("victim_file", "victim_file2"):
        made[name].write_text(f"the content of {name}")
        os.chmod(made[name], 0o640)
    return made


def _state(folder: Path) -> dict[str, tuple]:
    """Owner, mode and content (or listing) of everything under `folder`, never following a link."""
    state = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        info = os.lstat(path)
        if path.is_symlink():
            content = "link:" + os.readlink(path)
        elif path.is_dir():
            content = "dir:" + ",".join(sorted(os.listdir(path)))
        else:
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        state[str(path.relative_to(folder))] = (info.st_uid, info.st_gid, info.st_mode, content)
    return state


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict:
    proven_sandbox()  # before any of the batch runs
    root = tmp_path_factory.mktemp("links")
    victims = _sentinels(root / "host")
    submissions = root / "submissions"
    submissions.mkdir()
    values = {name: str(path) for name, path in victims.items()} | {"gradebook": GRADEBOOK_FILE}
    for name, plants in PLANTS.items():
        code = PLANT.replace("{plants}", plants)
        for key, value in values.items():
            code = code.replace("{" + key + "}", value)
        code = code.replace("{", "{{").replace("}", "}}")  # in_body formats the code it inserts
        (submissions / f"{name}.ipynb").write_bytes(in_body(TWO, code)(solution_notebook(), {}))
    (submissions / "solution.ipynb").write_bytes(SOLUTION.read_bytes())
    out = root / "graded"
    out.mkdir()
    before = _state(root / "host")
    limits = ["--case-seconds", "20", "--submission-seconds", "90"]
    first = grade_cli(str(submissions), "--out", str(out), "--workers", "2", *limits, cwd=out)
    after_first = _state(root / "host")
    with Gradebook(out / GRADEBOOK_FILE) as book:
        rows = {row.name: row for row in book.rows()}
    write_unwritten(submissions / "late.ipynb")
    second = grade_cli(str(submissions), "--out", str(out), "--workers", "2", *limits, cwd=out)
    with Gradebook(out / GRADEBOOK_FILE) as book:
        rows_again = {row.name: row for row in book.rows()}
    return {
        "first": first,
        "second": second,
        "before": before,
        "after_first": after_first,
        "after_second": _state(root / "host"),
        "rows": rows,
        "rows_again": rows_again,
    }


def test_no_host_file_or_folder_changed(batch):
    assert batch["first"].returncode == 0, batch["first"].stderr[-3000:]
    changed = {
        name: (batch["before"].get(name), state)
        for name, state in batch["after_first"].items()
        if batch["before"].get(name) != state
    }
    assert changed == {} and batch["after_first"].keys() == batch["before"].keys()
    assert batch["after_second"] == batch["before"]


def test_the_planting_function_scores_zero_and_the_other_keeps_its_points(batch):
    rows = batch["rows"]
    assert sorted(rows) == sorted([*PLANTS, "solution"])
    for name in PLANTS:
        assert rows[name].status == "graded", name
        assert rows[name].function_scores[TWO] == 0, name
        assert math.isclose(rows[name].function_scores[DEEP], rows["solution"].function_scores[DEEP]), name
    assert math.isclose(rows["solution"].score, rows["solution"].max_score)


def test_an_incremental_rerun_keeps_every_earlier_row(batch):
    assert batch["second"].returncode == 0, batch["second"].stderr[-3000:]
    again = batch["rows_again"]
    assert sorted(again) == sorted([*PLANTS, "solution", "late"])
    for name, row in batch["rows"].items():
        assert (again[name].score, again[name].graded_at) == (row.score, row.graded_at), name
