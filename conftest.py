"""Root pytest configuration.

The repository root is the collection root. Ansible imports collection code as
``ansible_collections.servicemesh.istio``; pytest-ansible makes that import path exist. Started
in this directory, it reads the collection's name from galaxy.yml, uses (or makes) the tree
collections/ansible_collections/servicemesh/istio (hack/env.sh makes it a link to the checkout),
puts it on sys.path and in Ansible's collection finder, and exports ANSIBLE_COLLECTIONS_PATH for
any ansible-playbook the tests start.
"""
import os
from pathlib import Path

import pytest
from pytest_ansible.units import inject

ROOT = os.path.dirname(os.path.abspath(__file__))
COLLECTIONS_ROOT = os.path.join(ROOT, "collections")

pytest_plugins = ["tests.kubeapi.fixtures", "tests.cluster.fixtures"]


def use_collection():
    """What pytest-ansible does when pytest starts here, for scripts run outside pytest (the benchmarks)."""
    inject(Path(ROOT))


def pytest_configure(config):
    # (Runs before pytest-ansible's pytest_configure.)
    if config.pluginmanager.has_plugin("ansible_pytest_collections"):
        # ansible-test units: the checkout's copy already sits in a collection tree, which ansible-test's
        # collection finder serves; pytest-ansible takes that tree instead of making one.
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(Path(ROOT).parents[2])
        config.option.ansible_unit_inject_only = True
        # ansible-test runs each test in a fork of its worker. The Helm engine is a Go library, and a Go
        # runtime does not survive fork() once loaded: the tests run in the workers, as under plain pytest.
        config.pluginmanager.set_blocked("ansible_forked")
    elif Path(config.invocation_params.dir).resolve() != Path(ROOT).resolve():
        # pytest-ansible sets the collection up only when pytest starts in the collection root.
        use_collection()


@pytest.fixture(scope="session")
def collection_root():
    return ROOT


# The longest test files, longest first (from the durations the test command prints). The test command hands
# whole files to its two workers in collection order (``--no-loadscope-reorder``); starting with the longest
# lets both workers finish together, instead of one running a long file alone at the end.
LONGEST_FIRST = (
    "tests/integration/test_multicluster.py",
    "tests/integration/test_kill_resume_multicluster.py",
    "tests/integration/test_multicluster_dataplane.py",
    "tests/integration/test_kill_resume.py",
    "tests/integration/test_bad_input.py",
    "tests/integration/test_ambient.py",
    "tests/sanity/test_ansible_test.py",
    "tests/integration/test_multicluster_modules.py",
    "tests/integration/test_molecule.py",
    "tests/integration/test_ambient_molecule.py",
    "tests/integration/test_lint.py",
)


def pytest_collection_modifyitems(items):
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))
