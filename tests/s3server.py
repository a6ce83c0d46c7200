"""A real S3-protocol server for tests and benchmarks: moto_server + a recording proxy.

`moto_server()` starts `moto_server -H 127.0.0.1 -p <free port>` and waits
until it answers HTTP.  `RecordingProxy` is a threaded `http.server` that
forwards every request to it, recording (operation, key, start, end,
status); with `fail_rate` it fails that share of requests — a 500 with an
S3 error body, a connection dropped before forwarding, or one dropped after
the server acted — chosen by a seeded RNG per (request, attempt number), so
the same requests fail on every run however the threads interleave.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DUMMY_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-connection"}
S3_500 = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
          b"<Message>injected fault</Message></Error>")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answers(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll with real requests until the server answers (no fixed sleeps)."""
    parsed = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=1)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto_server did not answer on {url} within {timeout} s")
            time.sleep(0.05)  # poll interval, not synchronisation


@contextlib.contextmanager
def moto_server():
    """Yield the URL of a fresh moto_server; stop it afterwards."""
    exe = shutil.which("moto_server")
    if exe is None:
        raise FileNotFoundError("moto_server")
    port = free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Record:
    op: str          # list | get | head | put | delete | other
    method: str
    key: str         # object key (path after the bucket), "" for bucket operations
    start: float
    end: float = 0.0
    status: int = 0  # 0 = connection dropped
    fault: str | None = None  # "500" | "drop-before" | "drop-after" when injected

    @property
    def reached_server(self) -> bool:
        return self.fault in (None, "drop-after")


def classify(method: str, query: str) -> str:
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    if method == "GET" and "list-type" in params:
        return "list"
    if method == "POST" and "delete" in params:
        return "delete"
    return {"GET": "get", "HEAD": "head", "PUT": "put", "DELETE": "delete"}.get(method, "other")


class RecordingProxy:
    """Forwarding proxy; use `.url` as the S3 endpoint."""

    def __init__(self, upstream: str, fail_rate: float = 0.0, seed: int = 0):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.fail_rate, self.seed = fail_rate, seed
        self.records: list[Record] = []
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"proxy": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RecordingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.records.clear()

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.op] = out.get(r.op, 0) + 1
        return out

    def ops(self, op: str, ok_only: bool = False) -> list[Record]:
        return [r for r in self.records if r.op == op and (not ok_only or 200 <= r.status < 300)]

    def _fault(self, method: str, target: str) -> str | None:
        """None, or which fault to inject for this attempt of this request.

        `target` is the key and query without the bucket: tests name their
        buckets at random, and a schedule keyed on that name would differ on
        every run (sometimes injecting no fault at all)."""
        if not self.fail_rate:
            return None
        with self._lock:
            ident = f"{method} {target}"
            attempt = self._seen[ident] = self._seen.get(ident, 0) + 1
        rng = random.Random(f"{self.seed}|{ident}|{attempt}")
        if rng.random() >= self.fail_rate:
            return None
        return rng.choice(("500", "drop-before", "drop-after"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: RecordingProxy

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if not size:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        proxy = self.proxy
        split = urllib.parse.urlsplit(self.path)
        bucket_and_key = split.path.lstrip("/").partition("/")[2]
        record = Record(classify(self.command, split.query), self.command,
                        urllib.parse.unquote(bucket_and_key), time.monotonic())
        with proxy._lock:
            proxy.records.append(record)
        body = self._body()
        fault = record.fault = proxy._fault(self.command, f"{bucket_and_key}?{split.query}")
        if fault == "drop-before":
            return self._drop(record)
        if fault == "500":
            return self._send(record, 500, {"Content-Type": "application/xml"}, S3_500)
        resp, out, data = forward(self, proxy.upstream, body)
        if fault == "drop-after":
            return self._drop(record)
        if self.command != "HEAD":
            out["Content-Length"] = str(len(data))
        self._send(record, resp.status, out, data)

    def _send(self, record: Record, status: int, headers: dict, data: bytes) -> None:
        self.send_response_only(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers and self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        record.status, record.end = status, time.monotonic()

    def _drop(self, record: Record) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        record.end = time.monotonic()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def apply_dummy_credentials() -> dict[str, str | None]:
    """Set the dummy AWS env; returns the previous values for restore_env()."""
    previous = {k: os.environ.get(k) for k in DUMMY_ENV}
    os.environ.update(DUMMY_ENV)
    return previous


def restore_env(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def forward(handler: BaseHTTPRequestHandler, upstream: urllib.parse.SplitResult,
            body: bytes) -> tuple[http.client.HTTPResponse, dict, bytes]:
    """Send the handler's request (its body already read, de-chunked) on to
    `upstream`: the response, its end-to-end headers and its body."""
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        headers["Content-Length"] = str(len(body))
    conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
    try:
        conn.request(handler.command, handler.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
    finally:
        conn.close()
    return resp, out, data
