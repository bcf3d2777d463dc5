"""Command line.

Serve:   python -m tests.kubeapi --kubeconfig FILE [--clusters N] [--port 0] [--plain-http] [--nodes N]
Drive a running server (through its /_test/ endpoints):
         python -m tests.kubeapi pods     --kubeconfig FILE [--context C] -n NS [--count N] [--label k=v]...
                                          [--annotation k=v]... [--phase P] [--not-ready] [--inject] [--owner Kind/name]
         python -m tests.kubeapi fault    --kubeconfig FILE [--context C] [--verb V] [--resource R] [--namespace NS]
                                          [--name N] [--count N] (--status CODE | --reset | --delay S) [--retry-after S]
         python -m tests.kubeapi unready  --kubeconfig FILE [--context C] KIND NAMESPACE NAME [--ready]
         python -m tests.kubeapi requests --kubeconfig FILE [--context C] [--writes] [--since N]
         python -m tests.kubeapi reset    --kubeconfig FILE [--context C]
"""
from __future__ import annotations

import argparse
import base64
import json
import signal
import sys
import threading

import yaml

from .runtime import READY_PREFIX, KubeAPI, RemoteCluster
from .simulate import SimConfig

COMMANDS = ("pods", "fault", "unready", "requests", "reset")


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kubeapi", description="Test Kubernetes API server")
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig file to write")
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="first port (0: random ports)")
    parser.add_argument("--plain-http", action="store_true", help="serve HTTP without TLS (debugging)")
    parser.add_argument("--nodes", type=int, default=1, help="Node objects per cluster")
    parser.add_argument("--no-simulate", action="store_true", help="workloads do not become ready")
    parser.add_argument("--pods", action="store_true", help="simulate Pods for every workload")
    args = parser.parse_args(argv)
    config = SimConfig(nodes=args.nodes, workloads=not args.no_simulate, pods=args.pods)
    api = KubeAPI(args.clusters, args.kubeconfig, args.port, args.plain_http, config).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_unused: stop.set())
    ready = {"kubeconfig": api.kubeconfig, "pid": __import__("os").getpid(),
             "clusters": [{"name": h.name, "context": h.context, "url": h.url} for h in api.handles]}
    print(READY_PREFIX + json.dumps(ready), flush=True)
    while not stop.wait(0.5):
        pass
    api.stop()
    return 0


def remote(kubeconfig: str, context: str) -> RemoteCluster:
    with open(kubeconfig) as handle:
        config = yaml.safe_load(handle)
    context = context or config.get("current-context")
    ctx = next(c for c in config["contexts"] if c["name"] == context)["context"]
    cluster = next(c for c in config["clusters"] if c["name"] == ctx["cluster"])["cluster"]
    user = next(u for u in config["users"] if u["name"] == ctx["user"])["user"]
    ca = cluster.get("certificate-authority-data")
    import tempfile
    return RemoteCluster(context, cluster["server"], user["token"], base64.b64decode(ca) if ca else b"",
                         kubeconfig, tempfile.mkdtemp(prefix="kubeapi-cli-"))


def _pairs(values: list[str]) -> dict:
    return dict(v.split("=", 1) for v in values or [])


def command(name: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m tests.kubeapi {name}")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--context", default="")
    if name == "pods":
        parser.add_argument("-n", "--namespace", required=True)
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--label", action="append")
        parser.add_argument("--annotation", action="append")
        parser.add_argument("--phase", default="Running")
        parser.add_argument("--not-ready", action="store_true")
        parser.add_argument("--inject", action="store_true")
        parser.add_argument("--owner", default="", help="Kind/name of an owner in the namespace")
        parser.add_argument("--prefix", default="")
    elif name == "fault":
        for flag in ("--verb", "--resource", "--namespace", "--name"):
            parser.add_argument(flag, default="*")
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--status", type=int, default=0)
        parser.add_argument("--reset", action="store_true")
        parser.add_argument("--delay", type=float, default=0.0)
        parser.add_argument("--retry-after", type=int, default=1)
    elif name == "unready":
        parser.add_argument("kind")
        parser.add_argument("namespace")
        parser.add_argument("name")
        parser.add_argument("--ready", action="store_true", help="clear the knob instead")
    elif name == "requests":
        parser.add_argument("--writes", action="store_true")
        parser.add_argument("--since", type=int, default=0)
    args = parser.parse_args(argv)
    handle = remote(args.kubeconfig, args.context)
    if name == "pods":
        owner = None
        if args.owner:
            kind, _unused, owner_name = args.owner.partition("/")
            owner = {"kind": kind, "name": owner_name}
        result = handle.create_pods(args.namespace, args.count, labels=_pairs(args.label),
                                    annotations=_pairs(args.annotation), phase=args.phase,
                                    ready=False if args.not_ready else None, owner=owner, inject=args.inject,
                                    name_prefix=args.prefix)
        print("\n".join(p["metadata"]["name"] for p in result))
    elif name == "fault":
        result = handle.inject_fault(verb=args.verb, resource=args.resource, namespace=args.namespace,
                                     name=args.name, count=args.count, status=args.status, reset=args.reset,
                                     delay=args.delay, retry_after=args.retry_after)
        print(json.dumps(result))
    elif name == "unready":
        handle.set_unready(args.kind, args.namespace, args.name, not args.ready)
    elif name == "requests":
        entries = handle.writes(args.since) if args.writes else handle.requests(args.since)
        print(json.dumps(entries, indent=1))
    elif name == "reset":
        handle.reset()
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] in COMMANDS:
        return command(argv[0], argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
