# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving workloads to a revision, batch by batch: the second half of a canary upgrade.

Either a tag moves (and the namespaces that name it are restarted) or namespaces are relabelled to the
revision. Each batch is relabelled, its workloads restarted as ``kubectl rollout restart`` does, and
waited for on a wall-clock deadline until every running pod of the batch carries the revision; the first
batch that does not stops the run, saying where. What already runs the revision is left alone, so a
re-run after a failure restarts only what still needs it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _clock as clock
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import (
    INJECTION_LABEL, REV_LABEL, UsageIndex, namespace_reference, pod_is_running)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import VersionCatalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import ManifestRenderer
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import SystemClock

TAG, NAMESPACES = "tag", "namespaces"
FIELD_MANAGER = "servicemesh-istio-migrate"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # what kubectl rollout restart sets


class MigrationError(IstioError):
    """A migration that cannot start, or a batch that did not finish."""


@dataclass
class MigrationRequest:
    control_plane: str = "default"
    namespace: str = "istio-system"
    revision: Optional[str] = None  # the target; the control plane's active revision by default
    move: str = TAG
    tag: str = "default"
    namespaces: List[str] = field(default_factory=list)
    batch_size: int = 1
    restart: bool = True
    restart_kinds: List[str] = field(default_factory=lambda: ["Deployment"])
    interval: float = 2.0


# -- decisions -----------------------------------------------------------------------------------------

def namespaces_to_move(request: MigrationRequest, index: UsageIndex) -> List[str]:
    """The listed namespaces; with a tag and no list, those whose labels name the tag."""
    if request.namespaces:
        return list(dict.fromkeys(request.namespaces))
    if request.move == NAMESPACES:
        raise MigrationError("moving namespaces needs the namespaces to move")
    return sorted(name for name, ns in index.namespaces.items() if namespace_reference(ns) == request.tag)


def pods_elsewhere(index: UsageIndex, namespaces: Sequence[str], target: str) -> List[Tuple[str, str]]:
    """(pod, revision) for the running pods of ``namespaces`` on a revision other than ``target``."""
    wanted = set(namespaces)
    found = []
    for pod in index.pods:
        meta = pod["metadata"]
        revision = index.pod_revision(pod)
        if meta.get("namespace") in wanted and pod_is_running(pod) and revision and revision != target:
            found.append(("%s/%s" % (meta.get("namespace"), meta["name"]), revision))
    return sorted(found)


def relabel(namespace: Mapping[str, Any], target: str) -> Optional[Dict[str, Any]]:
    """The merge patch that points a namespace at ``target`` (the revision label, and no istio-injection,
    which would win over it), or None when it already does."""
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    if labels.get(REV_LABEL) == target and INJECTION_LABEL not in labels:
        return None
    return {"metadata": {"labels": {REV_LABEL: target, INJECTION_LABEL: None}}}


def restart_patch(moment: str) -> Dict[str, Any]:
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: moment}}}}}


def batches(names: Sequence[str], size: int) -> List[List[str]]:
    return [list(names[start:start + size]) for start in range(0, len(names), size)]


def stopped_message(number: int, plan: List[List[str]], reason: str, stuck: List[Tuple[str, str]],
                    target: str) -> str:
    """Where a migration stopped: the batch, why, what is stuck, what is done and what is untouched."""
    batch = plan[number - 1]
    parts = ["batch %d of %d (%s) failed: %s." % (number, len(plan), ", ".join(batch), reason.rstrip("."))]
    if stuck:
        parts.append("Pods still on another revision: %s." % ", ".join("%s (%s)" % item for item in stuck))
    done = [name for earlier in plan[:number - 1] for name in earlier]
    later = [name for rest in plan[number:] for name in rest]
    if done:
        parts.append("The earlier batches (%s) use %s." % (", ".join(done), target))
    if later:
        parts.append("The later batches (%s) were not touched." % ", ".join(later))
    parts.append("Fix the cause and run again.")
    return " ".join(parts)


# -- the run -------------------------------------------------------------------------------------------

def target_record(cluster: Any, request: MigrationRequest) -> InventoryRecord:
    name = request.revision
    if not name:
        record = inventory.load(cluster, request.namespace, lifecycle.CONTROL_PLANE, request.control_plane)
        name = record.metadata.get("activeRevision") if record else None
        if not name:
            raise MigrationError("control plane %s is not installed in namespace %s; install it first"
                                 % (request.control_plane, request.namespace))
    found = lifecycle.find_revision(cluster, name, request.namespace)
    if found is None:
        raise MigrationError("revision %r does not exist in namespace %s" % (name, request.namespace))
    return found


@dataclass
class Migration:
    """What a run did (or, in check mode, would do), batch by batch."""

    revision: str
    namespaces: List[str]
    batches: List[Dict[str, Any]] = field(default_factory=list)
    tag: Optional[lifecycle.Outcome] = None
    diff: Dict[str, Dict[str, Any]] = field(default_factory=lambda: {"before": {}, "after": {}})

    @property
    def changed(self) -> bool:
        return bool((self.tag and self.tag.changed)
                    or any(b["relabelled"] or b["restarted"] for b in self.batches))


def migrate(cluster: Any, renderer: ManifestRenderer, catalog: VersionCatalog, request: MigrationRequest,
            options: lifecycle.Options, timer: Any = SystemClock) -> Migration:
    target = target_record(cluster, request)
    index = lifecycle.usage_index(cluster)
    names = namespaces_to_move(request, index)
    missing = [name for name in names if name not in index.namespaces]
    if missing:
        raise MigrationError("namespaces to move do not exist: %s" % ", ".join(missing))
    result = Migration(target.key.name, names)
    if request.move == TAG:
        result.tag = lifecycle.install_tag(cluster, renderer, catalog, request.tag, target, options)
    stale = {pod.split("/", 1)[0] for pod, _unused in pods_elsewhere(index, names, target.key.name)}
    workloads = _workloads(cluster, request, stale)
    plan = batches(names, request.batch_size)
    for number, batch in enumerate(plan, 1):
        try:
            result.batches.append(_move_batch(cluster, request, options, index, batch, workloads, result, timer))
        except IstioError as exc:
            stuck = pods_elsewhere(_fresh_index(cluster, batch), batch, target.key.name)
            raise MigrationError(stopped_message(number, plan, str(exc), stuck, target.key.name)) from exc
    return result


def _workloads(cluster: Any, request: MigrationRequest, namespaces: Set[str]) -> List[Dict[str, Any]]:
    if not request.restart or not namespaces:
        return []
    return [obj for kind in request.restart_kinds for obj in cluster.list("apps/v1", kind)
            if obj["metadata"].get("namespace") in namespaces]


def _move_batch(cluster: Any, request: MigrationRequest, options: lifecycle.Options, index: UsageIndex,
                batch: List[str], workloads: List[Dict[str, Any]], result: Migration, timer: Any) -> Dict[str, Any]:
    target = result.revision
    done: Dict[str, Any] = {"namespaces": batch, "relabelled": [], "restarted": []}
    if request.move == NAMESPACES:
        for name in batch:
            patch = relabel(index.namespaces[name], target)
            if patch is not None:
                _patch(cluster, index.namespaces[name], patch, options, result)
                done["relabelled"].append(name)
    moment = clock.format_time(clock.utcnow())
    for workload in (w for w in workloads if w["metadata"]["namespace"] in batch):
        done["restarted"].append(_patch(cluster, workload, restart_patch(moment), options, result))
    if (done["relabelled"] or done["restarted"]) and options.wait and not options.check_mode:
        _wait_for_batch(cluster, batch, target, options.wait_timeout, request.interval, timer)
    return done


def _patch(cluster: Any, live: Mapping[str, Any], patch: Dict[str, Any], options: lifecycle.Options,
           result: Migration) -> str:
    """Patch ``live`` (as read), recording the touched part before and after; returns what it names."""
    ref = ObjectRef.from_object(live, namespaced=bool(live["metadata"].get("namespace")))
    key = "%s %s" % (ref.kind, "%s/%s" % (ref.namespace, ref.name) if ref.namespace else ref.name)
    result.diff["before"][key] = _patched_part(live, patch)
    after = cluster.patch(ref, patch, FIELD_MANAGER, dry_run=options.check_mode)
    result.diff["after"][key] = _patched_part(after, patch)
    return key


def _patched_part(obj: Mapping[str, Any], patch: Mapping[str, Any]) -> Any:
    """The part of ``obj`` the patch touches (for the diff)."""
    if not isinstance(patch, Mapping):
        return obj
    return {key: _patched_part((obj or {}).get(key) or {}, value) if isinstance(value, Mapping)
            else (obj or {}).get(key) for key, value in patch.items()}


def _fresh_index(cluster: Any, batch: List[str]) -> UsageIndex:
    pods = [pod for name in batch for pod in cluster.list("v1", "Pod", namespace=name)]
    return UsageIndex(cluster.list("v1", "Namespace"), pods, lifecycle.tag_targets(cluster))


def _wait_for_batch(cluster: Any, batch: List[str], target: str, timeout: float, interval: float,
                    timer: Any) -> None:
    """Until every running pod of the batch carries ``target``, on a wall-clock deadline."""
    deadline = timer.monotonic() + timeout
    while pods_elsewhere(_fresh_index(cluster, batch), batch, target):
        if timer.monotonic() >= deadline:
            raise MigrationError("not every running pod carried %s after %g seconds" % (target, timeout))
        timer.sleep(min(interval, max(deadline - timer.monotonic(), 0.1)))
