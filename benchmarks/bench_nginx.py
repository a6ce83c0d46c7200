"""nginx: precompressed twins vs `gzip on` compressing per request, measured with wrk.

Builds the same ~700 KB vendor bundle as bench_apache.py (jquery + lodash +
d3 from the corpus), twice: with `.gz` twins (served by `gzip_static`) and
with `.gzip` twins (served by the generated maps).  Each build runs in its
own throw-away nginx with the generated rules, plus a second server block
serving a copy of the minified file from a plain folder with `gzip on`
(level 6, text/javascript), which compresses it on every request.
Loopback only, bounded: `wrk -t2 -c16 -d5s` per URL.

    python benchmarks/bench_nginx.py [--seconds 5] [--connections 16]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "benchmarks")]

from apache_httpd import free_port, world_readable_tmpdir  # noqa: E402
from bench_apache import build_bundle, load_manifest_path, wrk  # noqa: E402
from web_servers import Nginx  # noqa: E402

from assetpipe.server_check import fetch  # noqa: E402
from assetpipe.server_rules import render  # noqa: E402

DEFAULT_CORPUS = Path(os.environ.get("ASSETPIPE_CORPUS")
                      or Path.home() / ".cache" / "assetpipe" / "corpus")
ON_THE_FLY = ("gzip on; gzip_comp_level 6; gzip_types text/javascript application/javascript; "
              "gzip_min_length 0;")


def measure(suffix: str, corpus: Path, seconds: int, connections: int) -> tuple[list, int, int]:
    """One build with `suffix` twins in one nginx: rows for twin and on-the-fly."""
    workdir = world_readable_tmpdir("assetpipe-bench-nginx-")
    port, plain_port = free_port(), free_port()
    try:
        config = build_bundle(workdir, corpus, f'[compress]\ngzip_suffix = "{suffix}"\n'
                                               f'[nginx]\nlisten = "127.0.0.1:{port}"\n')
        (workdir / "rules.conf").write_text(render(config, "nginx"))
        path = load_manifest_path(config.output)
        plain = workdir / "plain"
        (plain / path).parent.mkdir(parents=True)
        shutil.copyfile(os.path.join(config.output, path), plain / path)
        server = Nginx(f"include {workdir}/rules.conf;\nserver {{ listen 127.0.0.1:{plain_port}; "
                       f"location /plain/ {{ alias {plain}/; {ON_THE_FLY} }} }}", workdir, port)
        server.start()
        try:
            rows = []
            urls = ((f"precompressed {suffix} twin", f"{server.base_url}/static/{path}"),
                    ("gzip on, per request", f"http://127.0.0.1:{plain_port}/plain/{path}"))
            for label, url in urls:
                sent = fetch(url, headers={"Accept-Encoding": "gzip"})
                assert sent.header("Content-Encoding") == "gzip", (label, sent.status)
                rows.append((label, len(sent.body), wrk(url, seconds, connections)))
        finally:
            server.stop()
        size = os.path.getsize(os.path.join(config.output, path))
        twin = os.path.getsize(os.path.join(config.output, path + suffix))
        return rows, size, twin
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, Accept-Encoding: gzip, 127.0.0.1; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':30} {'body bytes':>10} {'req/s':>10} {'transfer/s':>11} {'avg latency':>12}")
    for suffix in (".gz", ".gzip"):
        rows, size, twin = measure(suffix, Path(args.corpus), args.seconds, args.connections)
        for label, body, r in rows:
            print(f"{label:30} {body:>10} {r['rps']:>10.0f} {r['transfer']:>11} {r['latency']:>12}")
        print(f"  bundle {size} bytes minified, {twin} bytes twin (level 9); ratio "
              f"precompressed / on the fly: {rows[0][2]['rps'] / rows[1][2]['rps']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
