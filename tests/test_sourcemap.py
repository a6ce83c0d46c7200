"""[sourcemaps]: exact Source Map v3 for minified CSS and CSS bundles.

The maps are checked with code that shares nothing with assetpipe's: a
VLQ decoder written here and tinycss2's tokenizer.  For every token of
every minified CSS file of the public corpus and of two multi-member
bundles, the mapped source position must hold the same token.
"""
from __future__ import annotations

import json
import posixpath
import re
import shutil
from pathlib import Path

import pytest
import tinycss2
from conftest import build_dir, load_manifest, manifest_problems, write_config, write_tree

B64 = {c: i for i, c in enumerate(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
BUNDLES = """
[[bundle]]
name = "css/site.css"
files = ["normalize.css/normalize.css", "bootstrap/dist/css/bootstrap.css",
         "leaflet/dist/leaflet.css"]

[[bundle]]
name = "css/jqui.css"
files = ["jquery-ui/themes/base/core.css", "jquery-ui/themes/base/theme.css",
         "font-awesome/css/font-awesome.min.css"]

[[bundle]]
name = "js/vendor.js"
files = ["jquery/dist/jquery.js", "moment/moment.js", "leaflet/dist/leaflet-src.js"]

[[bundle]]
name = "js/ui.js"
files = ["jquery-ui/ui/version.js", "jquery-ui/ui/keycode.js", "jquery-ui/ui/widget.js"]

[[bundle]]
name = "js/dates.js"
files = ["moment/min/moment.min.js", "jquery-ui/ui/keycode.js"]
"""
MAPPED_COMMENT = re.compile(r"/\*# sourceMappingURL=([^ ]+) \*/\n?$")
VERSION = re.compile(r"\.v[0-9a-f]{10}(?=\.|$)")


def decode_mappings(mappings: str, ours: bool = True) -> list[list[tuple[int, int, int, int]]]:
    """Source Map v3 `mappings` -> per generated line, (column, source, line, column).

    Our maps have exactly four fields per segment; maps shipped by other tools
    (`ours=False`) may also have one (unmapped, skipped) or five (a name, dropped)."""
    lines, fields = [], [0] * 5
    for line in mappings.split(";"):
        fields[0] = 0
        segments = []
        for segment in filter(None, line.split(",")):
            values, value, shift = [], 0, 0
            for char in segment:
                digit = B64[char]
                value += (digit & 31) << shift
                shift += 5
                if not digit & 32:
                    values.append(-(value >> 1) if value & 1 else value >> 1)
                    value, shift = 0, 0
            assert len(values) == 4 or not ours and len(values) in (1, 5), segment
            fields[:len(values)] = [f + v for f, v in zip(fields, values, strict=False)]
            if len(values) >= 4:
                segments.append(tuple(fields[:4]))
        lines.append(segments)
    return lines


def css_tokens(text: str) -> list:
    """Every token tinycss2 sees (blocks and functions opened), comments kept."""
    found = []

    def walk(nodes):
        for node in nodes:
            if node.type == "whitespace":
                continue
            found.append(node)
            if node.type in ("() block", "[] block", "{} block", "function"):
                walk(node.arguments if node.type == "function" else node.content)
    walk(tinycss2.parse_component_value_list(text, skip_comments=False))
    return found


def token_text(node) -> str:
    """What a token starts with in the text: blocks and functions by their opening."""
    if node.type == "function":
        return node.name.lower() + "("
    if node.type.endswith("block"):
        return node.type[0]
    return node.serialize()


def same_token(out_node, src_node) -> bool:
    if src_node is None or out_node.type != src_node.type:
        return False
    if out_node.type in ("url", "string"):  # a rewritten reference: its versioned target
        return posixpath.basename(VERSION.sub("", out_node.value)) == posixpath.basename(
            src_node.value)
    if out_node.type == "function":
        return out_node.name == src_node.name
    if out_node.type.endswith("block"):
        return True
    return out_node.serialize() == src_node.serialize()


def _utf16_len(line: str, index: int) -> int:
    """UTF-16 units before `index` (fast for the usual line without astral characters)."""
    if line.isascii():
        return index
    return len(line[:index].encode("utf-16-le")) // 2


def utf16_to_index(line: str, col16: int) -> int:
    if line.isascii():
        return col16
    units = 0
    for index, char in enumerate(line):
        if units >= col16:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line)


def check_map(out_text: str, source_map: dict) -> tuple[int, list[str]]:
    """(tokens checked, problems) for one output and its map."""
    decoded = decode_mappings(source_map["mappings"])
    sources = source_map["sourcesContent"]
    by_position = [{(n.source_line, n.source_column): n for n in css_tokens(text)}
                   for text in sources]
    source_lines = [text.split("\n") for text in sources]
    per_line = [{seg[0]: seg[1:] for seg in segments} for segments in decoded]
    out_lines = out_text.split("\n")
    problems, checked = [], 0
    for node in css_tokens(out_text):
        if node.type == "comment" and node.value.startswith("# sourceMappingURL="):
            continue  # ours, appended: it has no source
        line = node.source_line - 1
        segments = per_line[line] if line < len(per_line) else {}
        col16 = _utf16_len(out_lines[line], node.source_column - 1)
        if col16 not in segments:
            problems.append(f"{node.source_line}:{node.source_column} {token_text(node)!r}: "
                            "no segment")
            continue
        source, s_line, s_col16 = segments[col16]
        src_line_text = source_lines[source][s_line]
        s_col = utf16_to_index(src_line_text, s_col16)
        src_node = by_position[source].get((s_line + 1, s_col + 1))
        checked += 1
        if not same_token(node, src_node):
            problems.append(f"{node.source_line}:{node.source_column} {token_text(node)!r} -> "
                            f"{source_map['sources'][source]}:{s_line + 1}:{s_col + 1} "
                            f"{src_line_text[s_col:s_col + 30]!r}")
    return checked, problems


@pytest.fixture(scope="session")
def mapped_corpus(corpus_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("mapped-corpus")
    cfg = write_config(root, source=corpus_dir, extra="[sourcemaps]\nenabled = true\n" + BUNDLES)
    report = build_dir(cfg)
    return root / "out", load_manifest(root / "out")["assets"], report


def test_every_minified_css_and_bundle_maps_every_token(mapped_corpus):
    out, assets, report = mapped_corpus
    assert manifest_problems(out) == []
    assert not [w for w in report.warnings if "source map" in w]
    mapped = {name: entry for name, entry in assets.items()
              if name.endswith(".css") and (".min." not in name or entry.get("sources"))}
    assert len(mapped) >= 70 and {"css/site.css", "css/jqui.css"} <= mapped.keys()
    total, problems = 0, {}
    for name, entry in sorted(mapped.items()):
        assert "sourcemap" in entry, name
        map_path = entry["sourcemap"]
        assert re.fullmatch(re.escape(name) + r"\.v[0-9a-f]{10}\.map", map_path)
        text = (out / entry["path"]).read_text(encoding="utf-8")
        comment = MAPPED_COMMENT.search(text)
        assert comment and comment.group(1) == posixpath.basename(map_path), name
        source_map = json.loads((out / map_path).read_bytes())
        assert source_map["version"] == 3
        if entry.get("sources"):  # a bundle maps to each of its members
            assert source_map["sources"] == [posixpath.relpath(s, posixpath.dirname(name))
                                             for s in entry["sources"]]
        checked, found = check_map(text, source_map)
        assert checked > 0, name
        total += checked
        if found:
            problems[name] = found[:5]
    assert problems == {}
    assert total > 100_000  # every token of ~80 stylesheets


def test_bundle_members_each_mapped(mapped_corpus):
    out, assets, _ = mapped_corpus
    source_map = json.loads((out / assets["css/site.css"]["sourcemap"]).read_bytes())
    used = {seg[1] for line in decode_mappings(source_map["mappings"]) for seg in line}
    assert used == {0, 1, 2}


def test_checker_catches_a_wrong_map(mapped_corpus):
    """Negative control: the same map shifted by one column fails the check."""
    out, assets, _ = mapped_corpus
    entry = assets["css/site.css"]
    text = (out / entry["path"]).read_text(encoding="utf-8")
    source_map = json.loads((out / entry["sourcemap"]).read_bytes())
    decoded = decode_mappings(source_map["mappings"])
    first_source_line = decoded[0][5][2]
    # Re-point the 6th segment of line 1 one line down in its source.
    segs = decoded[0]
    segs[5] = (segs[5][0], segs[5][1], first_source_line + 1, segs[5][3])
    source_map["mappings"] = encode_mappings(decoded)
    assert check_map(text, source_map)[1]


def encode_mappings(lines) -> str:
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def vlq(value):
        value = (-value << 1) | 1 if value < 0 else value << 1
        out = ""
        while True:
            digit, value = value & 31, value >> 5
            out += chars[digit | (32 if value else 0)]
            if not value:
                return out
    prev, result = [0, 0, 0, 0], []
    for segments in lines:
        prev[0] = 0
        encoded = []
        for seg in segments:
            encoded.append("".join(vlq(v - p) for v, p in zip(seg, prev, strict=True)))
            prev = list(seg)
        result.append(",".join(encoded))
    return ";".join(result)


def _small_site(tmp_path: Path, extra: str) -> Path:
    write_tree(tmp_path / "static", {
        "css/a.css": "/* a */\nbody {\n  color: red;\n  background: url(img/x.png);\n}\n",
        "css/b.css": ".c { top: 0 }\n", "css/img/x.png": b"\x89PNG fake",
        "js/app.js": "function f(a) {\n  return a + 1;\n}\n"})
    return write_config(tmp_path, extra=extra + '[[bundle]]\nname = "css/all.css"\n'
                        'files = ["css/a.css", "css/b.css"]\n')


def test_maps_deterministic_versioned_and_hidden(tmp_path):
    cfg = _small_site(tmp_path, "[sourcemaps]\nenabled = true\n")
    build_dir(cfg)
    out = tmp_path / "out"
    first = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.map")}
    assert len(first) == 4  # a.css, b.css, the bundle, js/app.js
    assert all(re.search(r"\.(css|js)\.v[0-9a-f]{10}\.map$", name) for name in first)
    shutil.rmtree(out)
    build_dir(cfg)
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.map")} == first
    # hidden: the same maps, no comment anywhere.
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    shutil.copytree(tmp_path / "static", hidden / "static")
    build_dir(_small_site(hidden, "[sourcemaps]\nenabled = true\nhidden = true\n"))
    assets = load_manifest(hidden / "out")["assets"]
    assert all("sourcemap" in assets[n]
               for n in ("css/a.css", "css/b.css", "css/all.css", "js/app.js"))
    for path in (hidden / "out").rglob("*"):
        if path.is_file() and not path.name.endswith((".gzip", ".png")):
            assert b"sourceMappingURL" not in path.read_bytes(), path
    # off (the default): no maps, no comments.
    off = tmp_path / "off"
    off.mkdir()
    shutil.copytree(tmp_path / "static", off / "static")
    build_dir(_small_site(off, ""))
    assert not list((off / "out").rglob("*.map"))
    assert "sourcemap" not in load_manifest(off / "out")["assets"]["css/all.css"]
