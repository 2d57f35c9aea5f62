"""The README's facts that drift: checked against what they describe, so they cannot."""

import re

import pytest

from .conftest import COLLECTED, README


def test_the_readme_states_the_number_of_tests_this_suite_has():
    if not COLLECTED.get("whole_suite"):
        pytest.skip("only a run of the whole suite knows its size")
    said = re.search(r"the (\d[\d,]*) tests", README.read_text())
    assert said, "the README says how many tests there are"
    assert int(said[1].replace(",", "")) == COLLECTED["count"], (
        f"README says {said[1]} tests, the suite has {COLLECTED['count']}: update the README")


def test_every_picture_the_readme_shows_is_in_the_repository():
    for path in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text()):
        assert (README.parent / path).exists(), path
