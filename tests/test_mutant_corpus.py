"""The Step by Step corpus graded with and without the solution's mutants (tests/mutant_measure.py):
the figures are printed (named by the catalogue, named by a mutant, not named; the batch's seconds
per submission), and what must hold is asserted: no mistake is misnamed, no correct
variant is told of a mistake, no correct function loses points because of another one, at least
90 % of the one-function mistakes are named, and the mutants
name at least half of the uncatalogued slips. The
corpus itself is checked too: at least 20 slips over the ten functions, none a catalogued mistake.
"""

from __future__ import annotations

from collections import Counter

import pytest

from grader.judge.catalogue import load_catalogue
from tests.mutant_measure import measure
from tests.step_by_step_corpus import FOLDER, FUNCTIONS
from tests.step_by_step_slips import CORRECT, SLIPS


def test_the_corpus_covers_every_function_with_uncatalogued_slips():
    per_function = Counter(slip.function for slip in SLIPS)
    assert len(SLIPS) >= 20 and len(CORRECT) >= 10
    assert all(per_function[function] >= 2 for function in FUNCTIONS), per_function
    assert len({slip.name for slip in SLIPS + CORRECT}) == len(SLIPS + CORRECT)
    catalogue = load_catalogue(FOLDER)
    assert catalogue is not None
    known = set(catalogue.mistakes) | {family["id"] for family in getattr(catalogue.module, "FAMILIES", [])}
    assert not known & {slip.name for slip in SLIPS}


@pytest.mark.slow
@pytest.mark.kernel
def test_the_figures_on_the_step_by_step_corpus(capsys):
    figures = measure(compare=False)  # `python -m tests.mutant_measure` also times the batch without them
    with capsys.disabled():
        print("\n" + figures.text)
    assert figures.misnamed == []
    assert figures.collateral == []  # a function's points reflect its own code ([grading] callers = "alone")
    assert figures.told == []
    uncatalogued = {slip.name for slip in SLIPS}
    assert len(uncatalogued & set(figures.by_mutant)) >= len(uncatalogued) // 2
    named = len(figures.catalogued) + len(figures.by_mutant)
    assert named >= 0.9 * (named + len(figures.unnamed)), figures.unnamed  # the 90 %
