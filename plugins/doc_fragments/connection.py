# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # What the modules add to kubernetes.core's connection options.
    DOCUMENTATION = r"""
options:
  request_timeout:
    description:
      - Seconds to wait for each answer of the API server (connecting waits at most 10 of them).
      - A request that times out is retried like a dropped connection, up to 5 attempts in all, so a server
        that stops answering fails the task after about 5 times this long.
      - Other clusters named in nested options (a remote cluster, the mesh's clusters) use the same timeout.
    type: float
    default: 30
"""
