# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # The cluster whose credentials a remote secret exports (istio_remote_secret).
    DOCUMENTATION = r"""
options:
  remote:
    description:
      - The remote cluster, the one istiod will read through the secret, given with the same options as the
        cluster the module changes (the top-level connection options). Options left out fall back to the
        C(K8S_AUTH_*) environment variables, as at the top level.
      - Required with O(state=present). With O(state=absent) and no O(remote), only the Secret on the receiving
        cluster is removed.
    type: dict
    suboptions:
      host:
        description: The URL of the cluster's API server.
        type: str
      api_key:
        description: A bearer token for the API server.
        type: str
      kubeconfig:
        description: A kubeconfig file, or a kubeconfig as a mapping.
        type: raw
      context:
        description: The kubeconfig context to use.
        type: str
      username:
        description: A user name, for API servers with HTTP basic authentication.
        type: str
      password:
        description: The password that goes with O(remote.username).
        type: str
      client_cert:
        description: A client certificate file.
        type: path
        aliases: [cert_file]
      client_key:
        description: The client certificate's key file.
        type: path
        aliases: [key_file]
      ca_cert:
        description: The CA certificate file that signs the API server's certificate.
        type: path
        aliases: [ssl_ca_cert]
      validate_certs:
        description: Whether to verify the API server's certificate.
        type: bool
        aliases: [verify_ssl]
      proxy:
        description: An HTTP proxy URL.
        type: str
      no_proxy:
        description: Hosts, domains and networks reached without the proxy, separated by commas.
        type: str
      proxy_headers:
        description: Headers for the proxy.
        type: dict
        suboptions:
          proxy_basic_auth:
            description: C(user:password) for the proxy.
            type: str
          basic_auth:
            description: C(user:password) for basic authentication.
            type: str
          user_agent:
            description: The user agent.
            type: str
      persist_config:
        description: Whether to save refreshed credentials back to the kubeconfig.
        type: bool
      impersonate_user:
        description: A user to act as.
        type: str
      impersonate_groups:
        description: Groups to act as.
        type: list
        elements: str
"""
