# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Modules that change something: full check mode and diff support, idempotent, in the action group.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change and modifies nothing.
    support: full
    details:
      - The second run sends no writes to the cluster; objects whose fields already match are not applied again.
  action_group:
    description: Use C(group/servicemesh.istio.istio) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - servicemesh.istio.istio
    details:
      - The connection options (O(kubeconfig), O(context), O(host), ...) are usually set this way for every module
        of the collection at once.
      - Defaults set for C(group/kubernetes.core.k8s) do not reach this module; set them for
        C(group/servicemesh.istio.istio) too.
"""

    # Read-only modules.
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: The module only reads.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change and modifies nothing.
    support: full
    details: The module only reads.
  action_group:
    description: Use C(group/servicemesh.istio.istio) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - servicemesh.istio.istio
    details:
      - The connection options (O(kubeconfig), O(context), O(host), ...) are usually set this way for every module
        of the collection at once.
      - Defaults set for C(group/kubernetes.core.k8s) do not reach this module; set them for
        C(group/servicemesh.istio.istio) too.
"""
