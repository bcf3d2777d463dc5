# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: revision_name
short_description: The revision name of an Istio control plane
version_added: 0.1.0
description:
  - C(InPlace) gives the control plane's name; C(RevisionBased) gives C(<name>-<version with dots as dashes>),
    with the version as written (an alias is not resolved). The result is checked to be usable in object names.
positional: version, strategy
options:
  _input:
    description: The control plane's name.
    type: str
    required: true
  version:
    description: The Istio version as written, e.g. C(v1.30.3) or C(v1.30-latest).
    type: str
  strategy:
    description: The update strategy.
    type: str
    choices: [InPlace, RevisionBased]
    default: InPlace
"""

EXAMPLES = r"""
- ansible.builtin.debug:
    msg: "{{ 'default' | servicemesh.istio.revision_name('v1.30.3', 'RevisionBased') }}"  # default-v1-30-3
"""

RETURN = r"""
_value:
  description: The revision name.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import revision_name as _revision_name


def revision_name(name, version=None, strategy="InPlace"):
    try:
        return _revision_name(name, version, strategy)
    except IstioError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"revision_name": revision_name}
