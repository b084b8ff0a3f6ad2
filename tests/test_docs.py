"""The README stays a short front page whose commands and links hold: CI runs its test command as
written, and every file it links to exists (the site's own links are checked by `mkdocs build
--strict`, which does not read the README)."""

import re

from tests.fixtures import ROOT

README = ROOT / "README.md"


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```$", text, flags=re.S | re.M)


def test_ci_runs_the_readme_test_command_as_written():
    test_command = _bash_blocks(README.read_text())[1].strip()  # the second command for a fresh machine
    assert "\n" not in test_command and "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_readme_stays_short():
    assert len(README.read_text().splitlines()) <= 150


def test_every_file_the_readme_links_to_exists():
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text())
    local = [target for target in targets if "://" not in target]
    assert "docs/index.md" in local and "docs/feedback-failing.png" in local
    assert [target for target in local if not (ROOT / target).is_file()] == []


NEEDS_ASSIGNMENT = {"release", "grade", "expected", "bench", "gradescope"}  # nothing to find from the root


def _grader_commands(text: str) -> list[str]:
    """Every `grader VERB ...` the text shows: in its bash blocks and its inline code."""
    found = []
    for block in _bash_blocks(text):
        for part in re.split(r"&&|\n|\\\n", block):
            command = part.split("#", 1)[0].strip()
            if command.startswith("grader "):
                found.append(command)
    # With arguments: not a link's name ([`grader grade`](...)) nor a verb named in passing (`grader new`).
    spans = re.findall(r"(?<!\[)`(grader [a-z]+\s[^`]+)`", text)
    found += [re.sub(r"\s+", " ", span) for span in spans]
    return found


def test_every_grader_command_the_readme_and_the_help_show_runs_from_the_checkout_root():
    """From the checkout root no assignment.toml is found by looking up: a verb that needs the
    instructor's folder must name it (`grader gradescope --out autograder.zip` alone failed)."""
    from grader.cli import DESCRIPTION, build_parser

    readme = _grader_commands(README.read_text())
    synopses = [
        re.sub(r"[\[\]]|\.\.\.", "", line.strip().split("  ")[0])
        for line in DESCRIPTION.splitlines()
        if line.startswith("  grader ")
    ]
    verbs = build_parser()._actions[1].choices
    assert any(c.startswith("grader gradescope") for c in readme) and len(synopses) == len(verbs)
    for command in readme + synopses:
        args = build_parser().parse_args(command.split()[1:])
        if args.verb in NEEDS_ASSIGNMENT:
            assert args.assignment, command
        if command in readme and getattr(args, "assignment", None):
            assert (ROOT / args.assignment / "assignment.toml").is_file(), command
        if command not in readme:
            continue  # the synopses' paths are placeholders
        for path in getattr(args, "paths", []) + ([args.notebook] if args.verb == "check" else []):
            assert (ROOT / path).exists() or path.startswith("release/"), command  # release/ is built first


def test_the_help_lists_the_verbs_once():
    from grader.cli import build_parser

    text = build_parser().format_help()
    assert text.count("grader gradescope") == 1 and "positional arguments" not in text
    assert text.startswith("usage: grader [-h] VERB ...")
