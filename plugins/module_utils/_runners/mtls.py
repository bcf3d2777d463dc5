# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_mtls: mutual TLS for the mesh or namespaces."""
from __future__ import annotations

from typing import Any

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._mtls import MtlsRequest, apply_mtls, remove_mtls
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import guarded, lifecycle_options, run_lifecycle


def _mtls_action(module: Any, options: lifecycle.Options) -> lifecycle.Outcome:
    params = module.params
    request = MtlsRequest.from_params(params)
    cluster = guarded(connect(params), params, request.key)
    if params["state"] == "absent":
        return remove_mtls(cluster, request, options)
    return apply_mtls(cluster, request, options)


def run_mtls(module: Any) -> None:
    """istio_mtls: the module's whole body."""
    run_lifecycle(module, lambda: _mtls_action(module, lifecycle_options(module)))
