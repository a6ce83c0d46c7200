"""ES-module scan and minifier check: their cost on the public corpus.

    python benchmarks/bench_modules.py [--corpus DIR] [--runs 3]

Prints, for every .js/.mjs/.cjs file of the corpus, CPU seconds of: rjsmin
(the anchor), the module-specifier scan (assetpipe.js_references) and the
minifier check (JS token streams of source and output); then a cold build of
the corpus in one process (workers=1, png off) with and without the check,
interleaved, best of --runs.  Ratios are what to compare across machines.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetpipe import js_references, js_tokens, minify  # noqa: E402
from assetpipe.build import build  # noqa: E402
from assetpipe.config import load_config  # noqa: E402

JS = (".js", ".mjs", ".cjs")


def corpus_texts(corpus: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(corpus.rglob("*")):
        if path.suffix in JS and path.is_file():
            out.append((path.name, path.read_bytes().decode("utf-8", "replace")))
    return out


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def stages(texts: list[tuple[str, str]]) -> dict[str, float]:
    plain = [t for name, t in texts if ".min." not in name]
    outputs = [minify.minify_js(t) for t in plain]
    return {
        "rjsmin (anchor)": cpu(lambda: [minify.minify_js(t) for t in plain]),
        "module scan": cpu(lambda: [js_references.scan_js_modules(t) for _, t in texts]),
        "minifier check": cpu(lambda: [js_tokens.first_difference(t, o)
                                       for t, o in zip(plain, outputs, strict=True)]),
    }


def cold_build(corpus: Path, checked: bool) -> float:
    """Wall seconds of one cold build, in this process (workers=1)."""
    saved = minify.checked_js, minify.checked_css
    if not checked:
        minify.checked_js = lambda text, module=False: (minify.minify_js(text), None)
        minify.checked_css = lambda text: (minify.minify_css(text), None)
    work = Path(tempfile.mkdtemp(prefix="bench-modules-"))
    try:
        cfg = work / "assetpipe.toml"
        cfg.write_text(f'source = "{corpus}"\noutput = "out"\n[images]\npng = "off"\n')
        start = time.perf_counter()
        build(load_config(str(cfg)), workers=1)
        return time.perf_counter() - start
    finally:
        minify.checked_js, minify.checked_css = saved
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("ASSETPIPE_CORPUS") or str(Path.home() / ".cache/assetpipe/corpus")
    parser.add_argument("--corpus", default=default)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    corpus = Path(args.corpus).resolve()
    texts = corpus_texts(corpus)
    size = sum(len(t) for _, t in texts) / 1e6
    print(f"{len(texts)} JS files, {size:.1f} M characters, load {os.getloadavg()[0]:.1f}")
    times = stages(texts)
    anchor = times["rjsmin (anchor)"]
    for name, seconds in times.items():
        print(f"  {name:<18} {seconds:7.2f} s CPU   {seconds / anchor:5.2f}x rjsmin")
    with_check, without = [], []
    for _ in range(args.runs):
        without.append(cold_build(corpus, checked=False))
        with_check.append(cold_build(corpus, checked=True))
    print(f"cold build, workers=1: without check {min(without):.2f} s, "
          f"with check {min(with_check):.2f} s, ratio {min(with_check) / min(without):.3f}")


if __name__ == "__main__":
    main()
