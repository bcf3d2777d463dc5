import os

from tests.sanity.ignores import ROOT, VERSIONS, ignore_lines


def test_sanity_ignore_files_list_exactly_the_helm_templates():
    expected = ignore_lines()
    assert expected, "the fixture charts have templates"
    for version in VERSIONS:
        with open(os.path.join(ROOT, "tests", "sanity", "ignore-%s.txt" % version)) as handle:
            assert handle.read().splitlines() == expected, "run python tests/sanity/ignores.py"
