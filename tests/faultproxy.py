"""A faulty S3 endpoint for the remote-cache tests: a threaded HTTP proxy on
127.0.0.1 in front of moto_server that answers a share of requests with a
500, a connection reset, or silence (a hang until the client gives up).

Failures are spread evenly by count: a running total grows by `fail_rate`
per request and each time it passes 1 that request fails, with the kinds
taken in turn.  The first request always fails (so even a build of a few
requests meets a fault, and the client's retry is exercised); at 0.1, every
tenth after it.  A build makes only a handful of requests (its results
travel in packs), which an RNG at 10% would often leave untouched.
"""
from __future__ import annotations

import contextlib
import socket
import struct
import threading
import urllib.parse
from http.server import ThreadingHTTPServer

import s3server
from s3server import S3_500, forward

FAULTS = ("500", "reset", "hang")


class FaultProxy:
    def __init__(self, upstream: str, fail_rate: float, faults=FAULTS):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.fail_rate, self.faults = fail_rate, tuple(faults)
        self.injected: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self.requests = 0
        self._total = 1.0 - fail_rate + 1e-9
        self._lock = threading.Lock()
        self.closing = threading.Event()
        handler = type("Handler", (_Handler,), {"proxy": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.closing.set()   # releases hung handlers
        self.server.shutdown()
        self.server.server_close()

    def choose(self) -> str | None:
        with self._lock:
            self.requests += 1
            self._total += self.fail_rate
            if self._total < 1:
                return None
            self._total -= 1
            fault = self.faults[sum(self.injected.values()) % len(self.faults)]
            self.injected[fault] += 1
            return fault


class _Handler(s3server._Handler):
    """s3server's handler (its body reader, chunked uploads included), other faults."""

    proxy: FaultProxy  # type: ignore[assignment]

    def _handle(self) -> None:
        body = self._body()
        fault = self.proxy.choose()
        if fault == "reset":
            # SO_LINGER 0: close() sends RST, the client sees "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault == "hang":
            self.proxy.closing.wait(60)   # the client's read timeout ends it first
            self.close_connection = True
            return
        if fault == "500":
            return self._reply(500, {"Content-Type": "application/xml"}, S3_500)
        resp, out, data = forward(self, self.proxy.upstream, body)
        self._reply(resp.status, out, data)

    def _reply(self, status: int, headers: dict, data: bytes) -> None:
        self.send_response_only(status)
        for k, v in headers.items():
            if k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(OSError):
                self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle
