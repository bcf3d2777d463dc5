# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes Gateway API bundle (its CRDs and admission policies), which waypoints need.

A bundle file (the Gateway API's standard or experimental channel, or any file of the same kinds)
is read, parsed and checked before anything is sent: every document an object of a kind a
Gateway API bundle holds, named once, and the bundle defines ``Gateway``. The objects are then
decided by server dry run (CEL rules that do not compile, an invalid schema: refused with nothing
written), applied by server-side apply, and waited for where they report readiness through a
condition (CRDs ``Established``); admission policies and their bindings have no condition to wait
for. A second run with the same file changes nothing; the objects are never removed here.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import UnitResult
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import readiness_checks

try:
    import yaml
    _Loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
except ImportError:  # pragma: no cover - reported by the module
    yaml = None

GROUPS = ("gateway.networking.k8s.io", "gateway.networking.x-k8s.io")
GATEWAY_CRD = "gateways.gateway.networking.k8s.io"
CRD_API = "apiextensions.k8s.io/v1"
# (apiVersion, kind) of what a Gateway API bundle may hold besides its CRDs
ADMISSION_KINDS = {("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
                   ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding")}


class GatewayApiError(IstioError):
    """A Gateway API bundle that cannot be installed as it is."""


# -- reading and checking the bundle ----------------------------------------------------------------

def read_bundle(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise GatewayApiError("cannot read the Gateway API bundle %s: %s" % (path, getattr(exc, "strerror", None)
                                                                             or exc))


def parse_bundle(text: str, source: str) -> List[Dict[str, Any]]:
    """The bundle's objects, in file order; empty documents (a trailing ``---``) are skipped."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise GatewayApiError("the Gateway API bundle %s is not valid YAML: %s" % (source, exc))
    return [doc for doc in documents if doc is not None]


def bundle_problem(index: int, obj: Any) -> str:
    """Why document ``index`` (from 1) cannot be part of a Gateway API bundle; empty if it can."""
    if not isinstance(obj, Mapping):
        return "document %d is not an object" % index
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping) or not metadata.get("name"):
        return "document %d (%s) has no metadata.name" % (index, obj.get("kind") or "no kind")
    what = "document %d (%s %s)" % (index, obj.get("kind"), metadata["name"])
    kind = (obj.get("apiVersion"), obj.get("kind"))
    if kind == (CRD_API, "CustomResourceDefinition"):
        group = (obj.get("spec") or {}).get("group")
        if group not in GROUPS:
            return "%s defines group %r, not one of the Gateway API's (%s)" % (what, group, ", ".join(GROUPS))
        return ""
    if kind in ADMISSION_KINDS:
        return ""
    return "%s is of apiVersion %s, kind %s: a Gateway API bundle holds only its CRDs (%s) and admission policies" \
        % (what, obj.get("apiVersion"), obj.get("kind"), CRD_API)


def check_bundle(objects: List[Any], source: str) -> List[Dict[str, Any]]:
    """Every object one a Gateway API bundle holds, each named once, and ``Gateway`` among them."""
    problems = [problem for problem in (bundle_problem(i, obj) for i, obj in enumerate(objects, 1)) if problem]
    if not problems:
        refs = [ObjectRef.from_object(obj, namespaced=False) for obj in objects]
        problems = ["%s is in the bundle more than once" % ref for ref in sorted(set(r for r in refs
                                                                                     if refs.count(r) > 1))]
        names = {obj["metadata"]["name"] for obj in objects if obj.get("kind") == "CustomResourceDefinition"}
        if GATEWAY_CRD not in names:
            problems.append("it does not define %s, which waypoints need" % GATEWAY_CRD)
    if problems:
        raise GatewayApiError("the Gateway API bundle %s cannot be installed (nothing was changed): %s"
                              % (source, "; ".join(problems)))
    return objects


def load_bundle(path: str) -> List[Dict[str, Any]]:
    return check_bundle(parse_bundle(read_bundle(path), path), path)


# -- installing it --------------------------------------------------------------------------------

def install_bundle(cluster: Any, objects: List[Dict[str, Any]], options: lifecycle.Options) -> lifecycle.Outcome:
    """Apply the bundle (every object decided by dry run first), then wait for what has a readiness condition."""
    applier = Applier(cluster, force_conflicts=options.force_conflicts, check_mode=options.check_mode)
    outcome = lifecycle.Outcome()
    outcome.results.append(UnitResult(list(applier.apply(objects).objects), options.check_mode))
    checks = readiness_checks(objects)
    lifecycle.wait_for(cluster, checks, options)
    outcome.facts = {"waited_for": [str(check.ref) for check in checks],
                     "crds": sorted(obj["metadata"]["name"] for obj in objects
                                    if obj["kind"] == "CustomResourceDefinition")}
    return outcome
