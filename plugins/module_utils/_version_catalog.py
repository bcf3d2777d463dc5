# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in Istio version catalog.

This module is data only: a YAML document kept in a Python file so that Ansible
ships it with the modules (AnsiballZ packs module_utils Python files, not other
files). Users can replace it with their own file through the ``version_catalog``
option; the schema is the same.

Entry kinds:
- concrete: ``name`` and ``version`` (semver without ``v``); ``prerelease: true``
  marks alpha/beta/rc builds, which are never the default;
- alias: ``name`` and ``ref`` (the concrete name it points at);
- end-of-life: any entry with ``eol: true``; it is known but not installable.

Order does not matter: the default is the newest stable, non-EOL concrete entry.
"""

CATALOG_YAML = """
versions:
  - {name: v1.31.0-beta.1, version: 1.31.0-beta.1, prerelease: true}
  - {name: v1.31-latest, ref: v1.31.0-beta.1}
  - {name: v1.30.3, version: 1.30.3}
  - {name: v1.30.2, version: 1.30.2}
  - {name: v1.30.1, version: 1.30.1}
  - {name: v1.30.0, version: 1.30.0}
  - {name: v1.30-latest, ref: v1.30.3}
  - {name: v1.29.6, version: 1.29.6}
  - {name: v1.29.5, version: 1.29.5}
  - {name: v1.29.4, version: 1.29.4}
  - {name: v1.29.3, version: 1.29.3}
  - {name: v1.29.2, version: 1.29.2}
  - {name: v1.29.1, version: 1.29.1}
  - {name: v1.29.0, version: 1.29.0}
  - {name: v1.29-latest, ref: v1.29.6}
  - {name: v1.28.10, version: 1.28.10, eol: true}
  - {name: v1.28.9, version: 1.28.9, eol: true}
  - {name: v1.28.8, version: 1.28.8, eol: true}
  - {name: v1.28.7, version: 1.28.7, eol: true}
  - {name: v1.28.6, version: 1.28.6, eol: true}
  - {name: v1.28.5, version: 1.28.5, eol: true}
  - {name: v1.28.4, version: 1.28.4, eol: true}
  - {name: v1.28.3, version: 1.28.3, eol: true}
  - {name: v1.28.2, version: 1.28.2, eol: true}
  - {name: v1.28.1, version: 1.28.1, eol: true}
  - {name: v1.28.0, version: 1.28.0, eol: true}
  - {name: v1.28-latest, ref: v1.28.10, eol: true}
  - {name: v1.27.9, version: 1.27.9, eol: true}
  - {name: v1.27-latest, ref: v1.27.9, eol: true}
  - {name: v1.26.8, version: 1.26.8, eol: true}
  - {name: v1.26-latest, ref: v1.26.8, eol: true}
  - {name: v1.24.6, version: 1.24.6, eol: true}
  - {name: v1.24.3, version: 1.24.3, eol: true}
  - {name: v1.24-latest, ref: v1.24.6, eol: true}
"""
