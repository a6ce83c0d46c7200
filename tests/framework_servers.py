"""Helpers for the framework tests: a built site, a WSGI server process, raw GETs."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, build_dir, write_config, write_tree

from assetpipe.server_check import Response, fetch
from assetpipe.contrib.whitenoise import BUILD_CONFIG

FIXTURES = Path(__file__).parent / "fixtures"
START_SECONDS = 60   # a cold Django start on a loaded 2-core machine

# Big and repetitive enough that every text file gets both twins.
SITE = {
    "js/app.js": "document.getElementById('out').textContent = 'ran';\n"
                 + "".join(f"var app{i} = 'padding {i}';\n" for i in range(200)),
    "js/a.js": "".join(f"var a{i} = {i};\n" for i in range(200)),
    "js/b.js": "document.getElementById('out').textContent = 'ran';\n",
    "css/site.css": "".join(f".c{i} {{ color: red; margin: {i}px }}\n" for i in range(200)),
    "img/dot.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n',
    "LICENSE": "Permission is hereby granted, free of charge.\n",
}
BUNDLE = '[[bundle]]\nname = "js/all.js"\nfiles = ["js/a.js", "js/b.js"]\n'


def build_site(root: Path, extra: str = BUILD_CONFIG) -> Path:
    """Build SITE (with the js/all.js bundle) under root; returns the config path."""
    write_tree(root / "static", SITE)
    cfg = write_config(root, extra=BUNDLE + extra)
    build_dir(cfg, workers=1)
    return cfg


class WsgiServer:
    """tests/wsgi_server.py in its own process (waitress on 127.0.0.1)."""

    def __init__(self, app: str, env: dict[str, str]):
        path = os.pathsep.join([str(FIXTURES), str(REPO), os.environ.get("PYTHONPATH", "")])
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "wsgi_server.py"), app],
            env={**os.environ, **env, "PYTHONPATH": path}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            self.port = int(self._first_line())
        except BaseException:
            self.stop()
            raise
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _first_line(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if line:
                    return line
                break   # stdout closed: the server died
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
        raise AssertionError(f"WSGI server did not start: {err[-2000:]}")

    def get(self, path: str, **headers: str) -> Response:
        """One GET, nothing decoded (Accept_Encoding="br" -> Accept-Encoding: br)."""
        return fetch(self.base_url + path, headers={k.replace("_", "-"): v
                                                    for k, v in headers.items()})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
