"""Precompressed twins vs mod_deflate on the fly, measured with wrk.

Builds a vendor bundle (jquery + lodash + d3 from the corpus) with assetpipe,
serves it from one throw-away apache2 twice: the output folder at /static/
with the generated rules (the .gzip twin is sent as is), and a copy of the
minified file in a plain folder at /deflate/, where Debian's deflate.conf
compresses it per request.  (The rules are attached to the output folder,
so the copy must live elsewhere.)
Loopback only, bounded: `wrk -t2 -c16 -d5s` per URL.

    python benchmarks/bench_apache.py [--seconds 5] [--connections 16]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from apache_httpd import Httpd, world_readable_tmpdir  # noqa: E402
from assetpipe.server_check import fetch  # noqa: E402
from assetpipe.apache_rules import render  # noqa: E402
from assetpipe.build import build  # noqa: E402
from assetpipe.config import load_config  # noqa: E402

BUNDLE = ("jquery/dist/jquery.js", "lodash/lodash.js", "d3/dist/d3.js")
DEFAULT_CORPUS = Path("/root/.cache/assetpipe/corpus")


def build_bundle(workdir: Path, corpus: Path, extra: str = ""):
    """Copy the three libraries in and build them as one minified bundle (`extra`: more TOML)."""
    source = workdir / "src"
    for rel in BUNDLE:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / rel, source / rel)
    files = ", ".join(f'"{rel}"' for rel in BUNDLE)
    (workdir / "assetpipe.toml").write_text(
        f'source = "src"\noutput = "out"\nurl_prefix = "/static/"\n[images]\npng = "off"\n'
        f'[[bundle]]\nname = "js/vendor.js"\nfiles = [{files}]\n{extra}')
    config = load_config(str(workdir / "assetpipe.toml"))
    build(config)
    return config


def wrk(url: str, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s",
                          "-H", "Accept-Encoding: gzip", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    transfer = re.search(r"Transfer/sec:\s+([\d.]+\w+)", out).group(1)
    latency = re.search(r"Latency\s+(\S+)", out).group(1)
    return {"rps": rps, "transfer": transfer, "latency": latency}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--corpus", default=os.environ.get("ASSETPIPE_CORPUS", DEFAULT_CORPUS))
    args = parser.parse_args(argv)
    workdir = world_readable_tmpdir("assetpipe-bench-apache-")
    try:
        config = build_bundle(workdir, Path(args.corpus))
        (workdir / "rules.conf").write_text(render(config))
        out = config.output
        path = load_manifest_path(out)
        plain = workdir / "plain"
        (plain / path).parent.mkdir(parents=True)
        shutil.copyfile(os.path.join(out, path), plain / path)
        httpd = Httpd(f'Include "{workdir}/rules.conf"\n'
                      f'Alias "/deflate/" "{plain}/"\n<Directory "{plain}">\n'
                      f'    Require all granted\n</Directory>\n', workdir)
        with httpd:
            size = os.path.getsize(os.path.join(out, path))
            twin = os.path.getsize(os.path.join(out, path + config.compress.gzip_suffix))
            rows = []
            for label, prefix in (("precompressed twin", "/static/"), ("mod_deflate on the fly", "/deflate/")):
                url = httpd.base_url + prefix + path
                sent = fetch(url, headers={"Accept-Encoding": "gzip"})
                assert sent.status == 200 and sent.header("Content-Encoding") == "gzip", (label, sent.status)
                rows.append((label, len(sent.body), wrk(url, args.seconds, args.connections)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"bundle {path}: {size} bytes minified, {twin} bytes gzip twin (level 9)")
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, Accept-Encoding: gzip, 127.0.0.1")
    print(f"{'':24} {'body bytes':>10} {'req/s':>10} {'transfer/s':>11} {'avg latency':>12}")
    for label, body, r in rows:
        print(f"{label:24} {body:>10} {r['rps']:>10.0f} {r['transfer']:>11} {r['latency']:>12}")
    print(f"ratio precompressed / on the fly: {rows[0][2]['rps'] / rows[1][2]['rps']:.1f}x")
    return 0


def load_manifest_path(out: str) -> str:
    with open(os.path.join(out, "manifest.json")) as f:
        return json.load(f)["assets"]["js/vendor.js"]["path"]


if __name__ == "__main__":
    sys.exit(main())
