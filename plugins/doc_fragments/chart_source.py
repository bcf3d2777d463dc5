# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Options of every module that renders the Istio charts.
    DOCUMENTATION = r"""
options:
  chart_dir:
    description:
      - A local mirror of the Istio charts, for air-gapped installs.
      - Laid out as C(<chart_dir>/<version>/<chart>/) with unpacked charts (C(v<version>) also works),
        or as C(<chart_dir>/<chart>-<version>.tgz).
      - When set, nothing is downloaded and a missing chart is an error.
    type: path
  chart_repo:
    description:
      - The Helm repository to download charts from (its C(index.yaml) and archives).
      - Archives are checked against the sha256 digest in the index.
    type: str
    default: https://istio-release.storage.googleapis.com/charts
  chart_cache_dir:
    description:
      - Where downloaded chart archives are kept, so that a second run downloads nothing.
      - Rendered charts, parsed, are kept in its C(rendered) directory (the newest 64, keyed by the chart's and the
        values' digests), so that an unchanged re-run neither renders nor parses; a directory that cannot be
        written only means no cache.
      - Defaults to C($XDG_CACHE_HOME/servicemesh.istio/charts) or C(~/.cache/servicemesh.istio/charts).
    type: path
  chart_repo_validate_certs:
    description: Whether to verify the TLS certificate of O(chart_repo).
    type: bool
    default: true
  version_catalog:
    description:
      - A YAML file that replaces the built-in catalog of Istio versions (same schema
        as the built-in one, a C(versions) list of concrete, alias and end-of-life entries).
      - "A concrete entry may pin its images for an air-gapped mirror, under C(images): C(pilot) (istiod),
        C(proxyv2) (the sidecar and its init container, and so gateways), C(install-cni) and C(ztunnel), each a
        full reference such as C(mirror.example.com/istio/pilot:1.30.3) or C(...@sha256:<digest>); and/or
        C(hub) and C(tag) for every image (C(global.hub) and C(global.tag))."
      - Each reference is set in the values unless the values choose that image themselves (its C(image), C(hub)
        or C(tag), for instance C(pilot.image) or C(ztunnel.tag)); C(global.hub) or C(global.tag) in the values
        choose every image, and then none is set, as in the reference operator.
      - "Example: C(versions: [{name: v1.30.3, version: 1.30.3, images: {pilot: mirror.example.com/istio/pilot:1.30.3,
        proxyv2: mirror.example.com/istio/proxyv2:1.30.3, install-cni: mirror.example.com/istio/install-cni:1.30.3,
        ztunnel: mirror.example.com/istio/ztunnel:1.30.3}}, {name: v1.30-latest, ref: v1.30.3}]). Aliases take
        the images of their entry and carry none of their own."
    type: path
"""
