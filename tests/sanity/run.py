"""ansible-test sanity (and units) on this checkout, with a chosen ansible-core.

The tracked files (and new, not ignored ones) are copied to
build/<command>-<version>-<random>/ansible_collections/servicemesh/istio (removed after the run), a git work tree
of its own, with kubernetes.core (from the ansible package of the running Python) beside it for the import checks.
Each ansible-core version other than the running one gets a virtualenv of its own, cached in
~/.cache/servicemesh.istio/ansible-core/<version> (outside the checkout), so warm runs install nothing.

    python -m tests.sanity.run [--core 2.17] [sanity|units] [ansible-test arguments...]

tests/sanity/test_ansible_test.py runs it for every ansible-core version that meta/runtime.yml admits.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from typing import List, Optional

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "servicemesh.istio", "ansible-core")
PYTHON = "%d.%d" % sys.version_info[:2]

# The newest release of each ansible-core that meta/runtime.yml admits and the package index serves.
# ansible-core 2.20 and later need Python 3.12 or newer on the controller. 2.16 is not admitted: it is past
# its end of life, and its sanity tests require Python 2 boilerplate in every module and module_utils file
# (this collection's modules run on Python 3 only, as ansible-core 2.17 and later require of module targets).
CORE_RELEASES = {
    "2.17": "2.17.14",
    "2.18": "2.18.19",
    "2.19": "2.19.14",
}

# ansible-test bootstraps pip in its virtualenvs with a script it downloads from the internet; offline, it
# gets one of ours that uses the interpreter's bundled ensurepip and the package index instead.
GET_PIP = '''import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
'''
GET_PIP_VERSIONS = ("23.1.2", "24.0", "24.2", "24.3", "25.0", "25.1", "25.2")


def running_core() -> str:
    from ansible.release import __version__
    return __version__


def core_bin(version: str) -> str:
    """The bin directory of a Python with ansible-core ``version`` (major.minor or a release)."""
    release = CORE_RELEASES.get(version, version)
    if running_core() == release or running_core().startswith(version + "."):
        return os.path.dirname(sys.executable)
    venv = os.path.join(CACHE, release)
    ansible_test = os.path.join(venv, "bin", "ansible-test")
    os.makedirs(CACHE, exist_ok=True)
    with open(venv + ".lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one run makes the virtualenv, the others wait for it
        if not os.path.exists(ansible_test):
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", "ansible-core==" + release], check=True)
    return os.path.join(venv, "bin")


def offline_get_pip() -> None:
    cache = os.path.join(os.path.expanduser("~"), ".ansible", "test", "cache")
    os.makedirs(cache, exist_ok=True)
    for version in GET_PIP_VERSIONS:
        path = os.path.join(cache, "get_pip_%s.py" % version.replace(".", "_"))
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(GET_PIP)


def tracked_files() -> List[str]:
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout.decode()
    return [path for path in out.split("\0") if path and os.path.isfile(os.path.join(ROOT, path))]


def prepare_tree(version: str, command: str = "sanity") -> str:
    """A fresh copy of the checkout laid out as a collection, of this run alone (runs may overlap); the
    collection's directory, three levels under the copy's root."""
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    build = tempfile.mkdtemp(prefix="%s-%s-" % (command, version), dir=os.path.join(ROOT, "build"))
    dest = os.path.join(build, "ansible_collections", "servicemesh", "istio")
    for path in tracked_files():
        target = os.path.join(dest, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, path), target)
    from ansible_collections.kubernetes import core  # pylint: disable=import-outside-toplevel
    os.makedirs(os.path.join(build, "ansible_collections", "kubernetes"))
    os.symlink(list(core.__path__)[0], os.path.join(build, "ansible_collections", "kubernetes", "core"))
    git = ["git", "-C", dest, "-c", "user.name=sanity", "-c", "user.email=sanity@localhost"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True, capture_output=True)
    return dest


def ansible_test(version: str, command: str, args: List[str], timeout: Optional[int] = None,
                 capture: bool = False) -> subprocess.CompletedProcess:
    bindir = core_bin(version)
    offline_get_pip()
    dest = prepare_tree(version, command)
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)  # ansible-test sets the collection path from the copy
    cmd = [os.path.join(bindir, "ansible-test"), command, "--color", "no", "--python", PYTHON] + args
    try:
        return subprocess.run(cmd, cwd=dest, env=env, timeout=timeout, check=False, text=True,
                              capture_output=capture)
    finally:
        shutil.rmtree(os.path.dirname(os.path.dirname(os.path.dirname(dest))), ignore_errors=True)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--core", default=running_core().rsplit(".", 1)[0],
                        help="ansible-core version (%s)" % ", ".join(CORE_RELEASES))
    parser.add_argument("command", nargs="?", default="sanity", choices=("sanity", "units"))
    options, rest = parser.parse_known_args(argv)
    if options.command == "sanity" and not shutil.which("shellcheck"):
        rest = ["--skip-test", "shellcheck"] + rest
    return ansible_test(options.core, options.command, rest).returncode


if __name__ == "__main__":
    sys.exit(main())
