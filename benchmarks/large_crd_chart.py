#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""A chart directory for benchmarks: the fixture charts, with a base chart whose CRDs are as large as Istio's.

The fixture charts in tests/fixtures/charts carry three small CRDs, so that the test suite stays fast. The
official base chart carries 15 CRDs in about 18,000 lines, and parsing them is most of what a render costs.
This script writes a ``chart_dir`` (``<dest>/<version>/<chart>/``) with the fixture charts of one version,
whose base chart gets 15 CRDs of that size instead: the upstream names (istio.io groups, kinds, served
versions) with schemas of this project's own writing (deep openAPIV3Schema trees with descriptions, bounds
and CEL rules the API server accepts). The base chart reads them from ``files/crd-all.gen.yaml`` and emits
them one by one (``fromYaml``/``toYaml``, honouring ``base.excludedCRDs``), as a chart that can drop some
CRDs must. Deterministic. Usage:

    python benchmarks/large_crd_chart.py DEST [--version 1.30.3]    # prints DEST, the chart_dir to use
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import Any, Dict, List, Optional

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURE_CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
CRD_FILE = "crd-all.gen.yaml"
STAMP = ".large-crds"

CRDS_TEMPLATE = """\
{{- /* Benchmark chart (servicemesh.istio, benchmarks/large_crd_chart.py): large CRDs of our own. */ -}}
{{- if and (include "fx.cluster" .) .Values.base.enableCRDTemplates }}
{{- $labels := fromYaml (include "fx.labels" .) }}
{{- range $doc := splitList "\\n---\\n" (.Files.Get "files/%s") }}
{{- $crd := fromYaml $doc }}
{{- if and $crd.metadata (not (has $crd.metadata.name $.Values.base.excludedCRDs)) }}
{{- $_ := set $crd.metadata "labels" (merge (dict) ($crd.metadata.labels | default dict) $labels) }}
---
{{ toYaml $crd }}
{{- end }}
{{- end }}
{{- end }}
""" % CRD_FILE

# -- schema pieces ---------------------------------------------------------------------------------


def string(description: str, max_length: int = 253, pattern: Optional[str] = None,
           enum: Optional[List[str]] = None, rules: Optional[List[List[str]]] = None) -> Dict[str, Any]:
    schema: Dict[str, Any] = {"description": description, "type": "string"}
    if enum:
        schema["enum"] = list(enum)
    else:
        schema["maxLength"] = max_length
    if pattern:
        schema["pattern"] = pattern
    if rules:
        schema["x-kubernetes-validations"] = [{"message": m, "rule": r} for m, r in rules]
    return schema


def integer(description: str, minimum: Optional[int] = None, maximum: Optional[int] = None,
            fmt: str = "int32") -> Dict[str, Any]:
    schema: Dict[str, Any] = {"description": description, "format": fmt, "type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def boolean(description: str) -> Dict[str, Any]:
    return {"description": description, "type": "boolean"}


def number(description: str, maximum: float = 100.0) -> Dict[str, Any]:
    return {"description": description, "format": "double", "maximum": maximum, "minimum": 0, "type": "number"}


def duration(description: str, minimum: str = "1ms") -> Dict[str, Any]:
    return string(description, 64, rules=[["must be a valid duration greater than %s" % minimum,
                                           "duration(self) >= duration('%s')" % minimum]])


def port(description: str = "A port number.") -> Dict[str, Any]:
    return integer(description, 1, 65535)


def string_map(description: str, max_properties: int = 256) -> Dict[str, Any]:
    return {"additionalProperties": {"maxLength": 1024, "type": "string"}, "description": description,
            "maxProperties": max_properties, "type": "object"}


def strings(description: str, max_items: int = 64, max_length: int = 253) -> Dict[str, Any]:
    return array(string("One entry.", max_length), description, max_items)


def array(items: Dict[str, Any], description: str, max_items: int = 64,
          rules: Optional[List[List[str]]] = None) -> Dict[str, Any]:
    schema = {"description": description, "items": items, "maxItems": max_items, "type": "array"}
    if rules:
        schema["x-kubernetes-validations"] = [{"message": m, "rule": r} for m, r in rules]
    return schema


def obj(description: str, properties: Dict[str, Any], required: Optional[List[str]] = None,
        rules: Optional[List[List[str]]] = None) -> Dict[str, Any]:
    schema: Dict[str, Any] = {"description": description, "properties": properties, "type": "object"}
    if required:
        schema["required"] = list(required)
    if rules:
        schema["x-kubernetes-validations"] = [{"message": m, "rule": r} for m, r in rules]
    return schema


def one_of(*fields: str) -> List[str]:
    """A CEL rule: at most one of ``fields`` is set."""
    count = " + ".join("(has(self.%s) ? 1 : 0)" % name for name in fields)
    return ["at most one of %s may be set" % ", ".join(fields), "%s <= 1" % count]


def preserved(description: str) -> Dict[str, Any]:
    return {"description": description, "type": "object", "x-kubernetes-preserve-unknown-fields": True}


HOST = r"^(\*\.)?[a-zA-Z0-9*]([-a-zA-Z0-9.*]*[a-zA-Z0-9])?$"
LABEL_NAME = r"^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$"

# -- shared blocks ---------------------------------------------------------------------------------


def string_match(what: str) -> Dict[str, Any]:
    return obj("How %s is compared; at most one way." % what, {
        "exact": string("The %s must equal this." % what, 1024),
        "prefix": string("The %s must start with this." % what, 1024),
        "regex": string("The %s must match this RE2 expression." % what, 1024),
    }, rules=[one_of("exact", "prefix", "regex")])


def selector(what: str = "workloads") -> Dict[str, Any]:
    return obj("Which %s this applies to, by label; all of them when unset." % what, {
        "matchLabels": {"additionalProperties": {"maxLength": 63, "type": "string"},
                        "description": "Labels that must all match.", "maxProperties": 4096,
                        "type": "object",
                        "x-kubernetes-validations": [
                            {"message": "wildcards are not allowed in label keys", "rule":
                             "self.all(key, !key.contains('*'))"},
                            {"message": "an empty label key is not allowed", "rule":
                             "self.all(key, key.size() != 0)"}]},
    })


def target_ref() -> Dict[str, Any]:
    return obj("A resource this applies to, in the same namespace.", {
        "group": string("The group of the target; empty for the core group.", 253),
        "kind": string("The kind of the target.", 253),
        "name": string("The name of the target.", 253),
        "namespace": string("The namespace of the target; the local namespace when unset.", 63),
    }, required=["kind", "name"], rules=[
        ["namespace, if set, must equal the resource's own namespace",
         "!has(self.__namespace__) || self.__namespace__.size() == 0"],
        ["group must be set for kinds outside the core group",
         "self.kind == 'Service' || self.kind == 'ServiceEntry' || has(self.group)"]])


def targeting() -> Dict[str, Any]:
    return {"selector": selector(), "targetRef": target_ref(),
            "targetRefs": array(target_ref(), "Several resources this applies to.", 16)}


def tls_settings(side: str) -> Dict[str, Any]:
    return obj("TLS settings for %s connections." % side, {
        "caCertificates": string("Path of a file holding the certificate authorities to trust.", 4096),
        "caCrl": string("Path of a file holding the revoked certificates.", 4096),
        "clientCertificate": string("Path of a file holding the client certificate.", 4096),
        "credentialName": string("The Secret that holds the key, the certificate and the CA.", 253),
        "insecureSkipVerify": boolean("Whether the peer's certificate is left unchecked."),
        "maxProtocolVersion": string("The highest TLS version.", enum=["TLS_AUTO", "TLSV1_2", "TLSV1_3"]),
        "minProtocolVersion": string("The lowest TLS version.", enum=["TLS_AUTO", "TLSV1_2", "TLSV1_3"]),
        "mode": string("How the connection is secured.",
                       enum=["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"]),
        "privateKey": string("Path of a file holding the private key.", 4096),
        "sni": string("The server name to ask for.", 253),
        "subjectAltNames": strings("Names the peer's certificate must carry."),
        "cipherSuites": strings("The cipher suites allowed, in order.", 32, 128),
    }, rules=[["credentialName is exclusive with file paths",
               "!has(self.credentialName) || (!has(self.privateKey) && !has(self.clientCertificate))"]])


def connection_pool() -> Dict[str, Any]:
    return obj("Limits on the connections to a destination.", {
        "http": obj("Limits that apply to HTTP connections.", {
            "h2UpgradePolicy": string("Whether HTTP/1.1 connections are upgraded to HTTP/2.",
                                      enum=["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"]),
            "http1MaxPendingRequests": integer("Requests queued while waiting for a connection."),
            "http2MaxRequests": integer("Concurrent requests to the destination."),
            "idleTimeout": duration("How long a connection may stay idle."),
            "maxConcurrentStreams": integer("Concurrent streams per HTTP/2 connection."),
            "maxRequestsPerConnection": integer("Requests per connection; 0 means no limit."),
            "maxRetries": integer("Concurrent retries to the destination."),
            "useClientProtocol": boolean("Whether the client's protocol is kept."),
        }),
        "tcp": obj("Limits that apply to TCP connections.", {
            "connectTimeout": duration("How long a connection attempt may take."),
            "idleTimeout": duration("How long a TCP connection may stay idle."),
            "maxConnectionDuration": duration("How long a connection may live."),
            "maxConnections": integer("Connections to the destination."),
            "tcpKeepalive": obj("TCP keepalive probes.", {
                "interval": duration("Time between probes."),
                "probes": integer("Unanswered probes before the connection is dropped.", 0),
                "time": duration("Idle time before the first probe."),
            }),
        }),
    })


def load_balancer() -> Dict[str, Any]:
    locality = obj("Locality-aware balancing.", {
        "distribute": array(obj("Weights from one locality to others.", {
            "from": string("The source locality, region/zone/subzone.", 253),
            "to": {"additionalProperties": {"maximum": 100, "minimum": 0, "type": "integer"},
                   "description": "Destination localities and their weight.", "maxProperties": 64,
                   "type": "object"},
        }), "Explicit weights.", 64),
        "enabled": boolean("Whether locality-aware balancing is on."),
        "failover": array(obj("Where traffic goes when a region is unhealthy.", {
            "from": string("The region that fails.", 253), "to": string("The region that takes over.", 253),
        }), "Region failover order.", 64),
        "failoverPriority": strings("Labels that order the endpoints for failover.", 16),
    }, rules=[one_of("distribute", "failover")])
    return obj("How requests are spread over the endpoints.", {
        "consistentHash": obj("Affinity by a hash of the request.", {
            "httpCookie": obj("Hash on a cookie, set when missing.", {
                "attributes": array(obj("A cookie attribute.", {
                    "name": string("The attribute's name.", 64), "value": string("The attribute's value.", 256),
                }, required=["name"]), "Attributes of the generated cookie.", 8),
                "name": string("The cookie's name.", 256),
                "path": string("The cookie's path.", 1024),
                "ttl": duration("The cookie's lifetime.", "0s"),
            }, required=["name"]),
            "httpHeaderName": string("Hash on this header.", 256),
            "httpQueryParameterName": string("Hash on this query parameter.", 256),
            "maglev": obj("The Maglev algorithm.", {"tableSize": integer("The lookup table size.", 1, fmt="int64")}),
            "minimumRingSize": integer("Deprecated: use ringHash.", 0, fmt="int64"),
            "ringHash": obj("The ring hash algorithm.", {
                "minimumRingSize": integer("The minimum number of virtual nodes.", 0, fmt="int64")}),
            "useSourceIp": boolean("Hash on the source address."),
        }, rules=[one_of("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"),
                  one_of("ringHash", "maglev")]),
        "localityLbSetting": locality,
        "simple": string("A standard algorithm.",
                         enum=["UNSPECIFIED", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST", "LEAST_CONN"]),
        "warmup": obj("Slow start for new endpoints.", {
            "aggression": number("How fast traffic grows during warm-up.", 10.0),
            "duration": duration("How long warm-up lasts."),
            "minimumPercent": number("The share of traffic a new endpoint starts with."),
        }, required=["duration"]),
    }, rules=[one_of("simple", "consistentHash")])


def outlier_detection() -> Dict[str, Any]:
    return obj("Ejection of endpoints that fail.", {
        "baseEjectionTime": duration("The minimum ejection time."),
        "consecutive5xxErrors": integer("Server errors before an endpoint is ejected.", 0),
        "consecutiveErrors": integer("Deprecated: use consecutive5xxErrors.", 0),
        "consecutiveGatewayErrors": integer("Gateway errors before an endpoint is ejected.", 0),
        "consecutiveLocalOriginFailures": integer("Local failures before an endpoint is ejected.", 0),
        "interval": duration("Time between ejection sweeps."),
        "maxEjectionPercent": integer("The largest share of endpoints ejected at once.", 0, 100),
        "minHealthPercent": integer("Below this share of healthy endpoints, ejection stops.", 0, 100),
        "splitExternalLocalOriginErrors": boolean("Whether local failures are counted apart."),
    })


def policy_parts() -> Dict[str, Any]:
    return {"connectionPool": connection_pool(), "loadBalancer": load_balancer(),
            "outlierDetection": outlier_detection(), "tls": tls_settings("upstream")}


def traffic_policy(with_ports: bool = True) -> Dict[str, Any]:
    properties = dict(policy_parts())
    properties.update({
        "proxyProtocol": obj("The PROXY protocol to the destination.", {
            "version": string("The protocol version.", enum=["V1", "V2"])}),
        "retryBudget": obj("A cap on concurrent retries.", {
            "minRetryConcurrency": integer("Retries always allowed.", 0),
            "percent": number("The share of active requests that may be retries."),
        }),
        "tunnel": obj("Tunnelling TCP over another protocol.", {
            "protocol": string("CONNECT or POST.", 16), "targetHost": string("The host to reach.", 253),
            "targetPort": port("The port to reach.")}, required=["targetHost", "targetPort"]),
    })
    if with_ports:
        per_port = dict(policy_parts(), port=obj("The port.", {"number": port()}))
        properties["portLevelSettings"] = array(obj("Settings for one port.", per_port), "Per-port settings.", 64)
    return obj("Policies for traffic to the destination.", properties)


def destination() -> Dict[str, Any]:
    return obj("Where requests are sent.", {
        "host": string("The destination's host name, from the service registry.", 253),
        "port": obj("The destination port.", {"number": port()}),
        "subset": string("A subset of the destination rule.", 253),
    }, required=["host"])


def headers() -> Dict[str, Any]:
    def ops(which: str) -> Dict[str, Any]:
        return obj("Changes to the %s headers." % which, {
            "add": string_map("Headers appended."), "remove": strings("Headers removed.", 64, 256),
            "set": string_map("Headers set, replacing any value.")})
    return obj("Header changes.", {"request": ops("request"), "response": ops("response")})


def http_match() -> Dict[str, Any]:
    matches = {"additionalProperties": string_match("the value"), "description": "Matches on values by name.",
               "maxProperties": 64, "type": "object"}
    return obj("A condition on the request; all fields must hold.", {
        "authority": string_match("the authority"),
        "gateways": strings("Gateways the rule applies to.", 64),
        "headers": matches,
        "ignoreUriCase": boolean("Whether the URI is compared ignoring case."),
        "method": string_match("the method"),
        "name": string("The match's name, for logs.", 256),
        "port": port("The port the request arrived on."),
        "queryParams": matches,
        "scheme": string_match("the scheme"),
        "sourceLabels": string_map("Labels of the calling workload."),
        "sourceNamespace": string("The namespace of the calling workload.", 63),
        "statPrefix": string("A prefix for the route's statistics.", 256),
        "uri": string_match("the URI"),
        "withoutHeaders": matches,
    })


def l4_match(tls: bool) -> Dict[str, Any]:
    properties = {
        "destinationSubnets": strings("Destination addresses, in CIDR notation.", 64, 64),
        "gateways": strings("Gateways the rule applies to.", 64),
        "port": port("The destination port."),
        "sourceLabels": string_map("Labels of the calling workload."),
        "sourceNamespace": string("The namespace of the calling workload.", 63),
    }
    if tls:
        properties["sniHosts"] = strings("Server names of the connection.", 64)
        return obj("A condition on a TLS connection.", properties, required=["sniHosts"])
    properties["sourceSubnet"] = string("The source address, in CIDR notation.", 64)
    return obj("A condition on a TCP connection.", properties)


def route_destination() -> Dict[str, Any]:
    return obj("A destination and its share.", {
        "destination": destination(), "weight": integer("The share of traffic, relative.", 0)},
        required=["destination"])


def http_route() -> Dict[str, Any]:
    return obj("One HTTP routing rule.", {
        "corsPolicy": obj("Cross-origin resource sharing.", {
            "allowCredentials": boolean("Whether credentials are allowed."),
            "allowHeaders": strings("Request headers allowed.", 64, 256),
            "allowMethods": strings("Methods allowed.", 16, 16),
            "allowOrigin": strings("Deprecated: use allowOrigins.", 64, 1024),
            "allowOrigins": array(string_match("the origin"), "Origins allowed.", 64),
            "exposeHeaders": strings("Response headers exposed.", 64, 256),
            "maxAge": duration("How long the answer to a preflight request is cached.", "0s"),
            "unmatchedPreflights": string("What happens to preflights that match no origin.",
                                          enum=["UNSPECIFIED", "FORWARD", "IGNORE"]),
        }),
        "delegate": obj("Another VirtualService that holds the rules.", {
            "name": string("Its name.", 253), "namespace": string("Its namespace.", 63)}),
        "directResponse": obj("An answer without a backend.", {
            "body": obj("The body.", {"bytes": {"description": "Raw bytes.", "format": "binary",
                                                "maxLength": 4096, "type": "string"},
                                      "string": string("Text.", 4096)}, rules=[one_of("string", "bytes")]),
            "status": integer("The status code.", 200, 599)}, required=["status"]),
        "fault": obj("Faults to inject.", {
            "abort": obj("Requests answered with an error.", {
                "grpcStatus": string("A gRPC status.", 64), "http2Error": string("An HTTP/2 error.", 64),
                "httpStatus": integer("An HTTP status.", 200, 599),
                "percentage": obj("The share of requests.", {"value": number("Percent.")})},
                rules=[one_of("httpStatus", "grpcStatus", "http2Error")]),
            "delay": obj("Requests delayed.", {
                "exponentialDelay": duration("An exponential delay."),
                "fixedDelay": duration("A fixed delay."),
                "percent": integer("Deprecated: use percentage.", 0, 100),
                "percentage": obj("The share of requests.", {"value": number("Percent.")})},
                rules=[one_of("fixedDelay", "exponentialDelay")]),
        }),
        "headers": headers(),
        "match": array(http_match(), "Conditions; any of them selects the rule.", 64),
        "mirror": destination(),
        "mirrorPercentage": obj("The share of requests mirrored.", {"value": number("Percent.")}),
        "mirrors": array(obj("One mirror.", {
            "destination": destination(),
            "percentage": obj("The share of requests mirrored.", {"value": number("Percent.")})},
            required=["destination"]), "Destinations requests are copied to.", 16),
        "name": string("The rule's name, for logs.", 256),
        "redirect": obj("A redirect answer.", {
            "authority": string("The new authority.", 253),
            "derivePort": string("How the port is chosen.", enum=["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"]),
            "port": port("The new port."),
            "redirectCode": integer("The status code.", 300, 399),
            "scheme": string("The new scheme.", 16),
            "uri": string("The new path.", 1024)}, rules=[one_of("port", "derivePort")]),
        "retries": obj("Retries of failed requests.", {
            "attempts": integer("Retries allowed.", 0),
            "perTryTimeout": duration("The timeout of each try."),
            "retryOn": string("The conditions that cause a retry.", 1024),
            "retryRemoteLocalities": boolean("Whether other localities are tried."),
        }),
        "rewrite": obj("Changes to the request before it is forwarded.", {
            "authority": string("The new authority.", 253),
            "uri": string("The new path prefix.", 1024),
            "uriRegexRewrite": obj("A path rewrite by expression.", {
                "match": string("The expression.", 1024), "rewrite": string("The replacement.", 1024)}),
        }, rules=[one_of("uri", "uriRegexRewrite")]),
        "route": array(obj("A destination, its share and header changes.", {
            "destination": destination(), "headers": headers(), "weight": integer("The share, relative.", 0)},
            required=["destination"]), "Where the requests go.", 64),
        "timeout": duration("The request timeout.", "0s"),
    }, rules=[["a delegate rule cannot redirect or route", "!has(self.delegate) || !has(self.redirect)"]])


def port_spec() -> Dict[str, Any]:
    return obj("A port the service listens on.", {
        "name": string("The port's name.", 253),
        "number": port(),
        "protocol": string("The protocol: HTTP, HTTP2, GRPC, TLS, TCP, ...", 16),
        "targetPort": port("The port on the endpoints."),
    }, required=["number", "name"])


def workload_entry(description: str) -> Dict[str, Any]:
    return obj(description, {
        "address": string("The address of the endpoint, without the port.", 256),
        "labels": string_map("Labels of the endpoint."),
        "locality": string("Where the endpoint runs: region/zone/subzone.", 2048),
        "network": string("The network the endpoint is on.", 2048),
        "ports": {"additionalProperties": {"maximum": 4294967295, "minimum": 0, "type": "integer"},
                  "description": "Port names and numbers.", "maxProperties": 128, "type": "object"},
        "serviceAccount": string("The service account of the endpoint.", 253),
        "weight": integer("The load-balancing weight.", 0),
    }, rules=[["an address or a network is required", "has(self.address) || has(self.network)"],
              ["a UDS address takes no ports", "!has(self.address) || !self.address.startsWith('unix://') "
               "|| !has(self.ports)"]])


def status_schema() -> Dict[str, Any]:
    condition = obj("One aspect of the state.", {
        "lastProbeTime": string("When it was last checked.", 64),
        "lastTransitionTime": string("When it last changed.", 64),
        "message": string("For people.", 32768),
        "observedGeneration": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                               "description": "The generation it was set for.", "x-kubernetes-int-or-string": True},
        "reason": string("Why, in CamelCase.", 1024),
        "status": string("True, False or Unknown.", 16),
        "type": string("What it describes.", 316),
    })
    status = obj("The state the controllers observed.", {
        "addresses": array(obj("An address assigned to the resource.", {
            "host": string("The host the address is for.", 253),
            "type": string("What kind of address.", enum=["IPAddress", "Hostname"]),
            "value": string("The address.", 253),
        }, required=["value"]), "Addresses assigned by the controllers.", 32),
        "conditions": array(condition, "The current conditions.", 16),
        "observedGeneration": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                               "description": "The generation observed.", "x-kubernetes-int-or-string": True},
        "validationMessages": array(obj("A finding of analysis.", {
            "documentationUrl": string("Where to read more.", 2048),
            "level": string("How serious it is.", enum=["UNKNOWN", "ERROR", "WARNING", "INFO"]),
            "type": obj("Its type.", {"code": string("A code.", 64), "name": string("A name.", 253)}),
        }), "Findings of analysis.", 64),
    })
    status["x-kubernetes-preserve-unknown-fields"] = True
    return status


# -- the kinds -------------------------------------------------------------------------------------


def destination_rule() -> Dict[str, Any]:
    return obj("Policies that apply to traffic for a service after routing.", {
        "exportTo": strings("Namespaces the rule is visible in.", 64, 63),
        "host": string("The service the rule applies to.", 253),
        "subsets": array(obj("A named group of endpoints, by label.", {
            "labels": string_map("Labels the endpoints carry."),
            "name": string("The subset's name.", 253),
            "trafficPolicy": traffic_policy(),
        }, required=["name"]), "Named versions of the service.", 128),
        "trafficPolicy": traffic_policy(),
        "workloadSelector": selector(),
    }, required=["host"])


def virtual_service() -> Dict[str, Any]:
    def l4_route(tls: bool) -> Dict[str, Any]:
        return obj("One %s routing rule." % ("TLS" if tls else "TCP"), {
            "match": array(l4_match(tls), "Conditions; any of them selects the rule.", 64),
            "route": array(route_destination(), "Where the connections go.", 64)})
    return obj("Routing rules for traffic to a host.", {
        "exportTo": strings("Namespaces the rules are visible in.", 64, 63),
        "gateways": strings("Gateways and sidecars the rules apply to.", 64),
        "hosts": strings("The hosts the rules apply to.", 256),
        "http": array(http_route(), "HTTP rules, in order.", 256),
        "tcp": array(l4_route(False), "TCP rules.", 64),
        "tls": array(l4_route(True), "TLS rules.", 64),
    })


def sidecar() -> Dict[str, Any]:
    listener_port = obj("The listener's port.", {
        "name": string("The port's name.", 253), "number": port(),
        "protocol": string("The protocol.", 16), "targetPort": port("The target port.")})
    capture = string("How traffic is captured.", enum=["DEFAULT", "IPTABLES", "NONE"])
    return obj("The configuration of the proxy of a set of workloads.", {
        "egress": array(obj("An outbound listener.", {
            "bind": string("The address to bind to.", 256), "captureMode": capture,
            "hosts": strings("Hosts reachable, as namespace/host.", 256), "port": listener_port,
        }, required=["hosts"]), "Outbound listeners.", 64),
        "inboundConnectionPool": connection_pool(),
        "ingress": array(obj("An inbound listener.", {
            "bind": string("The address to bind to.", 256), "captureMode": capture,
            "connectionPool": connection_pool(),
            "defaultEndpoint": string("Where traffic is forwarded.", 256),
            "port": listener_port,
            "tls": tls_settings("inbound"),
        }, required=["port"]), "Inbound listeners.", 64),
        "outboundTrafficPolicy": obj("What happens to traffic to unknown hosts.", {
            "egressProxy": destination(),
            "mode": string("REGISTRY_ONLY or ALLOW_ANY.", enum=["REGISTRY_ONLY", "ALLOW_ANY"])}),
        "workloadSelector": selector(),
    })


def telemetry() -> Dict[str, Any]:
    providers = array(obj("A provider.", {"name": string("Its name, from the mesh config.", 253)},
                          required=["name"]), "Providers used.", 16)
    match_mode = obj("Which traffic.", {"mode": string("Client, server or both.",
                                                       enum=["CLIENT_AND_SERVER", "CLIENT", "SERVER"])})
    properties = dict(targeting())
    properties.update({
        "accessLogging": array(obj("Access logging.", {
            "disabled": boolean("Whether logging is off."),
            "filter": obj("Which requests are logged.", {"expression": string("A CEL expression.", 4096)}),
            "match": match_mode, "providers": providers}), "Access logging settings.", 16),
        "metrics": array(obj("Metrics.", {
            "overrides": array(obj("A change to one metric.", {
                "disabled": boolean("Whether the metric is off."),
                "match": obj("Which metric.", {
                    "customMetric": string("A custom metric's name.", 253),
                    "metric": string("A standard metric.", enum=["ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION",
                                                                 "REQUEST_SIZE", "RESPONSE_SIZE", "TCP_OPENED_CONNECTIONS",
                                                                 "TCP_CLOSED_CONNECTIONS", "TCP_SENT_BYTES",
                                                                 "TCP_RECEIVED_BYTES", "GRPC_REQUEST_MESSAGES",
                                                                 "GRPC_RESPONSE_MESSAGES"]),
                    "mode": string("Client, server or both.", enum=["CLIENT_AND_SERVER", "CLIENT", "SERVER"])}),
                "tagOverrides": {"additionalProperties": obj("A tag change.", {
                    "operation": string("UPSERT or REMOVE.", enum=["UPSERT", "REMOVE"]),
                    "value": string("A CEL expression for the value.", 4096)}),
                    "description": "Tags changed.", "maxProperties": 64, "type": "object"},
            }), "Changes to the metrics.", 64),
            "providers": providers,
            "reportingInterval": duration("How often metrics are reported."),
        }), "Metrics settings.", 16),
        "tracing": array(obj("Tracing.", {
            "customTags": {"additionalProperties": obj("A tag's value.", {
                "environment": obj("From the environment.", {
                    "defaultValue": string("Default.", 1024), "name": string("Variable.", 253)}, required=["name"]),
                "header": obj("From a header.", {
                    "defaultValue": string("Default.", 1024), "name": string("Header.", 253)}, required=["name"]),
                "literal": obj("A constant.", {"value": string("The value.", 1024)}, required=["value"]),
            }, rules=[one_of("literal", "environment", "header")]), "description": "Tags added to spans.",
                "maxProperties": 64, "type": "object"},
            "disableSpanReporting": boolean("Whether spans are not reported."),
            "enableIstioTags": boolean("Whether Istio's own tags are added."),
            "match": match_mode, "providers": providers,
            "randomSamplingPercentage": number("The share of requests traced."),
        }), "Tracing settings.", 16),
    })
    return obj("Telemetry settings for workloads.", properties,
               rules=[one_of("selector", "targetRef", "targetRefs")])


def probe() -> Dict[str, Any]:
    return obj("How the health of a workload is checked.", {
        "exec": obj("A command.", {"command": strings("The command line.", 64, 1024)}, required=["command"]),
        "failureThreshold": integer("Failures before it is unhealthy.", 0),
        "grpc": obj("A gRPC health check.", {"port": port(), "service": string("The service.", 253)}),
        "httpGet": obj("An HTTP GET.", {
            "host": string("The host.", 253), "httpHeaders": array(obj("A header.", {
                "name": string("Its name.", 256, LABEL_NAME), "value": string("Its value.", 4096)}),
                "Headers sent.", 16),
            "path": string("The path.", 2048), "port": port(),
            "scheme": string("HTTP or HTTPS.", 8)}, required=["port"]),
        "initialDelaySeconds": integer("Seconds before the first check.", 0),
        "periodSeconds": integer("Seconds between checks.", 0),
        "successThreshold": integer("Successes before it is healthy.", 0),
        "tcpSocket": obj("A TCP connection.", {"host": string("The host.", 253), "port": port()},
                         required=["port"]),
        "timeoutSeconds": integer("Seconds a check may take.", 0),
    }, rules=[one_of("httpGet", "tcpSocket", "exec", "grpc")])


def workload_group() -> Dict[str, Any]:
    return obj("A template for workloads outside Kubernetes.", {
        "metadata": obj("Metadata for the entries made from it.", {
            "annotations": string_map("Annotations."), "labels": string_map("Labels.")}),
        "probe": probe(),
        "template": workload_entry("The template of the entries."),
    }, required=["template"])


def service_entry() -> Dict[str, Any]:
    return obj("A service added to the mesh's registry.", {
        "addresses": strings("Virtual addresses of the service.", 256, 64),
        "endpoints": array(workload_entry("One endpoint."), "The endpoints.", 4096),
        "exportTo": strings("Namespaces the entry is visible in.", 64, 63),
        "hosts": strings("The hosts of the service.", 256),
        "location": string("Inside or outside the mesh.", enum=["MESH_EXTERNAL", "MESH_INTERNAL"]),
        "ports": array(port_spec(), "The ports.", 256),
        "resolution": string("How addresses are found.", enum=["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"]),
        "subjectAltNames": strings("Names the endpoints' certificates carry."),
        "workloadSelector": selector("pods and workload entries"),
    }, required=["hosts"], rules=[one_of("workloadSelector", "endpoints")])


def gateway() -> Dict[str, Any]:
    server_tls = tls_settings("downstream")
    server_tls["properties"].update({
        "credentialNames": strings("Several Secrets, one per key type.", 2),
        "httpsRedirect": boolean("Whether plain HTTP is redirected."),
        "serverCertificate": string("Path of the server certificate.", 4096),
        "tlsCertificates": array(obj("A key pair.", {
            "caCertificates": string("CA path.", 4096), "privateKey": string("Key path.", 4096),
            "serverCertificate": string("Certificate path.", 4096)}), "Several key pairs.", 2),
        "verifyCertificateHash": strings("Allowed certificate hashes.", 64, 128),
        "verifyCertificateSpki": strings("Allowed public key hashes.", 64, 128),
    })
    return obj("A load balancer at the edge of the mesh.", {
        "selector": string_map("The gateway pods' labels."),
        "servers": array(obj("A listener.", {
            "bind": string("The address to bind to.", 256),
            "defaultEndpoint": string("Where traffic is forwarded.", 256),
            "hosts": strings("Hosts served.", 256),
            "name": string("The server's name.", 253),
            "port": port_spec(),
            "tls": server_tls,
        }, required=["port", "hosts"]), "The listeners.", 256),
    })


def authorization_policy() -> Dict[str, Any]:
    def pairs(what: str) -> Dict[str, Any]:
        return {what: strings("Allowed %s." % what, 64, 1024),
                "not" + what[0].upper() + what[1:]: strings("Refused %s." % what, 64, 1024)}
    source: Dict[str, Any] = {}
    for name in ("principals", "requestPrincipals", "namespaces", "ipBlocks", "remoteIpBlocks", "serviceAccounts"):
        source.update(pairs(name))
    operation: Dict[str, Any] = {}
    for name in ("hosts", "ports", "methods", "paths"):
        operation.update(pairs(name))
    properties = dict(targeting())
    properties.update({
        "action": string("What a match does.", enum=["ALLOW", "DENY", "AUDIT", "CUSTOM"]),
        "provider": obj("The external authorizer, for CUSTOM.", {"name": string("Its name.", 253)}),
        "rules": array(obj("A rule; all its parts must match.", {
            "from": array(obj("A source.", {"source": obj("Who calls.", source,
                                                          rules=[one_of("serviceAccounts", "principals")])}),
                          "Sources; any may match.", 64),
            "to": array(obj("An operation.", {"operation": obj("What is called.", operation)}),
                        "Operations; any may match.", 64),
            "when": array(obj("A condition.", {
                "key": string("The attribute.", 1024), "notValues": strings("Refused values.", 64, 1024),
                "values": strings("Allowed values.", 64, 1024)}, required=["key"]), "Conditions.", 64),
        }), "The rules.", 512),
    })
    return obj("Access control for workloads.", properties,
               rules=[one_of("selector", "targetRef", "targetRefs"),
                      ["a provider is required for CUSTOM", "self.action != 'CUSTOM' || has(self.provider)"]])


def request_authentication() -> Dict[str, Any]:
    properties = dict(targeting())
    properties["jwtRules"] = array(obj("How one issuer's tokens are checked.", {
        "audiences": strings("Accepted audiences.", 64, 1024),
        "forwardOriginalToken": boolean("Whether the token is passed on."),
        "fromCookies": strings("Cookies holding the token.", 16, 256),
        "fromHeaders": array(obj("A header holding the token.", {
            "name": string("The header.", 256), "prefix": string("A prefix before the token.", 256)},
            required=["name"]), "Headers holding the token.", 16),
        "fromParams": strings("Query parameters holding the token.", 16, 256),
        "issuer": string("The issuer.", 1024),
        "jwks": string("The key set, inline.", 65536),
        "jwksUri": string("Where the key set is.", 2048),
        "jwks_uri": string("Where the key set is (old spelling).", 2048),
        "outputClaimToHeaders": array(obj("A claim copied into a header.", {
            "claim": string("The claim.", 256), "header": string("The header.", 256, LABEL_NAME)},
            required=["header", "claim"]), "Claims copied into headers.", 64),
        "outputPayloadToHeader": string("The header that gets the payload.", 256),
        "timeout": duration("How long fetching the key set may take."),
    }, required=["issuer"], rules=[one_of("jwks", "jwksUri", "jwks_uri")]), "Token rules.", 4096)
    return obj("Which request credentials a workload accepts.", properties,
               rules=[one_of("selector", "targetRef", "targetRefs")])


def peer_authentication() -> Dict[str, Any]:
    mode = obj("Mutual TLS settings.", {"mode": string("The mode.", enum=["UNSET", "DISABLE", "PERMISSIVE",
                                                                          "STRICT"])})
    return obj("Mutual TLS for workloads.", {
        "mtls": mode,
        "portLevelMtls": {"additionalProperties": mode, "description": "Per-port settings.", "maxProperties": 64,
                          "minProperties": 1, "type": "object",
                          "x-kubernetes-validations": [{"message": "port must be between 1-65535",
                                                        "rule": "self.all(key, 0 < int(key) && int(key) <= 65535)"}]},
        "selector": selector(),
    }, rules=[["portLevelMtls requires selector", "!has(self.portLevelMtls) || has(self.selector)"]])


def envoy_filter() -> Dict[str, Any]:
    return obj("Patches to the generated proxy configuration.", {
        "configPatches": array(obj("One patch.", {
            "applyTo": string("What is patched.", enum=["INVALID", "LISTENER", "FILTER_CHAIN", "NETWORK_FILTER",
                                                        "HTTP_FILTER", "ROUTE_CONFIGURATION", "VIRTUAL_HOST",
                                                        "HTTP_ROUTE", "CLUSTER", "EXTENSION_CONFIG", "BOOTSTRAP",
                                                        "LISTENER_FILTER"]),
            "match": obj("Where the patch applies.", {
                "cluster": obj("A cluster.", {"name": string("Its name.", 1024), "portNumber": port(),
                                              "service": string("Its service.", 253),
                                              "subset": string("Its subset.", 253)}),
                "context": string("Sidecar, gateway or any.", enum=["ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND",
                                                                    "GATEWAY"]),
                "listener": obj("A listener.", {
                    "filterChain": obj("A filter chain.", {
                        "applicationProtocols": string("Protocols.", 256),
                        "destinationPort": port(),
                        "filter": obj("A filter.", {
                            "name": string("Its name.", 256),
                            "subFilter": obj("A filter inside it.", {"name": string("Its name.", 256)})}),
                        "name": string("Its name.", 256), "sni": string("The server name.", 253),
                        "transportProtocol": string("raw_buffer or tls.", 32)}),
                    "listenerFilter": string("A listener filter.", 256),
                    "name": string("Its name.", 256), "portName": string("Its port's name.", 253),
                    "portNumber": port()}),
                "proxy": obj("Which proxies.", {"metadata": string_map("Their metadata."),
                                                "proxyVersion": string("A version expression.", 256)}),
                "routeConfiguration": obj("A route configuration.", {
                    "gateway": string("The gateway.", 253), "name": string("Its name.", 1024),
                    "portName": string("Its port's name.", 253), "portNumber": port(),
                    "vhost": obj("A virtual host.", {
                        "domainName": string("A domain.", 253), "name": string("Its name.", 1024),
                        "route": obj("A route.", {"action": string("Its action.", enum=["ANY", "ROUTE", "REDIRECT",
                                                                                        "DIRECT_RESPONSE"]),
                                                  "name": string("Its name.", 1024)})})}),
            }, rules=[one_of("listener", "routeConfiguration", "cluster")]),
            "patch": obj("The change.", {
                "filterClass": string("Where a filter goes.", enum=["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"]),
                "operation": string("How.", enum=["INVALID", "MERGE", "ADD", "REMOVE", "INSERT_BEFORE",
                                                  "INSERT_AFTER", "INSERT_FIRST", "REPLACE"]),
                "value": preserved("The configuration to use.")}),
        }), "The patches.", 1024),
        "priority": integer("The order among filters."),
        "targetRefs": array(target_ref(), "The resources this applies to.", 16),
        "workloadSelector": obj("Which workloads.", {"labels": string_map("Their labels.")}),
    }, rules=[one_of("workloadSelector", "targetRefs")])


def proxy_config() -> Dict[str, Any]:
    return obj("Proxy settings for workloads.", {
        "concurrency": integer("Worker threads; 0 means one per core.", 0),
        "environmentVariables": string_map("Extra environment."),
        "image": obj("The proxy image.", {"imageType": string("default, debug or distroless.", 64)}),
        "selector": selector(),
    })


def plugin(kind: str) -> Dict[str, Any]:
    properties = dict(targeting())
    properties.update({
        "failStrategy": string("What happens when the plugin fails.", enum=["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"]),
        "imagePullPolicy": string("When the image is fetched.", enum=["UNSPECIFIED_POLICY", "IfNotPresent",
                                                                      "Always"]),
        "imagePullSecret": string("The pull Secret.", 253),
        "match": array(obj("Which traffic.", {
            "mode": string("Client, server or both.", enum=["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"]),
            "ports": array(obj("A port.", {"number": port()}, required=["number"]), "Ports.", 64)}),
            "Traffic selectors.", 64),
        "phase": string("Where in the chain.", enum=["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"]),
        "pluginConfig": preserved("The plugin's configuration."),
        "pluginName": string("The plugin's name.", 256),
        "priority": {"description": "The order within a phase.", "format": "int32", "nullable": True,
                     "type": "integer"},
        "sha256": string("The module's checksum.", 64, r"(^$|^[a-f0-9]{64}$)"),
        "type": string("HTTP or network.", enum=["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"]),
        "url": string("Where the module is.", 2048),
        "vmConfig": obj("The VM.", {"env": array(obj("An environment variable.", {
            "name": string("Its name.", 256), "value": string("Its value.", 2048),
            "valueFrom": string("Where it comes from.", enum=["INLINE", "HOST"])}, required=["name"]),
            "Variables.", 256)}),
    })
    if kind == "TrafficExtension":
        properties["lua"] = obj("A Lua script instead of a module.", {"inlineCode": string("The script.", 65536)})
        return obj("A traffic extension for workloads.", properties, required=["phase"],
                   rules=[one_of("url", "lua")])
    return obj("A WebAssembly plugin for workloads.", properties, required=["url"],
               rules=[one_of("selector", "targetRef", "targetRefs")])


NET, SEC, TEL, EXT = "networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"
ALL_NET = ["v1", "v1alpha3", "v1beta1"]
# plural: (group, kind, short names, served versions (storage first), spec, printer columns)
KINDS = [
    ("destinationrules", NET, "DestinationRule", ["dr"], ALL_NET, destination_rule, [".spec.host"]),
    ("envoyfilters", NET, "EnvoyFilter", [], ["v1alpha3"], envoy_filter, []),
    ("gateways", NET, "Gateway", ["gw"], ALL_NET, gateway, []),
    ("proxyconfigs", NET, "ProxyConfig", [], ["v1beta1"], proxy_config, []),
    ("serviceentries", NET, "ServiceEntry", ["se"], ALL_NET, service_entry, [".spec.hosts", ".spec.location"]),
    ("sidecars", NET, "Sidecar", [], ALL_NET, sidecar, []),
    ("virtualservices", NET, "VirtualService", ["vs"], ALL_NET, virtual_service, [".spec.gateways", ".spec.hosts"]),
    ("workloadentries", NET, "WorkloadEntry", ["we"], ALL_NET, lambda: workload_entry("An outside workload."),
     [".spec.address"]),
    ("workloadgroups", NET, "WorkloadGroup", ["wg"], ALL_NET, workload_group, []),
    ("authorizationpolicies", SEC, "AuthorizationPolicy", ["ap"], ["v1", "v1beta1"], authorization_policy,
     [".spec.action"]),
    ("peerauthentications", SEC, "PeerAuthentication", ["pa"], ["v1", "v1beta1"], peer_authentication,
     [".spec.mtls.mode"]),
    ("requestauthentications", SEC, "RequestAuthentication", ["ra"], ["v1", "v1beta1"], request_authentication,
     []),
    ("telemetries", TEL, "Telemetry", ["telemetry"], ["v1", "v1alpha1"], telemetry, []),
    ("trafficextensions", EXT, "TrafficExtension", [], ["v1alpha1"], lambda: plugin("TrafficExtension"), []),
    ("wasmplugins", EXT, "WasmPlugin", [], ["v1alpha1"], lambda: plugin("WasmPlugin"), []),
]


def crd(plural: str, group: str, kind: str, short_names: List[str], versions: List[str], spec,
        columns: List[str]) -> Dict[str, Any]:
    printer = [{"description": "The %s of the resource." % path.rsplit(".", 1)[-1], "jsonPath": path,
                "name": path.rsplit(".", 1)[-1].capitalize(), "type": "string"} for path in columns]
    printer.append({"description": "When the resource was created.", "jsonPath": ".metadata.creationTimestamp",
                    "name": "Age", "type": "date"})
    names = {"categories": ["istio-io", group.split(".")[0] + "-istio-io"], "kind": kind,
             "listKind": kind + "List", "plural": plural, "singular": kind.lower()}
    if short_names:
        names["shortNames"] = short_names
    served = []
    for version in sorted(versions, key=lambda v: v != versions[0]):
        served.append({
            "additionalPrinterColumns": printer, "name": version,
            "schema": {"openAPIV3Schema": obj("Generated for the servicemesh.istio benchmarks: %s." % kind, {
                "spec": spec(), "status": status_schema()}, required=["spec"])},
            "served": True, "storage": version == versions[0], "subresources": {"status": {}}})
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"annotations": {"helm.sh/resource-policy": "keep"},
                         "labels": {"app": "istio-pilot", "chart": "istio", "heritage": "Tiller", "release": "istio"},
                         "name": "%s.%s" % (plural, group)},
            "spec": {"group": group, "names": names, "scope": "Namespaced", "versions": served}}


def crd_documents() -> List[Dict[str, Any]]:
    return [crd(*entry) for entry in KINDS]


def crd_text() -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return "\n---\n".join(yaml.dump(doc, Dumper=dumper, default_flow_style=False, sort_keys=True, width=120)
                          .rstrip("\n") for doc in crd_documents()) + "\n"


def write_chart_dir(dest: str, version: str = "1.30.3", source: str = FIXTURE_CHARTS) -> str:
    """``dest`` as a chart_dir holding ``<version>/<chart>/``; rewritten only when it is not what this writes."""
    text = crd_text()
    target = os.path.join(dest, version)
    stamp = os.path.join(target, STAMP)
    try:
        with open(os.path.join(target, "base", "files", CRD_FILE), encoding="utf-8") as handle:
            if handle.read() == text and os.path.exists(stamp):
                return dest
    except OSError:
        pass
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.copytree(os.path.join(source, version), target)
    with open(os.path.join(target, "base", "templates", "crds.yaml"), "w", encoding="utf-8") as handle:
        handle.write(CRDS_TEMPLATE)
    with open(os.path.join(target, "base", "files", CRD_FILE), "w", encoding="utf-8") as handle:
        handle.write(text)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write("generated by benchmarks/large_crd_chart.py\n")
    return dest


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dest", help="the chart_dir to write (<dest>/<version>/<chart>/)")
    parser.add_argument("--version", default="1.30.3", help="a version of tests/fixtures/charts")
    args = parser.parse_args(argv)
    print(write_chart_dir(os.path.abspath(args.dest), args.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
