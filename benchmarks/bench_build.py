"""Cold and no-op build of the public corpus: assetpipe vs Django collectstatic.

    python benchmarks/bench_build.py [--corpus DIR] [--skip-anchors] [--runs N]

Anchors (each in a fresh STATIC_ROOT, run as `manage.py collectstatic --noinput`):
  django     ManifestStaticFilesStorage
  whitenoise CompressedManifestStaticFilesStorage (gzip + brotli twins)
assetpipe builds with gzip + brotli twins (`[compress] brotli = true`), PNG
recompression on (set --png off to compare like with like: Django copies PNGs).
Prints a table of wall seconds and ratios against the anchors; the issue's
targets: cold <= 0.25x whitenoise, no-op <= 0.1x django's no-op and <= 0.15 s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

DJANGO_SETTINGS = """
SECRET_KEY = "bench"
INSTALLED_APPS = ["django.contrib.staticfiles"]
STATIC_URL = "/static/"
STATIC_ROOT = {root!r}
STATICFILES_DIRS = [{corpus!r}]
STORAGES = {{"staticfiles": {{"BACKEND": {backend!r}}}}}
"""
BACKENDS = {
    "django": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
    "whitenoise": "whitenoise.storage.CompressedManifestStaticFilesStorage",
}


def default_corpus() -> str:
    return os.environ.get("ASSETPIPE_CORPUS") or os.path.expanduser("~/.cache/assetpipe/corpus")


def timed(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return elapsed


def run_django(kind: str, corpus: str, work: str) -> tuple[float, float | None]:
    folder = os.path.join(work, kind)
    os.makedirs(folder)
    with open(os.path.join(folder, "bench_settings.py"), "w") as f:
        f.write(DJANGO_SETTINGS.format(root=os.path.join(folder, "static_root"), corpus=corpus,
                                       backend=BACKENDS[kind]))
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench_settings", PYTHONPATH=folder)
    cmd = [sys.executable, "-m", "django", "collectstatic", "--noinput", "-v0"]
    cold = timed(cmd, env, folder)
    # WhiteNoise recompresses every file on every run: its "no-op" is another
    # cold build, and no target refers to it.
    return cold, (timed(cmd, env, folder) if kind == "django" else None)


def run_assetpipe(corpus: str, work: str, png: str, runs: int) -> tuple[float, float]:
    folder = os.path.join(work, f"assetpipe-{png}")
    os.makedirs(folder)
    config = os.path.join(folder, "assetpipe.toml")
    with open(config, "w") as f:
        f.write(textwrap.dedent(f"""\
            source = {corpus!r}
            output = {os.path.join(folder, "out")!r}
            [compress]
            brotli = true
            [images]
            png = {png!r}
            """))
    cmd = [sys.executable, "-m", "assetpipe", "build", "--config", config, "--quiet"]
    cold = timed(cmd, cwd=folder)
    noop = min(timed(cmd, cwd=folder) for _ in range(runs))
    return cold, noop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=default_corpus())
    parser.add_argument("--skip-anchors", action="store_true", help="only time assetpipe")
    parser.add_argument("--png", nargs="+", default=["off", "lossless"],
                        choices=["lossless", "off"],
                        help="PNG settings to time (off is like for like: Django copies PNGs)")
    parser.add_argument("--runs", type=int, default=5, help="no-op runs (best is kept)")
    args = parser.parse_args()
    if not os.path.isdir(args.corpus):
        sys.exit(f"no corpus at {args.corpus}: run python3 tests/corpus/fetch.py {args.corpus}")
    work = tempfile.mkdtemp(prefix="assetpipe-bench-")
    try:
        results = {f"assetpipe png={png}": run_assetpipe(args.corpus, work, png, args.runs)
                   for png in args.png}
        if not args.skip_anchors:
            for kind in BACKENDS:
                results[kind] = run_django(kind, args.corpus, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"corpus: {args.corpus}  (assetpipe: gzip + brotli twins, {os.cpu_count()} cores)")
    print(f"{'tool':<24} {'cold s':>8} {'no-op s':>8}")
    for name, (cold, noop) in results.items():
        print(f"{name:<24} {cold:8.2f} " + (f"{noop:8.3f}" if noop is not None else f"{'-':>8}"))
    if "whitenoise" in results:
        print()
        for name, (cold, noop) in results.items():
            if name.startswith("assetpipe"):
                print(f"{name}: cold / whitenoise cold = {cold / results['whitenoise'][0]:.3f} "
                      f"(target <= 0.25); no-op / django no-op = "
                      f"{noop / results['django'][1]:.3f} (target <= 0.10); "
                      f"no-op = {noop:.3f} s (target <= 0.15)")


if __name__ == "__main__":
    main()
