"""One simulated cluster: storage, registry, control-plane reactions,
simulation, request log and faults, plus the Python API tests use directly
when the server runs in-process."""
from __future__ import annotations

import secrets
from typing import Any, Optional

from . import certs
from .api import ApiCore, deep
from .controllers import ControllersMixin
from .faults import Faults
from .lifecycle import LifecycleMixin
from .registry import Registry
from .reqlog import RequestLog, persisted
from .simulate import SimConfig, SimulationMixin
from .store import Store, meta

BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Cluster(ControllersMixin, SimulationMixin, LifecycleMixin, ApiCore):
    def __init__(self, name: str = "cluster1", config: Optional[SimConfig] = None, token: str = "",
                 pki: Optional[certs.ClusterPKI] = None):
        self.name = name
        self.registry = Registry()
        self.store = Store()
        self.config = config or SimConfig()
        self._initial_config = SimConfig(**self.config.as_dict())
        self.log = RequestLog()
        self.faults = Faults()
        self.pki = pki or certs.generate(name)
        self.admin_token = token or secrets.token_hex(24)
        self._pending: set = set()
        self._gone: dict = {}
        self._init_controllers()
        self._init_simulation()
        self.bootstrap()

    # -- state ------------------------------------------------------------------------------

    def bootstrap(self) -> None:
        """What a fresh cluster has: namespaces, the kubernetes Service, nodes."""
        with self.store.lock:
            for name in BUILTIN_NAMESPACES:
                self.create_internal("", "Namespace", {"metadata": {"name": name}}, manager="kube-apiserver")
            self.create_internal("", "Service", {
                "metadata": {"name": "kubernetes", "namespace": "default",
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}},
                manager="kube-apiserver")
            self.create_internal("", "Endpoints", {
                "metadata": {"name": "kubernetes", "namespace": "default"},
                "subsets": [{"addresses": [{"ip": "172.18.0.2"}],
                             "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]},
                manager="kube-apiserver")
            self.set_nodes(self.config.nodes)

    def reset(self, config: Optional[SimConfig] = None) -> None:
        """Back to a fresh cluster: every object, CRD, token, knob, fault and
        log entry goes; the built-in namespaces and nodes come back."""
        with self.store.lock:
            for name in self.registry.crd_names():
                self.registry.unregister_crd(name)
            self.store.clear(lambda gr, obj: False)
            self._pending.clear()
            self._gone.clear()
            self.tokens.clear()
            self.unready.clear()
            self.pod_workloads.clear()
            self.faults.clear()
            self.config = config or SimConfig(**self._initial_config.as_dict())
            self.bootstrap()
            self.log.reset()

    def checkpoint(self) -> dict:
        """The cluster's state (objects, tokens, simulation knobs), for ``restore``: a test that needs the
        same starting point many times installs it once instead of once per case."""
        with self.store.lock:
            return {"store": self.store.checkpoint(), "tokens": dict(self.tokens), "unready": set(self.unready),
                    "pod_workloads": set(self.pod_workloads), "pending": set(self._pending),
                    "gone": dict(self._gone)}

    def restore(self, checkpoint: dict) -> None:
        """Back to a ``checkpoint``: objects, served CRDs and tokens as they were; faults are cleared, the
        request log is kept (tests count from a mark)."""
        with self.store.lock:
            for name in self.registry.crd_names():
                self.registry.unregister_crd(name)
            self.store.restore(checkpoint["store"])
            for crd in self.store.items(("apiextensions.k8s.io", "customresourcedefinitions")):
                self.registry.register_crd(crd)
            self.tokens.clear()
            self.tokens.update(checkpoint["tokens"])
            for mine, saved in ((self.unready, "unready"), (self.pod_workloads, "pod_workloads"),
                                (self._pending, "pending")):
                mine.clear()
                mine.update(checkpoint[saved])
            self._gone.clear()
            self._gone.update(checkpoint["gone"])
            self.faults.clear()

    def configure(self, **flags: Any) -> dict:
        """Change simulation switches (see SimConfig); ``nodes`` resizes the node set."""
        with self.store.lock:
            nodes = flags.pop("nodes", None)
            for key, value in flags.items():
                if not hasattr(self.config, key):
                    raise ValueError(f"unknown simulation setting {key!r}")
                setattr(self.config, key, value)
            if nodes is not None:
                self.set_nodes(int(nodes))
            return self.config.as_dict()

    # -- Python API for tests -------------------------------------------------------------------

    def requests(self, since: int = 0) -> list[dict]:
        return self.log.entries(since)

    def writes(self, since: int = 0) -> list[dict]:
        return persisted(self.log.entries(since))

    def reset_log(self) -> None:
        self.log.reset()

    def inject_fault(self, **spec: Any) -> dict:
        return self.faults.add(**spec).as_dict()

    def clear_faults(self) -> None:
        self.faults.clear()

    def get_object(self, kind: str, namespace: str, name: str) -> Optional[dict]:
        rt = self.resolve_kind(kind)
        if rt is None:
            raise ValueError(f"unknown kind {kind!r}")
        obj = self.lookup(rt, namespace, name)
        return deep(obj) if obj is not None else None

    def objects(self, kind: str, namespace: str = "") -> list[dict]:
        rt = self.resolve_kind(kind)
        if rt is None:
            raise ValueError(f"unknown kind {kind!r}")
        return [deep(o) for o in self.store.items(rt.gr, namespace if rt.namespaced else "")]

    def object_count(self) -> int:
        return sum(1 for _unused in self.store.all_objects())

    def namespaces(self) -> list[str]:
        return [meta(ns)["name"] for ns in self.store.items(("", "namespaces"))]
