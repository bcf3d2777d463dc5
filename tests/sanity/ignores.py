#!/usr/bin/env python
"""Writes tests/sanity/ignore-<ansible version>.txt.

The only ignores are for test fixtures that are not single YAML documents:

- the fixture charts' files that hold Go templates (Helm templates, and the injection
  template istiod evaluates): they produce YAML but are not YAML themselves, so yamllint
  cannot parse them;
- the Kubernetes manifests of the fixtures (the Gateway API release files), which are
  streams of many YAML documents, as kubectl and the cluster modules read them.
"""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VERSIONS = ("2.17", "2.18", "2.19")  # the ansible-core versions meta/runtime.yml admits


def helm_templates():
    base = os.path.join(ROOT, "tests", "fixtures", "charts")
    for folder, _dirs, files in os.walk(base):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith((".yaml", ".yml")) and "{{" in open(path, encoding="utf-8").read():
                yield os.path.relpath(path, ROOT)


def multi_document_manifests():
    base = os.path.join(ROOT, "tests", "fixtures")
    for folder, _dirs, files in os.walk(base):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith((".yaml", ".yml")) or os.path.join(base, "charts") in path:
                continue
            with open(path, encoding="utf-8") as handle:
                if any(line.rstrip() == "---" for line in list(handle)[1:]):
                    yield os.path.relpath(path, ROOT)


def ignore_lines():
    lines = ["%s yamllint!skip" % path for path in helm_templates()]
    lines += ["%s yamllint:multiple-yaml-documents" % path for path in multi_document_manifests()]
    return sorted(lines)


def main():
    text = "\n".join(ignore_lines()) + "\n"
    for version in VERSIONS:
        with open(os.path.join(ROOT, "tests", "sanity", "ignore-%s.txt" % version), "w") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
