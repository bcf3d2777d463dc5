# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Requests that do not depend on each other, sent together."""
from __future__ import annotations

import concurrent.futures
from typing import Any, Callable, List, Sequence

REQUEST_THREADS = 8


def in_parallel(action: Callable[[Any], Any], items: Sequence[Any]) -> List[Any]:
    """``action`` of each item, in order, on up to ``REQUEST_THREADS`` threads: each waits on the API server,
    not on Python, so 30-odd requests cost a few round trips instead of 30. The first error is raised, as in
    a loop."""
    if len(items) < 2:
        return [action(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(REQUEST_THREADS, len(items))) as pool:
        return list(pool.map(action, items))
