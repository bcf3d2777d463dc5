# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # How the modules that change a cluster apply, wait and report.
    DOCUMENTATION = r"""
options:
  wait:
    description: Wait until what was applied is ready (or gone, when removing).
    type: bool
    default: true
  wait_timeout:
    description: How many seconds to wait; on timeout the error lists every object not ready and why.
    type: int
    default: 300
  force_conflicts:
    description:
      - Take over fields another field manager owns. Without it, a server-side apply conflict
        fails and names the fields and their manager.
    type: bool
    default: false
notes:
  - Objects are applied with server-side apply under the field manager C(servicemesh.istio).
  - What each unit applied is recorded in a ConfigMap C(servicemesh-istio-<kind>-<name>) in its namespace;
    removal deletes exactly the recorded objects this collection created, never objects that existed before.
  - Check mode asks the API server for a dry run and returns the real before/after diff.
  - Every object is decided by a server dry run before the first write; if any is refused (a conflict, an
    invalid field), nothing is written and the error names each refused object.
  - One run at a time changes a control plane (or the CNI, ztunnel, a gateway). Before its first write a run takes
    the Lease C(servicemesh-istio-<scope>) in the namespace; a second run waits for it up to O(wait_timeout), then
    reads the cluster again. A lease left by a killed run expires after 30 seconds. Runs that change nothing take no
    lease. The credentials need C(get), C(create), C(patch) and C(delete) on C(leases.coordination.k8s.io) there.
"""
