# -*- coding: utf-8 -*-
"""What a module loads when Ansible starts it: the Helm SDK's Go library only where a module renders."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULES = "ansible_collections.servicemesh.istio.plugins.modules."


def loaded_after_import(module):
    """The top-level packages in sys.modules once ``module`` is imported in a fresh interpreter."""
    code = ("import sys; import %s%s; print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
            % (MODULES, module))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "collections"), ROOT]))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return set(out.stdout.split())


@pytest.fixture(scope="module", autouse=True)
def collection_tree():
    if not os.path.isdir(os.path.join(ROOT, "collections", "ansible_collections", "servicemesh", "istio")):
        pytest.fail("collections/ansible_collections/servicemesh/istio is missing: run through hack/env.sh")


@pytest.mark.parametrize("module", ["istio_info", "istio_labels", "istio_prune"])
def test_modules_that_never_render_do_not_load_the_helm_library(module):
    loaded = loaded_after_import(module)
    assert "kubernetes" in loaded, "the import worked"
    assert "helm_python" not in loaded


def test_rendering_modules_load_it_when_they_render():
    from ansible_collections.servicemesh.istio.plugins.module_utils import _helm
    assert _helm.helm_library() is __import__("helm_python")
    assert _helm.helm_import_error() is None
