#!/usr/bin/env python
"""Writes tests/sanity/ignore-<ansible version>.txt.

The only ignores are the fixture charts' files that hold Go templates (Helm templates,
and the injection template istiod evaluates): they produce YAML but are not YAML
themselves, so yamllint cannot parse them.
"""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VERSIONS = ("2.17", "2.18", "2.19")


def helm_templates():
    base = os.path.join(ROOT, "tests", "fixtures", "charts")
    for folder, _dirs, files in os.walk(base):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith((".yaml", ".yml")) and "{{" in open(path, encoding="utf-8").read():
                yield os.path.relpath(path, ROOT)


def ignore_lines():
    return ["%s yamllint!skip" % path for path in sorted(helm_templates())]


def main():
    text = "\n".join(ignore_lines()) + "\n"
    for version in VERSIONS:
        with open(os.path.join(ROOT, "tests", "sanity", "ignore-%s.txt" % version), "w") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
