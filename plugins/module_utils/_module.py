# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' AnsibleModule: Ansible's checks, then the collection's own before anything is read.

* Numbers whose sign matters (timeouts, grace periods) are refused out of range, naming the option.
* An inline kubeconfig's credentials are kept out of every output. kubernetes.core marks the whole
  ``kubeconfig`` option ``no_log``, which also masks a kubeconfig *path* wherever it appears (errors
  included); here only the secrets of an inline one are masked.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, Tuple

from ansible.module_utils.basic import AnsibleModule

# option name -> (lowest allowed value, whether the lowest is allowed)
NUMBER_BOUNDS: Dict[str, Tuple[float, bool]] = {
    "wait_timeout": (0, False),
    "request_timeout": (0, False),
    "poll_interval": (0, False),
    "wait_interval": (0, False),
    "batch_size": (1, True),
    "validity_days": (0, False),
    "grace_period_seconds": (0, True),
    "inactive_revision_deletion_grace_period_seconds": (0, True),
}
# Keys of a kubeconfig's user entries that hold credentials (certificates and names are not secret).
CREDENTIAL_KEYS = frozenset({"token", "password", "client-key-data", "auth-provider", "exec"})


def _options(params: Any, path: str = "") -> Iterator[Tuple[str, str, Any]]:
    """(dotted path, option name, value) of every option, nested ones included."""
    items: List[Tuple[str, Any]] = []
    if isinstance(params, Mapping):
        items = list(params.items())
    elif isinstance(params, list):
        for index, item in enumerate(params):
            yield from _options(item, "%s[%d]" % (path, index))
        return
    for name, value in items:
        where = "%s.%s" % (path, name) if path else name
        yield where, name, value
        if isinstance(value, (Mapping, list)) and name not in ("values", "kubeconfig"):
            yield from _options(value, where)


def number_problems(params: Mapping[str, Any]) -> List[str]:
    """What is wrong with the options' numbers, one message per option."""
    problems = []
    for where, name, value in _options(params):
        if name not in NUMBER_BOUNDS or value is None or isinstance(value, bool):
            continue
        lowest, inclusive = NUMBER_BOUNDS[name]
        if value < lowest or (value == lowest and not inclusive):
            problems.append("%s must be %s %g, not %s" % (where, "at least" if inclusive else "more than",
                                                          lowest, value))
    return problems


def inline_kubeconfig_secrets(params: Mapping[str, Any]) -> List[str]:
    """The credential strings of every inline (dict) kubeconfig among the options."""
    found: List[str] = []
    for _where, name, value in _options(params):
        if name == "kubeconfig" and isinstance(value, Mapping):
            for entry in value.get("users") or []:
                user = (entry or {}).get("user") or {}
                found.extend(str(leaf) for key in CREDENTIAL_KEYS & set(user) for leaf in _leaves(user[key]))
    return [secret for secret in found if secret]


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield value


class IstioModule(AnsibleModule):
    """AnsibleModule plus the checks every module of this collection makes before it reads a cluster."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._checking_arguments = True
        super().__init__(*args, **kwargs)
        self._checking_arguments = False
        self.no_log_values.update(inline_kubeconfig_secrets(self.params))
        problems = number_problems(self.params)
        if problems:
            self.fail_json(msg="; ".join(problems))

    def fail_json(self, msg: Any = None, **kwargs: Any) -> None:  # pylint: disable=arguments-differ
        if getattr(self, "_checking_arguments", False):
            msg = unnamed_dict_error(str(msg), self.argument_spec, getattr(self, "params", None) or {})
        super().fail_json(msg=msg, **kwargs)


def unnamed_dict_error(message: str, spec: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """Ansible reports a string given for a dict option that has suboptions without naming the option."""
    if not message.startswith("dictionary requested"):
        return message
    named = [name for name, option in spec.items() if option.get("type") == "dict" and option.get("options")
             and isinstance(params.get(name), str)]
    return "argument %s must be a mapping: %s" % (", ".join(repr(name) for name in named), message) if named \
        else message
