# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_observability: a revision's telemetry for Prometheus, Kiali and tracing."""
from __future__ import annotations

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils import _observability as observability
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import guarded, lifecycle_options, run_lifecycle


def _observability(module) -> lifecycle.Outcome:
    params = module.params
    options = lifecycle_options(module)
    cluster = connect(params)
    target = lifecycle.resolve_tag_target(cluster, params.get("revision"),
                                          None if params.get("revision") else params["control_plane"],
                                          params["namespace"])
    kiali = params.get("kiali")
    request = observability.ObservabilityRequest(
        revision=target.key.name, namespace=target.key.namespace, prometheus=params["prometheus"],
        monitor_labels=params["monitor_labels"], kiali=(kiali.get("namespace") or "istio-system", kiali["name"])
        if kiali else None, tracing_provider=params.get("tracing_provider") or "",
        sampling=params["tracing_sampling"])
    guarded(cluster, params, request.key)
    if params["state"] == "absent":
        return observability.remove(cluster, request, options)
    return observability.ensure(cluster, request, options)


def run_observability(module) -> None:
    run_lifecycle(module, lambda: _observability(module))
