# -*- coding: utf-8 -*-
"""What a module loads when Ansible starts it: the Helm SDK's Go library only where a module renders."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _helm

MODULES = "ansible_collections.servicemesh.istio.plugins.modules."


def _collections_dir():
    """The directory that holds this collection's ``ansible_collections`` tree (the checkout's, or the copy
    ansible-test runs the unit tests in)."""
    here = os.path.abspath(_helm.__file__)  # .../ansible_collections/servicemesh/istio/plugins/module_utils/_helm.py
    for _level in range(6):
        here = os.path.dirname(here)
    return here


def loaded_after_import(module):
    """The top-level packages in sys.modules once ``module`` is imported in a fresh interpreter."""
    code = ("import sys; import %s%s; print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
            % (MODULES, module))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([_collections_dir()] + sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("module", ["istio_info", "istio_labels", "istio_prune", "istio_node_rollout"])
def test_modules_that_never_render_do_not_load_the_helm_library(module):
    loaded = loaded_after_import(module)
    assert "kubernetes" in loaded, "the import worked"
    assert "helm_python" not in loaded


def test_rendering_modules_load_it_when_they_render():
    assert _helm.helm_library() is __import__("helm_python")
    assert _helm.helm_import_error() is None
