"""A real WSGI server process for the framework tests: waitress on 127.0.0.1.

    python tests/wsgi_server.py MODULE:ATTR   (ATTR a WSGI app, or a factory named create_*)

Binds a free port and prints it on stdout once listening; stops on SIGTERM.
"""
from __future__ import annotations

import importlib
import sys

from waitress import create_server


def main() -> None:
    module, attr = sys.argv[1].split(":")
    app = getattr(importlib.import_module(module), attr)
    if attr.startswith("create_"):
        app = app()
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    print(server.effective_port, flush=True)
    server.run()


if __name__ == "__main__":
    main()
