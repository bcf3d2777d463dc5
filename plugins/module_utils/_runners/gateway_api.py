# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_gateway_api: the Gateway API CRDs from the user's bundle file."""
from __future__ import annotations

from typing import Any

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._gateway_api import install_bundle, load_bundle, yaml
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import lifecycle_options, run_lifecycle


def _gateway_api_action(module: Any, options: lifecycle.Options) -> lifecycle.Outcome:
    objects = load_bundle(module.params["src"])  # before connecting: a bad file needs no cluster
    return install_bundle(connect(module.params), objects, options)


def run_gateway_api(module: Any) -> None:
    """istio_gateway_api: the module's whole body."""
    if yaml is None:
        module.fail_json(msg="the PyYAML Python package is required")
    run_lifecycle(module, lambda: _gateway_api_action(module, lifecycle_options(module)))
