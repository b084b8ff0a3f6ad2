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
