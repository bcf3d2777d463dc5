# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Multi-cluster meshes: the shared CA, remote secrets, gateways and usage across clusters.

Import the modules directly (``.._multicluster.cacerts`` and so on), as for ``k8s``.
"""
