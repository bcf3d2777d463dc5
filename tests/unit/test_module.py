"""The collection's checks on every module's options, before anything is read."""
from ansible_collections.servicemesh.istio.plugins.module_utils._module import (
    inline_kubeconfig_secrets, number_problems)


def test_numbers_out_of_range_are_named_with_their_option_path():
    params = {"wait_timeout": -1, "request_timeout": 0, "grace_period_seconds": 0,
              "update_strategy": {"type": "RevisionBased", "inactive_revision_deletion_grace_period_seconds": -5},
              "values": {"wait_timeout": -1}, "poll_interval": None}
    assert number_problems(params) == [
        "wait_timeout must be more than 0, not -1",
        "request_timeout must be more than 0, not 0",
        "update_strategy.inactive_revision_deletion_grace_period_seconds must be at least 0, not -5",
    ]
    assert number_problems({"wait_timeout": 1, "grace_period_seconds": 0}) == []


def test_only_an_inline_kubeconfigs_credentials_are_masked():
    inline = {"users": [{"name": "admin", "user": {"token": "s3cret-token", "client-certificate-data": "Q0VSVA=="}},
                        {"name": "sso", "user": {"exec": {"command": "get-token", "env": [
                            {"name": "KEY", "value": "hidden-value"}]}}}],
              "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443"}}]}
    params = {"kubeconfig": "/home/me/.kube/config", "remote": {"kubeconfig": inline},
              "mesh_clusters": [{"name": "two", "kubeconfig": {"users": [{"user": {"password": "pw"}}]}}]}
    secrets = inline_kubeconfig_secrets(params)
    assert set(secrets) == {"s3cret-token", "get-token", "KEY", "hidden-value", "pw"}
    assert "/home/me/.kube/config" not in secrets and "https://10.0.0.1:6443" not in secrets


def test_a_string_for_a_dict_option_is_named():
    from ansible_collections.servicemesh.istio.plugins.module_utils._module import unnamed_dict_error
    spec = {"expose_istiod": {"type": "dict", "options": {"revision": {"type": "str"}}}, "values": {"type": "dict"}}
    message = "dictionary requested, could not parse JSON or key=value"
    assert unnamed_dict_error(message, spec, {"expose_istiod": "yes"}) == (
        "argument 'expose_istiod' must be a mapping: " + message)
    assert unnamed_dict_error("argument 'values' is of type str", spec, {"values": "x"}) == \
        "argument 'values' is of type str"
