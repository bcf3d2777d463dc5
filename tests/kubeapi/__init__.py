"""A Kubernetes API server for tests, in pure Python (see README.md)."""
from .cluster import Cluster
from .runtime import ClusterHandle, KubeAPI, KubeAPIProcess, LocalCluster, RemoteCluster
from .simulate import SimConfig

__all__ = ["Cluster", "ClusterHandle", "KubeAPI", "KubeAPIProcess", "LocalCluster", "RemoteCluster", "SimConfig"]
