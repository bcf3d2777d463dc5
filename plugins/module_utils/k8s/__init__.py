# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes adapter layer: client, pure object helpers, applier, inventory, units, readiness.

Import the private modules directly (``..k8s._apply`` and so on): Ansible bundles
module_utils by the import paths a module names, so a re-exporting package
``__init__`` would only make every module carry all of them.
"""
