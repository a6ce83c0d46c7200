"""The mixed icon + screenshot PNG set for `bench_png.py --mixed`.

    python benchmarks/png_mixed_set.py [CORPUS_DIR] [--out DIR]

UI screenshots are the PNGs a real site adds that the npm corpus lacks: large
(1280x800), flat, and costly for a deflater that tries hard.  This script
makes them reproducibly from the corpus itself: a few HTML pages using the
corpus's stylesheets and scripts (jquery-ui widgets in each of its
themes, bootstrap components, font-awesome icons, Chart.js and d3 charts),
each shot by headless Chromium at 1280x800, next to a copy of the corpus's
icon PNGs (both sides <= 256 px).  Written into a cache folder (default
~/.cache/assetpipe/png-mixed), never committed; an existing set is reused.
"""
from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

SIZE = (1280, 800)
ICON_MAX_SIDE = 256
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars")

LOREM = ("Static assets are versioned by content, precompressed and cached for a year; "
         "pages are rendered from templates and refreshed on a timer. ") * 3

JQUERY_UI_BODY = """
<h1 class="ui-widget-header ui-corner-all" style="padding:.3em">Widgets &mdash; {theme}</h1>
<div style="display:flex;gap:16px">
<div style="flex:1">
 <div id="tabs"><ul><li><a href="#t1">Overview</a></li><li><a href="#t2">Details</a></li>
 <li><a href="#t3">History</a></li></ul><div id="t1"><p>{lorem}</p></div>
 <div id="t2"><p>{lorem}</p></div><div id="t3"><p>{lorem}</p></div></div>
 <div id="accordion" style="margin-top:12px"><h3>Section 1</h3><div><p>{lorem}</p></div>
 <h3>Section 2</h3><div><p>{lorem}</p></div><h3>Section 3</h3><div><p>{lorem}</p></div></div>
</div>
<div style="width:320px"><div id="datepicker"></div>
 <div id="slider" style="margin:20px 8px"></div><div id="progress"></div>
 <p><button id="b1">Save</button> <button id="b2">Cancel</button></p>
 <select id="menu"><option>Small</option><option>Medium</option></select></div>
</div>
<script>
$("#tabs").tabs(); $("#accordion").accordion(); $("#slider").slider({{value: 40}});
$("#datepicker").datepicker({{defaultDate: new Date(2024, 4, 17)}});
$("#progress").progressbar({{value: 62}}); $("button").button(); $("#menu").selectmenu();
</script>"""

BOOTSTRAP_BODY = """
<nav class="navbar navbar-inverse"><div class="container"><a class="navbar-brand">assetpipe</a>
<ul class="nav navbar-nav"><li class="active"><a>Builds</a></li><li><a>Assets</a></li>
<li><a>Settings</a></li></ul></div></nav>
<div class="container"><div class="row"><div class="col-xs-8">
<div class="alert alert-success">Build 142 finished: 3,021 files, 12 written.</div>
<table class="table table-striped table-bordered"><tr><th>#</th><th>file</th><th>size</th>
<th>gzip</th><th>status</th></tr>{rows}</table>
<nav><ul class="pagination"><li><a>&laquo;</a></li><li class="active"><a>1</a></li>
<li><a>2</a></li><li><a>3</a></li><li><a>&raquo;</a></li></ul></nav></div>
<div class="col-xs-4"><div class="panel panel-primary"><div class="panel-heading">Deploy</div>
<div class="panel-body"><form><div class="form-group"><label>Bucket</label>
<input class="form-control" value="s3://static.example.com"></div>
<div class="checkbox"><label><input type="checkbox" checked> prune old files</label></div>
<button class="btn btn-primary">Sync</button> <button class="btn btn-default">Dry run</button>
</form></div></div><div class="list-group">{items}</div>
<div class="progress"><div class="progress-bar progress-bar-info" style="width:70%">70%</div>
</div></div></div></div>"""

FONT_AWESOME_BODY = """
<h2 style="font-family:sans-serif;margin:12px">Icons</h2>
<div style="display:flex;flex-wrap:wrap;font:14px sans-serif">{cells}</div>"""

CHART_BODY = """
<canvas id="c1" width="600" height="360"></canvas><canvas id="c2" width="600" height="360"></canvas>
<svg id="d3" width="1240" height="360"></svg>
<script>
Chart.defaults.animation = false; Chart.defaults.responsive = false;
var months = ["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"];
new Chart(document.getElementById("c1"), {type: "bar", data: {labels: months, datasets: [
  {label: "cold build s", data: months.map((m, i) => 8 + (i * 7) % 5)},
  {label: "no-op s", data: months.map((m, i) => 1 + (i * 3) % 4)}]}});
new Chart(document.getElementById("c2"), {type: "line", data: {labels: months, datasets: [
  {label: "bytes saved %", data: months.map((m, i) => 5 + Math.sin(i) * 2)}]}});
var svg = d3.select("#d3"), xs = d3.range(60), y = d3.scaleLinear([-1.2, 1.2], [340, 20]);
var x = d3.scaleLinear([0, 59], [40, 1220]);
svg.append("g").attr("transform", "translate(0,340)").call(d3.axisBottom(x));
svg.append("g").attr("transform", "translate(40,0)").call(d3.axisLeft(y));
svg.append("path").attr("fill", "none").attr("stroke", "steelblue").attr("stroke-width", 2)
   .attr("d", d3.line().x(x).y(i => y(Math.sin(i / 6))) (xs));
svg.selectAll("circle").data(xs).join("circle").attr("cx", x).attr("cy", i => y(Math.cos(i / 5)))
   .attr("r", 4).attr("fill", "tomato");
</script>"""


def page(head: list[str], body: str) -> str:
    links = "\n".join(head)
    return (f"<!doctype html><html><head><meta charset=utf-8>{links}</head>"
            f"<body>{body}</body></html>")


def pages(corpus: Path) -> dict[str, str]:
    """name -> HTML, every asset referenced by file:// URL inside the corpus."""
    def css(rel: str) -> str:
        return f'<link rel="stylesheet" href="{(corpus / rel).as_uri()}">'

    def js(rel: str) -> str:
        return f'<script src="{(corpus / rel).as_uri()}"></script>'

    found = {}
    jq = [js("jquery/dist/jquery.min.js"), js("jquery-ui/dist/jquery-ui.min.js")]
    for theme in sorted(os.listdir(corpus / "jquery-ui/dist/themes")):  # all 25
        found[f"jquery-ui-{theme}"] = page(
            [css(f"jquery-ui/dist/themes/{theme}/jquery-ui.min.css"), *jq],
            '<div class="ui-widget" style="font-size:13px;margin:10px">'
            + JQUERY_UI_BODY.format(theme=theme, lorem=LOREM) + "</div>")
    rows = "".join(f"<tr><td>{i}</td><td>js/app/module{i}.v{i * 7919:010x}.js</td>"
                   f"<td>{i * 1373 % 90000} B</td><td>{i * 419 % 30000} B</td>"
                   f"<td><span class='label label-{'success' if i % 4 else 'warning'}'>"
                   f"{'cached' if i % 4 else 'written'}</span></td></tr>" for i in range(1, 15))
    items = "".join(f"<a class='list-group-item'>release v1.{i} "
                    f"<span class='badge'>{i * 3}</span></a>" for i in range(6))
    for theme in ("", "bootstrap/dist/css/bootstrap-theme.min.css"):
        head = [css("bootstrap/dist/css/bootstrap.min.css")] + ([css(theme)] if theme else [])
        found["bootstrap" + ("-theme" if theme else "")] = page(
            head, BOOTSTRAP_BODY.format(rows=rows, items=items))
    names = ["home", "user", "cog", "search", "envelope", "star", "heart", "camera", "trash",
             "lock", "cloud", "download", "upload", "bell", "book", "flag", "folder", "globe"]
    cells = "".join(f"<div style='width:200px;padding:10px'><i class='fa fa-{n} fa-2x fa-fw'></i> "
                    f"fa-{n}</div>" for n in names * 4)
    found["font-awesome"] = page([css("font-awesome/css/font-awesome.min.css")],
                                 FONT_AWESOME_BODY.format(cells=cells))
    found["charts"] = page([js("chart.js/dist/chart.umd.min.js"), js("d3/dist/d3.min.js")],
                           CHART_BODY)
    return found


def screenshot(chromium: str, html: Path, out: Path, profile: str) -> None:
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
           f"--window-size={SIZE[0]},{SIZE[1]}", f"--screenshot={out}", html.as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    if not out.is_file():
        raise SystemExit(f"chromium wrote no screenshot for {html}")


def icons(corpus: Path) -> list[Path]:
    found = []
    for path in sorted(corpus.rglob("*.png")):
        with open(path, "rb") as f:
            width, height = struct.unpack(">II", f.read(24)[16:24])
        if max(width, height) <= ICON_MAX_SIDE:
            found.append(path)
    return found


def make_set(corpus: Path, out: Path) -> Path:
    """Build the set into `out` (once; a complete set is reused)."""
    done = out / ".complete"
    if done.exists():
        return out
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("the mixed PNG set needs Debian's chromium on PATH")
    shutil.rmtree(out, ignore_errors=True)
    (out / "screenshots").mkdir(parents=True)
    (out / "icons").mkdir()
    with tempfile.TemporaryDirectory() as tmp:
        for name, html in pages(corpus).items():
            source = Path(tmp, f"{name}.html")
            source.write_text(html)
            screenshot(chromium, source, out / "screenshots" / f"{name}.png",
                       os.path.join(tmp, "profile"))
    for path in icons(corpus):
        shutil.copyfile(path, out / "icons" / "_".join(path.relative_to(corpus).parts))
    done.write_text("")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("ASSETPIPE_CORPUS") or Path.home() / ".cache/assetpipe/corpus"
    parser.add_argument("corpus", nargs="?", default=default, type=Path)
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache/assetpipe/png-mixed")
    args = parser.parse_args(argv)
    out = make_set(args.corpus, args.out)
    shots = list((out / "screenshots").glob("*.png"))
    print(f"{out}: {len(shots)} screenshots, {len(list((out / 'icons').glob('*.png')))} icons")
    return 0


if __name__ == "__main__":
    sys.exit(main())
