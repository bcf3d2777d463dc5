"""A Helm chart repository served over HTTP on 127.0.0.1, for the download, digest and cache paths."""
from __future__ import annotations

import http.server
import os
import shutil
import threading
from typing import List

import helm_python


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


class ChartRepo:
    """Packages chart directories into ``root`` with an index, and serves ``root``."""

    def __init__(self, root: str):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self._server = None
        self._thread = None

    def add_chart(self, chart_dir: str) -> str:
        return helm_python.package(chart_dir, destination=self.root)

    def write_index(self) -> None:
        helm_python.repo_index_generate(self.root, base_url=self.url)

    def replace_archive(self, name: str, data: bytes) -> None:
        """Swap an archive after indexing, so its digest no longer matches."""
        with open(os.path.join(self.root, name), "wb") as handle:
            handle.write(data)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    @property
    def requests(self) -> List[str]:
        return self._server.requests

    def start(self) -> "ChartRepo":
        root = self.root

        class Handler(_Handler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=root, **kwargs)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.requests = []
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def copy_chart(src: str, dest: str) -> str:
    shutil.copytree(src, dest)
    return dest
