"""Everything an author writes is validated when the assignment loads: a slip in the manifest or a
case is refused with one message naming the file, the table, the key and the fix, never ignored or
replaced by a default (issue #19's silent failures 1 and 3, and the recipe tag typo of 8).

Kernel-free: the toy assignment's folder is copied and edited, then only loaded.
"""

from __future__ import annotations

import ast
import shutil
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from grader.assignment.manifest import AssignmentError, load_assignment, public_manifest_text
from grader.assignment.recipes import TAGS
from grader.assignment.schema import manifest_docs
from grader.judge.scoring import case_shares, score_report
from grader.model import CaseStatus, CaseVerdict, GradedFunction, Visibility
from tests.fixtures import ROOT, make_report

TOY = ROOT / "tests" / "toy_assignment"
REAL = [ROOT / "assignments" / "dnn_app", ROOT / "assignments" / "dnn_step_by_step", TOY]

A_CASE = """
[[case]]
id = "fit_line/table"
function = "fit_line"
description = "a case written in the manifest"
visibility = "hidden"
compare = ["losses", "coef"]
recipe = { seed = 5, args = { x = { normal = [6] }, y = { bernoulli = [6], p = 0.5 }, steps = 3, rate = 0.1 } }
"""


@pytest.fixture
def toy(tmp_path) -> Path:
    return shutil.copytree(TOY, tmp_path / "toy")


def _edit(folder: Path, old: str, new: str, name: str = "assignment.toml") -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, f"the toy's {name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))


def _refusal(folder: Path) -> str:
    with pytest.raises(AssignmentError) as raised:
        load_assignment(folder)
    return str(raised.value)


@pytest.mark.parametrize("folder", REAL, ids=lambda f: f.name)
def test_the_real_assignments_and_the_toy_load_through_the_schema(folder):
    assignment = load_assignment(folder)
    assert assignment.functions and assignment.cases()


def test_a_misspelt_points_key_is_refused_not_weighted_by_default(toy):
    """Silent failure 3: `point = 10` used to drop the function to the default weight of 1."""
    _edit(toy, "points = 20", "point = 20")
    message = _refusal(toy)
    assert "assignment.toml [[function]] 'init_weights': unknown key 'point' (did you mean 'points'?)" in message
    assert "the keys allowed here: calls, given, labels, name, points, returns, signature, tolerance" in message


def test_a_misspelt_setup_marker_is_refused(toy):
    _edit(toy, "setup_marker =", "setup_markr =")
    assert "[assignment]: unknown key 'setup_markr' (did you mean 'setup_marker'?)" in _refusal(toy)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "[limits]\n",
            "[limits]\ncase_second = 5\n",
            "[limits]: unknown key 'case_second' (did you mean 'case_seconds'?)",
        ),
        ("[tolerance]\nrtol", "[tolerance]\nrtl", "[tolerance]: unknown key 'rtl' (did you mean 'rtol'?)"),
        (
            "tolerance = { rtol",
            "tolerance = { rtl",
            "[[function]] 'fit_line': unknown key 'rtl' (did you mean 'rtol'?)",
        ),
        ("[limits]", "[limit]", "unknown table 'limit' (did you mean 'limits'?)"),
        ("[limits]", '[release]\nregion_begin = "X"\n[limits]', "[release]: unknown key 'region_begin' (did you"),
        ("points = 20", 'points = "20"', "[[function]] 'init_weights': points = '20': give a number"),
        (
            'signature = ["x"]',
            'signature = "x"',
            "[[function]] 'mean_square': signature = 'x': input should be a valid list",
        ),
    ],
)
def test_a_slip_in_any_table_is_named_with_its_table_and_key(toy, old, new, expected):
    _edit(toy, old, new)
    assert expected in _refusal(toy)


def test_a_slip_in_a_case_or_mistake_table_is_named(toy):
    _edit(toy, "[limits]", A_CASE.replace("compare", "compair") + "\n[limits]")
    assert "[[case]] 'fit_line/table': unknown key 'compair' (did you mean 'compare'?)" in _refusal(toy)
    shutil.copy2(TOY / "assignment.toml", toy / "assignment.toml")
    mistake = '[[mistake]]\nid = "m"\nfunction = "fit_line"\ntitle = "t"\nexplanation = "e"\nfixx = "f"\n'
    _edit(toy, "[limits]", mistake + "\n[limits]")
    message = _refusal(toy)
    assert "[[mistake]] 'm': lacks the key 'fix'" in message and "unknown key 'fixx' (did you mean 'fix'?)" in message


def _with_cases_module(folder: Path, compare: str) -> None:
    """The copy with a cases module beside its [[case]] tables, holding one fit_line case."""
    case = {"id": "fit_line/module", "function": "fit_line", "visibility": "hidden", "description": "d"}
    case["recipe"] = {"args": {"x": [1.0], "y": [1.0], "steps": 1, "rate": 0.1}}
    (folder / "cases.py").write_text(f"CASES = [{{**{case!r}, 'compare': {compare}}}]\n")
    _edit(folder, "[assignment]\n", '[assignment]\ncases = "cases.py"\n')


def test_a_compare_name_that_is_no_part_is_refused_naming_the_case(toy):
    """Silent failure 1: `"costs"` for the part `cost` left the cost uncompared, and a wrong function
    scored full marks. Here `"loss"` for the part `losses`, in a [[case]] table and in a cases module."""
    _edit(toy, 'compare = ["losses", "coef"]', 'compare = ["loss", "coef"]')
    message = _refusal(toy)
    assert "[[case]] 'fit_line/noisy': `compare` names 'loss' (did you mean 'losses'?)" in message
    assert "a case may compare coef, losses, inputs_unchanged, returned, stdout" in message
    shutil.copy2(TOY / "assignment.toml", toy / "assignment.toml")
    _with_cases_module(toy, '["losss"]')
    assert "cases.py case 'fit_line/module': `compare` names 'losss' (did you mean 'losses'?)" in _refusal(toy)


def test_a_case_that_compares_nothing_is_refused(toy):
    _edit(toy, 'compare = ["losses", "coef"]', "compare = []")
    assert "[[case]] 'fit_line/noisy': `compare` is empty, so the case would grade nothing" in _refusal(toy)
    shutil.copy2(TOY / "assignment.toml", toy / "assignment.toml")
    _with_cases_module(toy, "[]")
    assert "cases.py case 'fit_line/module': `compare` is empty" in _refusal(toy)


def test_a_case_table_loads_beside_the_module_and_ids_stay_unique(toy):
    _edit(toy, "[limits]", A_CASE + "\n[limits]")
    cases = load_assignment(toy).cases()
    table = next(c for c in cases if c.id == "fit_line/table")
    assert table.compare == ("losses", "coef") and table.recipe["seed"] == 5 and len(cases) == 9
    _edit(toy, 'id = "fit_line/table"', 'id = "fit_line/public"')
    assert "two cases share the id 'fit_line/public'" in _refusal(toy)


def test_points_that_do_not_sum_to_the_stated_total_are_refused(toy):
    _edit(toy, 'version = "1"', 'version = "1"\ntotal_points = 100')
    assert load_assignment(toy).total_points == 100
    _edit(toy, "points = 20", "points = 11")
    message = _refusal(toy)
    assert "[assignment] total_points = 100, but the [[function]] points sum to 91" in message
    assert "init_weights 11" in message and "correct the points or the total" in message


def test_a_mistake_must_name_a_graded_function_and_its_id_be_unique(toy):
    mistake = '[[mistake]]\nid = "m"\nfunction = "fit_lin"\ntitle = "t"\nexplanation = "e"\nfix = "f"\n'
    _edit(toy, "[limits]", mistake + "\n[limits]")
    assert "[[mistake]] 'm' names the function 'fit_lin' (did you mean 'fit_line'?)" in _refusal(toy)
    _edit(toy, 'function = "fit_lin"', 'function = "fit_line"')
    assert [m.id for m in load_assignment(toy).authored_mistakes] == ["sum-not-mean", "m"]
    _edit(toy, "[limits]", mistake.replace("fit_lin", "fit_line") + "\n[limits]")
    assert "[[mistake]] 'm' is declared twice" in _refusal(toy)


def test_a_recipe_tag_typo_names_the_case_the_argument_and_the_tags(toy):
    _edit(toy, "x = { normal = [10] }", "x = { nromal = [10] }")
    message = _refusal(toy)
    said = "[[case]] 'mean_square/public': argument 'x' has no known tag in ['nromal'] (did you mean 'normal'?)"
    assert said in message
    assert "give exactly one of normal, uniform, bernoulli, array, file, tuple, dict, literal" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("W = { normal = [2, 3] }", "W = { normal = [2, 3], p = 1 }", "argument 'params'.dict.W: the tag 'normal'"),
        ("W = { normal = [2, 3] }", 'W = { normal = "2x3" }', "argument 'params'.dict.W: the shape '2x3'"),
        ("seed = 4,", "seed = 4, sede = 1,", "the recipe has the key 'sede'"),
    ],
)
def test_recipe_slips_are_named(toy, old, new, expected):
    _edit(toy, old, new)
    assert expected in _refusal(toy)


def test_an_assignment_with_its_own_builder_keeps_its_own_recipe_language():
    """dnn_app's recipes (`arrays`, `randn`) are for its test_utils.build_inputs, not the harness."""
    assignment = load_assignment(ROOT / "assignments" / "dnn_app")
    assert assignment.inputs and "arrays" in assignment.cases()[0].recipe


def test_the_recipe_tags_are_the_harness_tags():
    source = (ROOT / "grader" / "kernel" / "harness.py").read_text()
    found = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "tags_known"
    ]
    assert len(found) == 1 and ast.literal_eval(found[0]) == TAGS


@pytest.mark.parametrize("cases", [3, 7])
def test_case_shares_sum_exactly_to_the_function_points(cases):
    """Step by Step's shares summed to 99.999994 of 100: the rounding remainder goes to the last case."""
    shares = case_shares(10, cases)
    assert len(shares) == cases and sum(Decimal(repr(s)) for s in shares) == Decimal(10)
    assert max(shares) - min(shares) < 1e-5
    report = make_report("s", passed=())
    report.cases = [CaseVerdict(f"f/{i}", "f", "", Visibility.HIDDEN, CaseStatus.PASSED) for i in range(cases)]
    report.function_points, report.function_scores = {}, {}
    score_report(report, [GradedFunction("f", 10.0, ())])
    written = [round(c.max_score, 6) for c in report.cases]  # as results.json writes them
    assert sum(Decimal(repr(s)) for s in written) == Decimal(10) and report.score == 10


def _with_instructor_tables(text: str) -> str:
    mistake = '# the texts of a known mistake\n[[mistake]]\nid = "m"\nfunction = "fit_line"\ntitle = "t"\n'
    mistake += 'explanation = "e"\nfix = "f"\n'
    nested = '[[case]]\nid = "c2"\nfunction = "fit_line"\n[case.recipe]\nseed = 1\nargs = { x = 1 }\n'
    return text.replace(
        "[limits]", A_CASE + "\n" + mistake + "\n" + nested + "\n[release]\nregion_end = 'END'\n\n[limits]"
    )


def test_the_public_manifest_keeps_everything_but_the_case_and_mistake_tables():
    original = _with_instructor_tables((TOY / "assignment.toml").read_text())
    public = public_manifest_text(original)
    parsed = tomllib.loads(original)
    assert parsed["case"] and parsed["mistake"]
    assert tomllib.loads(public) == {k: v for k, v in parsed.items() if k not in ("case", "mistake")}
    assert "fit_line/table" not in public and "a known mistake" not in public and "seed = 5" not in public
    assert "# Training loops accumulate rounding" in public  # the author's comments elsewhere stay


@pytest.mark.parametrize(
    "text",
    ['case = [{ id = "x" }]\n[assignment]\nname = "a"\n', '[assignment]\nname = """\n[[case]]\nid = 1\n"""\n'],
    ids=["inline-array", "in-a-string"],
)
def test_a_manifest_that_cannot_be_cut_stops_the_release(text):
    with pytest.raises(AssignmentError, match=r"could not be cut to its public part.*then release again"):
        public_manifest_text(text)


def test_the_manifest_docs_are_generated_from_the_schema():
    committed = (ROOT / "docs" / "manifest.md").read_text()
    assert committed == manifest_docs(), "run `python -m grader.assignment.schema > docs/manifest.md`"
    for key in ("`total_points`", "`given`", "`region_start`", "`memory_mb`", "`exact_shapes`", "`fix`"):
        assert key in committed


def test_the_release_bundle_manifest_has_no_case_or_mistake_table(toy_dir, tmp_path):
    """Hidden recipes and mistake texts written in the manifest do not ship (grader/verbs/release.py)."""
    from grader.verbs.release import build_release

    folder = shutil.copytree(toy_dir, tmp_path / "toy")
    _edit(folder, "[limits]", A_CASE.replace("seed = 5", "seed = 987") + "\n[limits]")
    bundle, _ = build_release(load_assignment(folder), tmp_path / "release", None)
    shipped = (bundle / "assignment.toml").read_text()
    assert "[[case]]" not in shipped and "seed = 987" not in shipped and "fit_line/table" not in shipped
    assert load_assignment(bundle).is_bundle and '[[function]]\nname = "fit_line"' in shipped
