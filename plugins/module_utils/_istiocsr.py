# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert-manager's istio-csr as the mesh's CA: istiod's values, and the preflight that what they point at exists.

The guide sets ``global.caAddress`` to istio-csr's Service and turns istiod's own CA server off
(``ENABLE_CA_SERVER=false``); istio-csr then signs istiod's and the workloads' certificates with a
cert-manager issuer. Installed without istio-csr or its issuer, istiod starts without certificates and no
workload gets one: so both are checked before anything is written.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istiovalues import deep_merge
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef

CERT_MANAGER = "cert-manager.io/v1"
ISSUER_KINDS = ("Issuer", "ClusterIssuer")


class IstioCsrError(IstioError):
    """istio-csr settings that cannot work, or what they name is missing."""


@dataclass
class IstioCsr:
    service: str = "cert-manager-istio-csr"
    namespace: str = "istio-csr"
    port: int = 443
    issuer: str = "istio-ca"
    issuer_kind: str = "Issuer"
    issuer_namespace: str = ""  # an Issuer's; the control plane's namespace when empty

    @classmethod
    def from_params(cls, params: Optional[Mapping[str, Any]], control_plane_namespace: str) -> Optional["IstioCsr"]:
        if not params:
            return None
        issuer = params.get("issuer") or {}
        csr = cls(service=params.get("service") or cls.service, namespace=params.get("namespace") or cls.namespace,
                  port=params.get("port") or cls.port, issuer=issuer.get("name") or cls.issuer,
                  issuer_kind=issuer.get("kind") or cls.issuer_kind,
                  issuer_namespace=issuer.get("namespace") or control_plane_namespace)
        if csr.issuer_kind not in ISSUER_KINDS:
            raise IstioCsrError("cert_manager.issuer.kind must be Issuer or ClusterIssuer, not %r" % csr.issuer_kind)
        return csr

    @property
    def address(self) -> str:
        return "%s.%s.svc:%d" % (self.service, self.namespace, self.port)

    @property
    def issuer_ref(self) -> ObjectRef:
        namespace = self.issuer_namespace if self.issuer_kind == "Issuer" else None
        return ObjectRef.of(CERT_MANAGER, self.issuer_kind, self.issuer, namespace)


def istio_csr_values(values: Dict[str, Any], csr: Optional[IstioCsr]) -> Dict[str, Any]:
    """The guide's two settings under the user's values (a key the user sets stays theirs)."""
    if csr is None:
        return values
    wiring = {"global": {"caAddress": csr.address}, "pilot": {"env": {"ENABLE_CA_SERVER": "false"}}}
    return deep_merge(wiring, copy.deepcopy(values))


def preflight_problems(cluster: Any, csr: IstioCsr) -> List[str]:
    """What is missing for istio-csr to sign the mesh's certificates (reads only)."""
    problems = []
    if cluster.get(ObjectRef.of("v1", "Service", csr.service, csr.namespace)) is None:
        problems.append("istio-csr's Service %s/%s does not exist: install istio-csr (cert-manager's agent for "
                        "Istio) first, or name its Service in cert_manager.service and cert_manager.namespace"
                        % (csr.namespace, csr.service))
    if not cluster.is_served(CERT_MANAGER, csr.issuer_kind):
        problems.append("cert-manager is not installed: the cluster does not serve %s (%s)"
                        % (csr.issuer_kind, CERT_MANAGER))
    elif cluster.get(csr.issuer_ref) is None:
        where = " in namespace %s" % csr.issuer_namespace if csr.issuer_kind == "Issuer" else ""
        problems.append("the %s %s that istio-csr signs with does not exist%s" % (csr.issuer_kind, csr.issuer, where))
    return problems


def check(cluster: Any, csr: Optional[IstioCsr]) -> None:
    problems = preflight_problems(cluster, csr) if csr else []
    if problems:
        raise IstioCsrError("cert_manager: %s; nothing was changed" % "; ".join(problems))
