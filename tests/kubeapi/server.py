"""HTTP(S) front end: HTTP/1.1 with keep-alive on ``ThreadingHTTPServer``, TLS
handshakes in the connection threads, bearer-token authentication, routing
of API paths to the cluster, chunked watch streams, request logging and
fault injection. The ``/_test/`` admin endpoints are in ``admin.py``."""
from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

from . import discovery, openapi, protobuf, tables
from .api import Call, EncodedList, parse_body
from .errors import ApiError, method_not_allowed, status_body
from .reqlog import MUTATING
from .store import TooOld, meta

if TYPE_CHECKING:
    from .cluster import Cluster

NOT_FOUND = "the server could not find the requested resource"
NAMESPACE_SUBRESOURCES = ("status", "finalize")
VERB_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class ConnectionReset(Exception):
    """Raised to drop a connection without answering (fault injection)."""


class KubeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple, cluster: "Cluster", ssl_context: Optional[ssl.SSLContext]):
        self.cluster = cluster
        self.ssl_context = ssl_context
        self.connections: set = set()
        self.connections_lock = threading.Lock()
        self.stopping = threading.Event()
        super().__init__(address, KubeHandler)

    def close_connections(self) -> None:
        with self.connections_lock:
            sockets = list(self.connections)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class KubeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: KubeHTTPServer
    server_version = "kubeapi-test"
    sys_version = ""

    # -- connection plumbing ------------------------------------------------------------

    def setup(self) -> None:
        raw = self.request
        with self.server.connections_lock:
            self.server.connections.add(raw)
        self._raw = raw
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.server.ssl_context is not None:
            raw.settimeout(10)
            self.request = self.server.ssl_context.wrap_socket(raw, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        with self.server.connections_lock:
            self.server.connections.discard(self._raw)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionReset, ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # -- request handling -----------------------------------------------------------------

    @property
    def cluster(self) -> "Cluster":
        return self.server.cluster

    def dispatch(self) -> None:
        self.timing = None
        split = urlsplit(self.path)
        self.url_path = split.path.rstrip("/") or "/"
        self.query = dict(parse_qsl(split.query, keep_blank_values=True))
        raw = self.read_body()
        token = self.headers.get("Authorization", "")
        identity = None
        if token.startswith("Bearer "):
            identity = self.cluster.authenticate(token[len("Bearer "):].strip())
        if self.url_path.startswith("/_test/"):
            if identity is None:
                self.send_json(401, status_body(401, "Unauthorized", "Unauthorized"))
                return
            from .admin import handle_admin
            handle_admin(self, raw)
            return
        record = self.cluster.log.start(method=self.command, path=self.url_path, verb=self.command.lower(),
                                        user_agent=self.headers.get("User-Agent", ""))
        self.timing = (record, time.perf_counter())
        try:
            if identity is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self.route(raw, record, identity)
        except ApiError as err:
            record["code"] = err.code
            self.send_json(err.code, err.status(), err.headers)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, code: int, body: Any, headers: Optional[dict] = None,
                  content_type: str = "application/json") -> None:
        data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
        self.send_bytes(code, data, content_type, headers)

    def send_bytes(self, code: int, data: bytes, content_type: str, headers: Optional[dict] = None) -> None:
        self.mark_answered()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(data)))
        # Headers and body in one write: one TLS record, no Nagle delay.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()

    def mark_answered(self) -> None:
        """Handling time goes into the log before the answer leaves, so a client
        reading the log right after the answer sees it."""
        timing = getattr(self, "timing", None)
        if timing is not None:
            record, started = timing
            record["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
            self.timing = None

    # -- routing ----------------------------------------------------------------------------

    def route(self, raw: bytes, record: dict, identity: Any) -> None:
        path = self.url_path
        parts = [unquote(p) for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            record["code"] = 200
            self.send_bytes(200, b"ok", "text/plain; charset=utf-8")
            return
        if path == "/version":
            record["code"] = 200
            self.send_json(200, discovery.version_doc())
            return
        if parts and parts[0] == "openapi":
            code, body = openapi.serve(self.cluster.registry, parts[1:], self.query)
            record["code"] = code
            self.send_json(code, body)
            return
        if parts and parts[0] in ("api", "apis"):
            if self.discovery(parts, record):
                return
            self.resource_request(parts, raw, record, identity)
            return
        raise ApiError(404, NOT_FOUND, "NotFound")

    def discovery(self, parts: list[str], record: dict) -> bool:
        registry = self.cluster.registry
        accept = self.headers.get("Accept", "")
        body: Optional[dict] = None
        content_type = "application/json"
        if parts in (["api"], ["apis"]):
            version = discovery.aggregated_version(accept)
            if version in ("v2", "v2beta1"):
                body = discovery.aggregated(registry, parts == ["api"], version)
                content_type = f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
            elif parts == ["api"]:
                body = discovery.core_versions(f"127.0.0.1:{self.server.server_address[1]}")
            else:
                body = discovery.group_list(registry)
        elif parts == ["api", "v1"]:
            body = discovery.resource_list(registry, "", "v1")
        elif parts[0] == "apis" and len(parts) == 2:
            body = discovery.group_doc(registry, parts[1])
            if body is None:
                raise ApiError(404, NOT_FOUND, "NotFound")
        elif parts[0] == "apis" and len(parts) == 3:
            body = discovery.resource_list(registry, parts[1], parts[2])
            if body is None:
                raise ApiError(404, NOT_FOUND, "NotFound")
        else:
            return False
        if body is None:
            raise ApiError(404, NOT_FOUND, "NotFound")
        record["code"] = 200
        self.send_json(200, body, content_type=content_type)
        return True

    def parse_resource_path(self, parts: list[str]) -> dict:
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        watch_path = bool(rest) and rest[0] == "watch"
        if watch_path:
            rest = rest[1:]
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces" and not (
                group == "" and len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, NOT_FOUND, "NotFound")
        return {"group": group, "version": version, "namespace": namespace, "resource": rest[0],
                "name": rest[1] if len(rest) > 1 else "", "subresource": rest[2] if len(rest) > 2 else "",
                "watch": watch_path}

    def resource_request(self, parts: list[str], raw: bytes, record: dict, identity: Any) -> None:
        info = self.parse_resource_path(parts)
        cluster = self.cluster
        rt = cluster.registry.get(info["group"], info["version"], info["resource"])
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        verb = self.verb_for(info, rt)
        record.update(verb=verb, group=info["group"], version=info["version"], resource=info["resource"],
                      subresource=info["subresource"], namespace=info["namespace"], name=info["name"],
                      dry_run=self.query.get("dryRun") == "All", field_manager=self.query.get("fieldManager", ""),
                      kind=rt.kind if rt else "", mutating=verb in MUTATING, query=dict(self.query))
        if verb == "patch":
            record["patch_type"] = {"application/apply-patch+yaml": "apply", "application/merge-patch+json": "merge",
                                    "application/json-patch+json": "json",
                                    "application/strategic-merge-patch+json": "strategic"}.get(content_type,
                                                                                               content_type)
        self.inject_fault(verb, info, record)
        if rt is None:
            raise ApiError(404, NOT_FOUND, "NotFound")
        if rt.namespaced is False and info["namespace"]:
            raise ApiError(404, NOT_FOUND, "NotFound")
        if raw and protobuf.is_protobuf(content_type):
            body = protobuf.decode(raw, info["group"])
            content_type = "application/json"
        else:
            body = parse_body(raw, content_type) if raw else None
        if verb in ("delete", "deletecollection") and isinstance(body, dict) and "All" in (body.get("dryRun") or []):
            self.query["dryRun"] = "All"
            record["dry_run"] = True
        call = Call(verb, rt, info["namespace"], info["name"], info["subresource"], self.query, body, content_type,
                    self.headers.get("User-Agent", ""), record)
        if verb in ("create", "update", "patch") and not record["field_manager"]:
            record["field_manager"] = call.query.get("fieldManager") or call.field_manager
        self.check_verb(call, info)
        if verb == "watch":
            record["code"] = 200
            self.stream_watch(call)
            return
        code, result = self.execute(call, identity)
        record["code"] = code
        if verb == "create" and not record["name"] and isinstance(result, dict):
            record["name"] = meta(result).get("name", "")
        headers = {}
        if call.warnings:
            headers["Warning"] = ", ".join(f'299 - "{_quoted(w)}"' for w in call.warnings)
        if isinstance(result, bytes):
            self.send_bytes(code, result, "text/plain")
            return
        rendered = self.render(call, result)
        if isinstance(rendered, EncodedList):
            self.send_bytes(code, rendered.encode(), "application/json", headers)
            return
        self.send_json(code, rendered, headers)

    def verb_for(self, info: dict, rt: Any) -> str:
        method = self.command
        watch = info["watch"] or str(self.query.get("watch", "")).lower() in ("1", "true", "t")
        if method in ("GET", "HEAD"):
            if watch:
                return "watch"
            return "get" if info["name"] else "list"
        if method == "DELETE" and not info["name"]:
            return "deletecollection"
        return VERB_BY_METHOD.get(method, method.lower())

    def check_verb(self, call: Call, info: dict) -> None:
        rt = call.rt
        if call.subresource:
            allowed = discovery.SUBRESOURCES.get(call.subresource, (None, ()))[1]
            if call.subresource not in rt.subresources:
                raise ApiError(404, NOT_FOUND, "NotFound")
            if call.verb not in allowed:
                raise method_not_allowed(call.verb, rt.plural, rt.group)
            return
        if call.verb not in rt.verbs:
            raise method_not_allowed(call.verb, rt.plural, rt.group)
        if rt.namespaced and not call.namespace and call.verb in ("create", "get", "update", "patch", "delete"):
            raise ApiError(404, NOT_FOUND, "NotFound")

    def execute(self, call: Call, identity: Any) -> tuple[int, Any]:
        cluster = self.cluster
        with cluster.store.lock:
            verb = call.verb
            if call.rt.virtual:
                return cluster.review(call, identity)
            if verb == "get":
                if call.subresource == "log":
                    cluster.must_get(call.rt, call.namespace, call.name)
                    return 200, b""
                return cluster.get(call)
            if verb == "list":
                return cluster.list(call)
            if verb == "create":
                if call.subresource:
                    return cluster.create_subresource(call)
                return cluster.create(call)
            if verb == "update":
                return cluster.update(call)
            if verb == "patch":
                return cluster.patch(call)
            if verb == "delete":
                return cluster.delete(call)
            if verb == "deletecollection":
                return cluster.delete_collection(call)
        raise method_not_allowed(call.verb, call.rt.plural, call.rt.group)

    def render(self, call: Call, result: dict) -> dict:
        """Table or PartialObjectMetadata when the client asked for them."""
        accept = self.headers.get("Accept", "")
        if isinstance(result, EncodedList):
            if tables.wants_table(accept):
                return tables.table(call.rt, result.items, result.metadata, self.query.get("includeObject",
                                                                                           "Metadata"))
            if tables.wants_partial(accept):
                return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                        "metadata": result.metadata,
                        "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                   "metadata": meta(o)} for o in result.items]}
            return result
        if call.verb not in ("get", "list") or call.subresource or result.get("kind") == "Status":
            return result
        include = self.query.get("includeObject", "Metadata")
        if tables.wants_table(accept):
            return tables.table(call.rt, [result], {"resourceVersion": meta(result).get("resourceVersion", "")},
                                include)
        if tables.wants_partial(accept):
            return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta(result)}
        return result

    # -- faults -----------------------------------------------------------------------------

    def inject_fault(self, verb: str, info: dict, record: dict) -> None:
        resource = info["resource"] + (f"/{info['subresource']}" if info["subresource"] else "")
        fault_verb = "apply" if record.get("patch_type") == "apply" else verb
        persisted = verb in MUTATING and not record.get("dry_run")
        fault = self.cluster.faults.take(fault_verb, info["group"], resource, info["namespace"], info["name"],
                                         persisted)
        if fault is None:
            return
        if fault.hold:
            self.cluster.faults.wait_until_cleared()
            record["fault"] = "held, then dropped"
            record["code"] = 0
            self.reset_connection()
        if fault.delay:
            time.sleep(fault.delay)
            record["fault"] = f"delay {fault.delay}s"
        if fault.reset:
            record["fault"] = "reset"
            record["code"] = 0
            self.reset_connection()
        if fault.status:
            record["fault"] = f"status {fault.status}"
            headers = {}
            message = fault.message or {429: "Too many requests, please try again later.",
                                        500: "Internal error occurred: injected fault",
                                        503: "The server is currently unable to handle the request"}.get(
                fault.status, "injected fault")
            details = None
            if fault.status in (429, 503) and fault.retry_after:
                headers["Retry-After"] = fault.retry_after
                details = {"retryAfterSeconds": fault.retry_after}
            if fault.status == 500:
                details = {"causes": [{"message": "injected fault"}]}
            raise ApiError(fault.status, message, None, details, headers)

    def reset_connection(self) -> None:
        try:
            self._raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._raw.close()
        except OSError:
            pass
        raise ConnectionReset()

    # -- watch ------------------------------------------------------------------------------------

    def stream_watch(self, call: Call) -> None:
        cluster = self.cluster
        match = cluster.matcher(call)
        timeout = float(self.query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        rv_param = self.query.get("resourceVersion", "")
        initial = self.query.get("sendInitialEvents", "").lower() == "true"
        bookmarks = self.query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        accept = self.headers.get("Accept", "")
        as_table = tables.wants_table(accept)
        include = self.query.get("includeObject", "Metadata")
        name = call.name
        if name:
            match_name = match

            def match(obj: dict) -> bool:  # noqa: F811 - narrowed matcher for a single object
                return meta(obj).get("name") == name and match_name(obj)
        namespace = call.namespace if call.rt.namespaced else ""
        too_old: Optional[TooOld] = None
        with cluster.store.lock:
            since = None
            replay: list[dict] = []
            if rv_param in ("", "0") or initial:
                replay = [o for o in cluster.store.items(call.rt.gr, namespace) if match(o)]
                since = cluster.store.rv
            else:
                try:
                    since = int(rv_param)
                except ValueError:
                    raise ApiError(400, f"invalid resource version: {rv_param}", "BadRequest") from None
            try:
                watcher = cluster.store.subscribe(call.rt.gr, namespace, since)
            except TooOld as err:
                too_old = err
                watcher = None
            current_rv = cluster.store.rv
        self.mark_answered()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.first_table = True
        try:
            if too_old is not None:
                self.write_event("ERROR", status_body(410, str(too_old), "Expired"), call, False, include)
                replay = []
                watcher = None
            for obj in replay:
                self.write_event("ADDED", cluster.at_version(call.rt, obj), call, as_table, include)
            if initial and bookmarks:
                self.write_event("BOOKMARK", {"kind": call.rt.kind, "apiVersion": call.rt.group_version,
                                              "metadata": {"resourceVersion": str(current_rv), "annotations": {
                                                  "k8s.io/initial-events-end": "true"}}}, call, False, include)
            if watcher is not None:
                self.pump(watcher, match, call, deadline, as_table, include)
        except (ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True
            return
        finally:
            if watcher is not None:
                watcher.close()
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def pump(self, watcher: Any, match: Any, call: Call, deadline: float, as_table: bool, include: str) -> None:
        import queue
        while not self.server.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                event = watcher.events.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if event is None:
                return
            was = event.old is not None and match(event.old)
            now_matches = match(event.obj)
            kind = event.type
            if kind == "MODIFIED":
                if was and not now_matches:
                    kind = "DELETED"
                elif now_matches and not was:
                    kind = "ADDED"
                elif not now_matches:
                    continue
            elif not now_matches:
                continue
            self.write_event(kind, self.cluster.at_version(call.rt, event.obj), call, as_table, include)

    def write_event(self, kind: str, obj: dict, call: Call, as_table: bool, include: str) -> None:
        if as_table and kind not in ("ERROR", "BOOKMARK"):
            obj = tables.table(call.rt, [obj], {"resourceVersion": meta(obj).get("resourceVersion", "")}, include,
                               with_columns=self.first_table)
            self.first_table = False
        data = json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def _quoted(text: str) -> str:
    """A warning's text inside the quoted string of a ``Warning`` header."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def make_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


def serve_in_thread(server: KubeHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name=f"kubeapi-{server.server_address[1]}", daemon=True)
    thread.start()
    return thread
