"""Simulation of what a cluster's controllers and kubelets would do, all
switchable through ``SimConfig``:

* workloads (Deployment, DaemonSet, StatefulSet, ReplicaSet) report ready
  status after each write, unless named in the *unready* set;
* optional Pods for workloads (Deployment -> ReplicaSet -> Pods, DaemonSet and
  StatefulSet -> Pods), replaced when the pod template changes (rollout
  restart), re-evaluated for sidecar injection;
* Pods created through the API become Running and Ready on a node;
* LoadBalancer Services get an ingress IP;
* istiod's CA is written into the injector webhooks of Istio revisions (``istio.io/rev``), as istiod does;
* Node objects according to the node count;
* ``create_pods``: pods with given labels/annotations/phase, optionally
  injected the way Istio's mutating webhooks would decide."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, asdict
from typing import Any, Optional

from .api import NAME_CHARS, deep, now, random_suffix
from .registry import ResourceType
from .selectors import selector_matches
from .store import meta

WORKLOAD_KINDS = {("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "StatefulSet"), ("apps", "ReplicaSet")}
KUBE_VERSION = "v1.32.4"
SIMULATED_CA = "c2ltdWxhdGVkIGlzdGlvZCBDQQ=="  # base64 of a placeholder: nothing verifies it here


@dataclass
class SimConfig:
    workloads: bool = True           # workloads report ready status
    pods: bool = False               # create Pods for every workload (see also simulate_pods)
    pod_status: bool = True          # Pods created through the API become Running/Ready
    load_balancer: bool = True       # LoadBalancer Services get status.loadBalancer.ingress
    namespace_bootstrap: bool = True  # default ServiceAccount and kube-root-ca.crt in new namespaces
    webhook_ca: bool = True          # injector webhooks of Istio revisions get a caBundle
    nodes: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


def template_hash(template: Any) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(NAME_CHARS[b % len(NAME_CHARS)] for b in digest[:10])


def owner_ref(obj: dict, controller: bool = True) -> dict:
    m = meta(obj)
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": m["name"], "uid": m["uid"],
            "controller": controller, "blockOwnerDeletion": True}


def revision_of(mwc: dict, hook: dict) -> str:
    """The revision an Istio injector webhook stands for."""
    labels = meta(mwc).get("labels") or {}
    if labels.get("istio.io/rev"):
        return labels["istio.io/rev"]
    service = ((hook.get("clientConfig") or {}).get("service") or {}).get("name", "")
    if service.startswith("istiod-"):
        return service[len("istiod-"):]
    return "default"


def _rule_matches_pod_create(rule: dict) -> bool:
    def has(values: Any, wanted: str) -> bool:
        return "*" in (values or []) or wanted in (values or [])
    return (has(rule.get("apiGroups"), "") and has(rule.get("apiVersions"), "v1")
            and (has(rule.get("resources"), "pods") or "*/*" in (rule.get("resources") or []))
            and has(rule.get("operations"), "CREATE"))


class SimulationMixin:
    config: SimConfig

    def _init_simulation(self) -> None:
        self.unready: set = set()
        self.pod_workloads: set = set()
        self._making_pods = False
        self._in_daemon_reconcile = False  # the simulated DaemonSet controller is at work (not re-entrant)

    # -- knobs --------------------------------------------------------------------------

    def workload_key(self, kind: str, namespace: str, name: str) -> tuple:
        rt = self.resolve_kind(kind)
        return (rt.kind if rt else kind, namespace or "", name)

    def resolve_kind(self, kind: str) -> Optional[ResourceType]:
        wanted = kind.lower()
        for rt in self.registry.stored_types():
            if wanted in (rt.kind.lower(), rt.plural, rt.singular) or wanted in rt.short_names:
                return rt
        return None

    def set_unready(self, kind: str, namespace: str, name: str, unready: bool = True) -> None:
        key = self.workload_key(kind, namespace, name)
        with self.store.lock:
            (self.unready.add if unready else self.unready.discard)(key)
            self._resimulate(key)

    def simulate_pods(self, kind: str, namespace: str, name: str, enabled: bool = True) -> None:
        key = self.workload_key(kind, namespace, name)
        with self.store.lock:
            (self.pod_workloads.add if enabled else self.pod_workloads.discard)(key)
            self._resimulate(key)

    def _resimulate(self, key: tuple) -> None:
        rt = self.resolve_kind(key[0])
        if rt is None:
            return
        obj = self.lookup(rt, key[1], key[2])
        if obj is not None:
            self.simulate_after_write(rt, obj, obj)

    def set_nodes(self, count: int) -> None:
        with self.store.lock:
            self.config.nodes = count
            node_rt = self.registry.storage_type("", "nodes")
            existing = self.store.items(node_rt.gr)
            wanted = {f"node-{i}" for i in range(1, count + 1)}
            for node in existing:
                if meta(node)["name"].startswith("node-") and meta(node)["name"] not in wanted:
                    self.finish_deletion(node_rt, node)
            have = {meta(n)["name"] for n in self.store.items(node_rt.gr)}
            for i in range(1, count + 1):
                if f"node-{i}" not in have:
                    self._create_node(i)
            self._resimulate_kind("apps", "daemonsets")

    def _resimulate_kind(self, group: str, plural: str) -> None:
        rt = self.registry.storage_type(group, plural)
        for obj in self.store.items(rt.gr):
            self.simulate_after_write(rt, obj, obj)

    def _create_node(self, index: int) -> None:
        name = f"node-{index}"
        resources = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
        status = {
            "capacity": resources, "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": now(),
                            "lastTransitionTime": now(), "reason": "KubeletReady",
                            "message": "kubelet is posting ready status"}],
            "addresses": [{"type": "InternalIP", "address": f"172.18.0.{index + 1}"},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": KUBE_VERSION,
                         "kubeProxyVersion": KUBE_VERSION, "containerRuntimeVersion": "containerd://1.7.24",
                         "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0",
                         "machineID": "", "systemUUID": "", "bootID": ""},
        }
        self.create_internal("", "Node", {
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                                                  "beta.kubernetes.io/arch": "amd64"}},
            "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
            "status": status}, manager="kubelet")

    # -- reactions ----------------------------------------------------------------------

    def simulate_after_write(self, rt: ResourceType, old: Optional[dict], new: dict) -> None:
        kind = (rt.group, rt.kind)
        if kind in WORKLOAD_KINDS:
            if meta(new).get("deletionTimestamp"):
                return
            if self._wants_pods(rt, new):
                self._reconcile_pods(rt, new)
            if self.config.workloads:
                self._set_workload_status(rt, new)
        elif kind == ("", "Pod") and old is None and self.config.pod_status and not self._making_pods:
            self._run_pod(rt, new, ready=True)
        elif kind == ("", "Service") and self.config.load_balancer:
            self._assign_load_balancer(rt, new)
        elif kind == ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") and self.config.webhook_ca \
                and (meta(new).get("labels") or {}).get("istio.io/rev"):
            self._write_webhook_ca(rt, new)

    def _write_webhook_ca(self, rt: ResourceType, mwc: dict) -> None:
        """As istiod does for its revision's webhooks (here without waiting for an istiod)."""
        def change(obj: dict) -> None:
            for hook in obj.get("webhooks") or []:
                config = hook.setdefault("clientConfig", {})
                if config.get("service") and not config.get("caBundle"):
                    config["caBundle"] = SIMULATED_CA
        self.controller_write(rt, mwc, change, manager="pilot-discovery", subresource="")

    def simulate_after_delete(self, rt: ResourceType, obj: dict) -> None:
        if (rt.group, rt.kind) == ("", "Node"):
            self._resimulate_kind("apps", "daemonsets")
        elif (rt.group, rt.kind) == ("", "Pod"):
            for ref in meta(obj).get("ownerReferences") or []:
                found = self.store.by_uid(ref.get("uid", ""))
                if not found:
                    continue
                owner_rt = self.registry.storage_type(*found[0])
                owner = self.store.get(*found)
                if owner is not None and owner_rt is not None and self._wants_pods(owner_rt, owner) \
                        and not meta(owner).get("deletionTimestamp") and not self._namespace_terminating(found[1]):
                    self._reconcile_pods(owner_rt, owner)
                    if owner_rt.kind == "DaemonSet" and self.config.workloads:
                        self._set_workload_status(owner_rt, self.store.get(*found))

    def _namespace_terminating(self, namespace: str) -> bool:
        ns = self.store.get(("", "namespaces"), "", namespace)
        return ns is None or bool(meta(ns).get("deletionTimestamp"))

    def _wants_pods(self, rt: ResourceType, obj: dict) -> bool:
        if rt.kind == "ReplicaSet":
            return any(r.get("kind") == "Deployment" and self._wants_pods_key("Deployment", meta(obj), r["name"])
                       for r in meta(obj).get("ownerReferences") or []) or \
                self._wants_pods_key("ReplicaSet", meta(obj), meta(obj)["name"])
        return self._wants_pods_key(rt.kind, meta(obj), meta(obj)["name"])

    def _wants_pods_key(self, kind: str, m: dict, name: str) -> bool:
        return self.config.pods or (kind, m.get("namespace", ""), name) in self.pod_workloads

    def _is_unready(self, kind: str, obj: dict) -> bool:
        m = meta(obj)
        if (kind, m.get("namespace", ""), m["name"]) in self.unready:
            return True
        if kind == "ReplicaSet":
            return any((r.get("kind"), m.get("namespace", ""), r.get("name")) in self.unready
                       for r in m.get("ownerReferences") or [])
        return False

    # -- workload status ----------------------------------------------------------------

    def _set_workload_status(self, rt: ResourceType, obj: dict) -> None:
        unready = self._is_unready(rt.kind, obj)
        generation = meta(obj).get("generation", 1)
        spec = obj.get("spec") or {}
        if rt.kind == "DaemonSet" and self._wants_pods(rt, obj):
            status = self._daemonset_status_from_pods(obj, generation)
        elif rt.kind == "DaemonSet":
            status = _daemonset_status(self._node_count_for(spec), unready, generation)
        else:
            replicas = spec.get("replicas", 1)
            status = _replica_status(rt.kind, meta(obj)["name"], replicas, unready, generation,
                                     template_hash(spec.get("template")), obj.get("status") or {})
        self.controller_write(rt, obj, lambda o: o.__setitem__("status", status))

    def _daemonset_status_from_pods(self, ds: dict, generation: int) -> dict:
        """Counts as the DaemonSet controller reports them from its pods."""
        digest = template_hash((ds.get("spec") or {}).get("template"))
        pods = self._owned(ds, self.registry.storage_type("", "pods"))
        ready = [p for p in pods if any(c.get("type") == "Ready" and c.get("status") == "True"
                                        for c in (p.get("status") or {}).get("conditions") or [])]
        desired = len(self._node_names_for(ds.get("spec") or {}))
        updated = [p for p in pods if (meta(p).get("annotations") or {}).get("kubeapi.test/template-hash") == digest]
        return {"currentNumberScheduled": len(pods), "desiredNumberScheduled": desired, "numberMisscheduled": 0,
                "numberReady": len(ready), "numberAvailable": len(ready),
                "numberUnavailable": max(desired - len(ready), 0), "observedGeneration": generation,
                "updatedNumberScheduled": len(updated)}

    def _node_count_for(self, spec: dict) -> int:
        selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        nodes = self.store.items(("", "nodes"))
        return sum(1 for n in nodes if all((meta(n).get("labels") or {}).get(k) == v for k, v in selector.items()))

    def _assign_load_balancer(self, rt: ResourceType, svc: dict) -> None:
        spec = svc.get("spec") or {}
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if spec.get("type") != "LoadBalancer" or ingress:
            return
        self._next_lb_ip += 1
        ip = f"172.18.255.{self._next_lb_ip}"
        self.controller_write(rt, svc, lambda o: o.__setitem__(
            "status", {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}))

    # -- pods -----------------------------------------------------------------------------

    def _reconcile_pods(self, rt: ResourceType, obj: dict) -> None:
        if self._namespace_terminating(meta(obj).get("namespace", "")):
            return
        if rt.kind == "Deployment":
            self._reconcile_deployment(obj)
            return
        spec = obj.get("spec") or {}
        template = spec.get("template") or {}
        if rt.kind == "DaemonSet":
            self._reconcile_daemonset(obj)
            return
        if rt.kind == "StatefulSet":
            wanted = spec.get("replicas", 1)
            extra_labels = {"controller-revision-hash": f"{meta(obj)['name']}-{template_hash(template)}"}
        else:
            wanted = spec.get("replicas", 1)
            extra_labels = {}
        self._sync_owned_pods(obj, template, wanted, extra_labels, rt.kind)

    def _reconcile_deployment(self, deploy: dict) -> None:
        spec = deploy.get("spec") or {}
        template = spec.get("template") or {}
        digest = template_hash(template)
        m = meta(deploy)
        rs_name = f"{m['name']}-{digest}"
        rs_rt = self.registry.storage_type("apps", "replicasets")
        for rs in self._owned(deploy, rs_rt):
            if meta(rs)["name"] != rs_name and (rs.get("spec") or {}).get("replicas", 0) != 0:
                self._scale_replica_set(rs_rt, rs, 0)
        current = self.store.get(rs_rt.gr, m["namespace"], rs_name)
        replicas = spec.get("replicas", 1)
        if current is None:
            labels = dict((template.get("metadata") or {}).get("labels") or {}, **{"pod-template-hash": digest})
            rs_template = deep(template)
            rs_template.setdefault("metadata", {})["labels"] = labels
            self.create_internal("apps", "ReplicaSet", {
                "metadata": {"name": rs_name, "namespace": m["namespace"], "labels": labels,
                             "annotations": {"deployment.kubernetes.io/revision": str(m.get("generation", 1))},
                             "ownerReferences": [owner_ref(deploy)]},
                "spec": {"replicas": replicas,
                         "selector": {"matchLabels": dict((spec.get("selector") or {}).get("matchLabels") or {},
                                                          **{"pod-template-hash": digest})},
                         "template": rs_template}})
        elif (current.get("spec") or {}).get("replicas") != replicas:
            self._scale_replica_set(rs_rt, current, replicas)

    def _scale_replica_set(self, rs_rt: ResourceType, rs: dict, replicas: int) -> None:
        """The deployment controller scales; the replica-set controller follows."""
        scaled = self.controller_write(rs_rt, rs, lambda o: o["spec"].__setitem__("replicas", replicas),
                                       subresource="")
        self.simulate_after_write(rs_rt, rs, scaled)

    def _owned(self, owner: dict, rt: ResourceType) -> list[dict]:
        out = []
        for gr, ns, name in self.store.dependents(meta(owner)["uid"]):
            if gr == rt.gr:
                obj = self.store.get(gr, ns, name)
                if obj is not None and not meta(obj).get("deletionTimestamp"):
                    out.append(obj)
        return out

    def _reconcile_daemonset(self, ds: dict) -> None:
        """One pod per matching node. RollingUpdate replaces pods of an older template at once (no
        surge pacing); OnDelete leaves them until someone deletes them, as the controller does."""
        if self._in_daemon_reconcile:
            return
        spec = ds.get("spec") or {}
        template = spec.get("template") or {}
        digest = template_hash(template)
        on_delete = (spec.get("updateStrategy") or {}).get("type") == "OnDelete"
        pod_rt = self.registry.storage_type("", "pods")
        nodes = self._node_names_for(spec)
        placed: dict = {}
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **{
            "controller-revision-hash": digest, "pod-template-generation": str(meta(ds).get("generation", 1))})
        annotations = dict((template.get("metadata") or {}).get("annotations") or {},
                           **{"kubeapi.test/template-hash": digest})
        # Deletions finish while this runs; their replacements are this run's job, not a nested one's.
        self._in_daemon_reconcile = True
        try:
            for pod in self._owned(ds, pod_rt):
                node = (pod.get("spec") or {}).get("nodeName")
                stale = (meta(pod).get("annotations") or {}).get("kubeapi.test/template-hash") != digest
                if node not in nodes or node in placed or (stale and not on_delete):
                    self.delete_object(pod_rt, pod, "Background")
                else:
                    placed[node] = pod
            for node in nodes:
                if node not in placed:
                    self.make_pod(meta(ds)["namespace"], f"{meta(ds)['name']}-{random_suffix()}", labels,
                                  annotations, (template.get("spec") or {}), owner=ds, inject=True, node=node,
                                  ready=not self._is_unready("DaemonSet", ds))
        finally:
            self._in_daemon_reconcile = False

    def _node_names_for(self, spec: dict) -> list:
        selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        return [meta(n)["name"] for n in self.store.items(("", "nodes"))
                if all((meta(n).get("labels") or {}).get(k) == v for k, v in selector.items())]

    def _sync_owned_pods(self, owner: dict, template: dict, wanted: int, extra_labels: dict, kind: str) -> None:
        pod_rt = self.registry.storage_type("", "pods")
        digest = template_hash(template)
        pods = self._owned(owner, pod_rt)
        stale = [p for p in pods if (meta(p).get("annotations") or {}).get("kubeapi.test/template-hash") != digest]
        fresh = [p for p in pods if p not in stale]
        for pod in stale + fresh[wanted:]:
            self.delete_object(pod_rt, pod, "Background")
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **extra_labels)
        annotations = dict((template.get("metadata") or {}).get("annotations") or {},
                           **{"kubeapi.test/template-hash": digest})
        name = meta(owner)["name"]
        nodes = [meta(n)["name"] for n in self.store.items(("", "nodes"))] or ["node-1"]
        for index in range(len(fresh[:wanted]), wanted):
            pod_name = f"{name}-{index}" if kind == "StatefulSet" else f"{name}-{random_suffix()}"
            self.make_pod(meta(owner)["namespace"], pod_name, labels, annotations,
                          (template.get("spec") or {}), owner=owner, inject=True,
                          node=nodes[index % len(nodes)], ready=not self._is_unready(kind, owner))

    def make_pod(self, namespace: str, name: str, labels: dict, annotations: dict, spec: dict,
                 owner: Optional[dict] = None, inject: bool = False, phase: str = "Running",
                 ready: Optional[bool] = None, node: str = "node-1") -> dict:
        labels = dict(labels or {})
        annotations = dict(annotations or {})
        spec = deep(spec or {})
        spec.setdefault("containers", [{"name": "app", "image": "registry.example/app:1.0"}])
        spec.setdefault("nodeName", node)
        if inject:
            self._inject(namespace, labels, annotations, spec)
        body = {"metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
                "spec": spec}
        if owner is not None:
            body["metadata"]["ownerReferences"] = [owner_ref(owner)]
        if not body["metadata"]["annotations"]:
            del body["metadata"]["annotations"]
        self._making_pods = True
        try:
            pod = self.create_internal("", "Pod", body, manager="kube-controller-manager")
        finally:
            self._making_pods = False
        return self._run_pod(self.registry.storage_type("", "pods"), pod,
                             ready=(phase == "Running") if ready is None else ready, phase=phase)

    def _run_pod(self, rt: ResourceType, pod: dict, ready: bool, phase: str = "Running") -> dict:
        spec = pod.get("spec") or {}
        node = spec.get("nodeName") or "node-1"
        index = int(node.rsplit("-", 1)[-1]) if node.rsplit("-", 1)[-1].isdigit() else 1
        self._next_ip += 1
        pod_ip = f"10.244.{index}.{self._next_ip % 250 + 2}"
        started = now()
        truthy = "True" if ready and phase == "Running" else "False"
        conditions = [{"type": t, "status": "True" if t in ("PodScheduled", "Initialized",
                                                            "PodReadyToStartContainers") or truthy == "True"
                       else "False", "lastProbeTime": None, "lastTransitionTime": started}
                      for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                "PodScheduled")]
        statuses = [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": truthy == "True",
                     "restartCount": 0, "started": phase == "Running", "containerID": "containerd://" + c.get("name", ""),
                     "state": {"running": {"startedAt": started}} if phase == "Running" else
                     {"waiting": {"reason": "ContainerCreating"}} if phase == "Pending" else
                     {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1, "reason": "Completed"
                                     if phase == "Succeeded" else "Error", "startedAt": started, "finishedAt": started}}}
                    for c in spec.get("containers") or []]
        status = {"phase": phase, "conditions": conditions, "hostIP": f"172.18.0.{index + 1}",
                  "hostIPs": [{"ip": f"172.18.0.{index + 1}"}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                  "startTime": started, "containerStatuses": statuses, "qosClass": "BestEffort"}

        def change(obj: dict) -> None:
            obj["status"] = status
            obj["spec"].setdefault("nodeName", node)
        return self.controller_write(rt, pod, change, manager="kubelet")

    # -- injection --------------------------------------------------------------------------

    def injection_for(self, namespace: str, pod_labels: dict) -> Optional[tuple[str, dict, dict]]:
        """(revision, webhook configuration, webhook) of the first mutating webhook
        that would be called for a Pod CREATE with these labels in this namespace."""
        ns = self.store.get(("", "namespaces"), "", namespace)
        ns_labels = (meta(ns).get("labels") or {}) if ns else {}
        mwcs = self.store.items(("admissionregistration.k8s.io", "mutatingwebhookconfigurations"))
        for mwc in mwcs:
            for hook in mwc.get("webhooks") or []:
                if not any(_rule_matches_pod_create(r) for r in hook.get("rules") or []):
                    continue
                if selector_matches(hook.get("namespaceSelector") or {}, ns_labels) and \
                        selector_matches(hook.get("objectSelector") or {}, pod_labels):
                    return revision_of(mwc, hook), mwc, hook
        return None

    def _proxy_image(self, hook: dict) -> str:
        service = (hook.get("clientConfig") or {}).get("service") or {}
        deploy = self.store.get(("apps", "deployments"), service.get("namespace", ""), service.get("name", ""))
        for container in (((deploy or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get(
                "containers") or []:
            image = container.get("image") or ""
            if "/pilot" in image or image.startswith("pilot"):
                return image.replace("pilot", "proxyv2", 1)
        return "docker.io/istio/proxyv2"

    def _inject(self, namespace: str, labels: dict, annotations: dict, spec: dict) -> Optional[str]:
        found = self.injection_for(namespace, labels)
        if found is None:
            return None
        revision, _unused, hook = found
        annotations["istio.io/rev"] = revision
        annotations["sidecar.istio.io/status"] = json.dumps(
            {"initContainers": None, "containers": ["istio-proxy"], "volumes": ["istio-envoy", "istio-data",
             "istio-podinfo", "istio-token", "istiod-ca-cert"], "imagePullSecrets": None, "revision": revision},
            separators=(",", ":"))
        labels.setdefault("security.istio.io/tlsMode", "istio")
        labels.setdefault("service.istio.io/canonical-name", labels.get("app", "pod"))
        labels.setdefault("service.istio.io/canonical-revision", labels.get("version", "latest"))
        containers = spec.setdefault("containers", [])
        if not any(c.get("name") == "istio-proxy" for c in containers):
            containers.append({"name": "istio-proxy", "image": self._proxy_image(hook),
                               "args": ["proxy", "sidecar"], "ports": [{"containerPort": 15090,
                                                                        "name": "http-envoy-prom"}]})
        return revision

    def create_pods(self, namespace: str, count: int = 1, labels: Optional[dict] = None,
                    annotations: Optional[dict] = None, phase: str = "Running", ready: Optional[bool] = None,
                    owner: Optional[dict] = None, inject: bool = False, name_prefix: str = "",
                    containers: Optional[list] = None, node: str = "") -> list[dict]:
        """Pods as a workload controller and kubelet would leave them. ``owner``:
        ``{"kind": ..., "name": ...}`` of an object in the namespace (or the object itself)."""
        with self.store.lock:
            owner_obj = self._find_owner(namespace, owner) if owner else None
            prefix = name_prefix or (meta(owner_obj)["name"] if owner_obj else "pod")
            spec = {"containers": deep(containers)} if containers else {}
            nodes = [meta(n)["name"] for n in self.store.items(("", "nodes"))] or ["node-1"]
            return [deep(self.make_pod(namespace, f"{prefix}-{random_suffix()}", labels or {}, annotations or {},
                                       spec, owner=owner_obj, inject=inject, phase=phase, ready=ready,
                                       node=node or nodes[i % len(nodes)])) for i in range(count)]

    def _find_owner(self, namespace: str, owner: dict) -> dict:
        if meta(owner).get("uid") and owner.get("apiVersion"):
            return owner
        rt = self.resolve_kind(owner["kind"])
        if rt is None:
            raise ValueError(f"unknown owner kind {owner['kind']}")
        found = self.lookup(rt, namespace, owner.get("name") or meta(owner).get("name"))
        if found is None:
            raise ValueError(f"owner {owner['kind']}/{owner.get('name')} not found in {namespace}")
        return found


def _replica_status(kind: str, name: str, replicas: int, unready: bool, generation: int, digest: str,
                    previous: dict) -> dict:
    ready = 0 if unready else replicas
    status: dict = {"observedGeneration": generation}
    if replicas:
        status["replicas"] = replicas
    if kind == "ReplicaSet":
        status["fullyLabeledReplicas"] = replicas
        status["replicas"] = replicas
    if kind in ("Deployment", "StatefulSet") and replicas:
        status["updatedReplicas"] = replicas
    if ready:
        status["readyReplicas"] = ready
        status["availableReplicas"] = ready
    if kind == "StatefulSet":
        status.update({"replicas": replicas, "currentReplicas": replicas,
                       "currentRevision": f"{name}-{digest}", "updateRevision": f"{name}-{digest}",
                       "collisionCount": 0, "availableReplicas": ready})
    if kind == "Deployment":
        if unready and replicas:
            status["unavailableReplicas"] = replicas
        rs = f"{name}-{digest}"
        available = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.") \
            if unready and replicas else ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs}" is progressing.') if unready else \
            ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs}" has successfully progressed.')
        status["conditions"] = [_workload_condition(previous, "Available", *available),
                                _workload_condition(previous, "Progressing", *progressing)]
    return status


def _workload_condition(previous: dict, kind: str, value: str, reason: str, message: str) -> dict:
    old = next((c for c in previous.get("conditions") or [] if c.get("type") == kind), None)
    same = old is not None and old.get("status") == value and old.get("reason") == reason \
        and old.get("message") == message
    if same:
        return old
    stamp = now()
    transition = old["lastTransitionTime"] if old is not None and old.get("status") == value else stamp
    return {"type": kind, "status": value, "lastUpdateTime": stamp, "lastTransitionTime": transition,
            "reason": reason, "message": message}


def _daemonset_status(nodes: int, unready: bool, generation: int) -> dict:
    status = {"currentNumberScheduled": nodes, "desiredNumberScheduled": nodes, "numberMisscheduled": 0,
              "numberReady": 0 if unready else nodes, "observedGeneration": generation,
              "updatedNumberScheduled": nodes}
    if unready:
        if nodes:
            status["numberUnavailable"] = nodes
    else:
        status["numberAvailable"] = nodes
    return status
