"""Killing a process with everything it started, even children that left its session (Ansible's local
connection starts modules in their own session, so a process-group kill misses them)."""
from __future__ import annotations

import os
import signal
from typing import Dict, List


def _parents() -> Dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="utf-8") as stat:
                # the command may hold spaces and parentheses: the parent pid follows the last ')'
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return parents


def descendants(pid: int) -> List[int]:
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found.extend(children)
        frontier = children
    return found


def stop_tree(pid: int) -> List[int]:
    """Freeze the process and everything under it (nothing forks or writes meanwhile). Returns the pids."""
    tree = [pid]
    for _unused in range(3):  # a child started between the listing and the stop is caught by the next round
        for member in tree:
            _signal(member, signal.SIGSTOP)
        more = [child for child in descendants(pid) if child not in tree]
        if not more:
            break
        tree += more
    return tree


def continue_tree(tree: List[int]) -> None:
    for member in tree:
        _signal(member, signal.SIGCONT)


def kill_tree(pid: int) -> List[int]:
    """Stop the whole tree first, then kill it. Returns the pids."""
    tree = stop_tree(pid)
    for member in tree:
        _signal(member, signal.SIGKILL)
    return tree


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
