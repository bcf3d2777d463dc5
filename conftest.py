"""Root pytest configuration.

The repository root is the collection root. Ansible imports collection code as
``ansible_collections.servicemesh.istio``; this file makes that import path
exist for a plain clone by linking the checkout into a private collections
tree, and exports it for any ansible-playbook the tests start.
"""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.abspath(__file__))
COLLECTIONS_ROOT = os.path.join(ROOT, ".collections")


def _link_collection():
    namespace_dir = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "servicemesh")
    link = os.path.join(namespace_dir, "istio")
    os.makedirs(namespace_dir, exist_ok=True)
    if not os.path.islink(link):
        try:
            os.symlink(ROOT, link)
        except FileExistsError:  # another test worker made it first
            pass
    return COLLECTIONS_ROOT


def _export_collections_path(path):
    current = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
    parts = [p for p in current.split(os.pathsep) if p]
    if path not in parts:
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([path] + parts)


_collections = _link_collection()
if _collections not in sys.path:
    sys.path.insert(0, _collections)
_export_collections_path(_collections)

pytest_plugins = ["tests.kubeapi.fixtures", "tests.cluster.fixtures"]


@pytest.fixture(scope="session")
def collection_root():
    return ROOT
