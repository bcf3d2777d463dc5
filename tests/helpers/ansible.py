"""Run ansible-playbook and ansible ad-hoc commands against this checkout as the collection."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict, List, Optional

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def ansible_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, "collections") + os.pathsep + env.get(
        "ANSIBLE_COLLECTIONS_PATH", "")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    env.setdefault("ANSIBLE_LOCALHOST_WARNING", "0")
    env.setdefault("ANSIBLE_INVENTORY_UNPARSED_WARNING", "0")
    env["ANSIBLE_STDOUT_CALLBACK"] = env.get("TEST_ANSIBLE_CALLBACK", "ansible.builtin.json")
    env.update(extra or {})
    return env


class PlaybookRun:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        try:
            self.json = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            self.json = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def stats(self, host: str = "localhost") -> Dict[str, int]:
        return self.json["stats"][host]

    def results(self, task_name: str, host: str = "localhost") -> List[dict]:
        found = []
        for play in self.json["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"] == task_name and host in task["hosts"]:
                    found.append(task["hosts"][host])
        return found

    def result(self, task_name: str, host: str = "localhost") -> dict:
        results = self.results(task_name, host)
        assert results, "task %r did not run: %s" % (task_name, self.stdout[-2000:] + self.stderr[-2000:])
        return results[-1]


def run_playbook(playbook: str, extra_vars: Optional[dict] = None, args: Optional[List[str]] = None,
                 env: Optional[Dict[str, str]] = None, inventory: str = "localhost,", timeout: int = 600) -> PlaybookRun:
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "-c", "local", playbook]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    cmd += args or []
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(env), capture_output=True, text=True, timeout=timeout, check=False)
    return PlaybookRun(proc)


def run_module(module: str, args: dict, check: bool = False, diff: bool = False,
               env: Optional[Dict[str, str]] = None, timeout: int = 300) -> dict:
    """One ad-hoc module call on localhost; returns the module's result (``failed`` on errors)."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-c", "local",
           "-m", module, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    extra = {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}
    extra.update(env or {})
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(extra), capture_output=True, text=True,
                          timeout=timeout, check=False)
    try:
        output = json.loads(proc.stdout[proc.stdout.index("{"):])
        return output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError("no module result (%s): %s %s" % (exc, proc.stdout[-3000:], proc.stderr[-3000:]))
