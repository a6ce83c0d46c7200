"""Reference scanning and rewriting: small named fixtures, then the real corpus."""
from __future__ import annotations

from pathlib import Path

import pytest

from assetpipe.references import (
    Reference, is_local, resolve, rewrite, scan_css, scan_js, split_url)


def urls(text: str) -> list[tuple[str, str]]:
    return [(r.kind, r.url) for r in scan_css(text)]


def tokens(text: str) -> list[str]:
    return [text[r.start:r.end] for r in scan_css(text)]


def assert_round_trip(text: str) -> None:
    """Rewriting every reference to itself keeps the URL list."""
    refs = scan_css(text)
    again = scan_css(rewrite(text, [(r, r.url) for r in refs]))
    assert [(r.kind, r.url) for r in again] == [(r.kind, r.url) for r in refs]


# --- url() ----------------------------------------------------------------------

UNQUOTED = "a { background: url(img/a.png) }"
DOUBLE_QUOTED = 'a { background: url("img/a.png") }'
SINGLE_QUOTED = "a { background: url('img/a.png') }"
UPPER_CASE = "a { background: URL(img/a.png) }"
SPACES_INSIDE = "a { background: url( 'sprite.png' ) }"  # collectstatic aborts on this
SPACES_UNQUOTED = "a { background: url(  sprite.png\t) }"
ESCAPED_SPACE = r"a { background: url(my\ image.png) }"
ESCAPED_QUOTE = r'a { background: url("a\"b.png") }'
HEX_ESCAPE = r"a { background: url(\31 .png) }"
HEX_ESCAPE_CRLF = "a { background: url(\\31\r\n.png) }"
ESCAPED_FUNCTION_NAME = r"a { background: \75 rl(esc.png) }"


@pytest.mark.parametrize("text", [UNQUOTED, DOUBLE_QUOTED, SINGLE_QUOTED, UPPER_CASE])
def test_url_forms(text):
    [ref] = scan_css(text)
    assert (ref.kind, ref.url, ref.line) == ("url", "img/a.png", 1)
    assert text[ref.start:ref.end].lower() in {
        "url(img/a.png)", 'url("img/a.png")', "url('img/a.png')"}


def test_spaces_inside_parentheses():
    assert urls(SPACES_INSIDE) == [("url", "sprite.png")]
    assert tokens(SPACES_INSIDE) == ["url( 'sprite.png' )"]
    assert urls(SPACES_UNQUOTED) == [("url", "sprite.png")]
    assert tokens(SPACES_UNQUOTED) == ["url(  sprite.png\t)"]


@pytest.mark.parametrize("text, url", [
    (ESCAPED_SPACE, "my image.png"),
    (ESCAPED_QUOTE, 'a"b.png'),
    (HEX_ESCAPE, "1.png"),
    (HEX_ESCAPE_CRLF, "1.png"),  # the escape eats one whitespace, CRLF counting as one
    (ESCAPED_FUNCTION_NAME, "esc.png"),
])
def test_escapes_are_decoded(text, url):
    assert urls(text) == [("url", url)]


def test_whitespace_inside_quotes_is_trimmed():
    assert urls('a { b: url(" img/a.png\t") }') == [("url", "img/a.png")]


# --- what is not a reference ------------------------------------------------------

URL_IN_COMMENT = "/* a { background: url(old.png) } */ b { background: url(new.png) }"
URL_IN_STRING = 'a::after { content: "url(x.png)" } b { c: \'url(y.png)\' }'
NOT_URL_FUNCTIONS = "a { b: foourl(x.png); c: -url(y.png) } #url(z.png) {} @url(w.png);"
BAD_URLS = 'a { b: url(a b.png); c: url(a"b.png); d: url(a(b.png) } e { f: url(ok.png) }'
# The newline ends the string badly; the scanner resumes right after it.
BAD_STRING = 'a { b: url("broken\n.png); } c { d: url(ok.png) }'
UNCLOSED_COMMENT = "a { b: url(ok.png) } /* url(no.png)"
ESCAPED_QUOTE_OUTSIDE_STRING = r'a\"b { c: url(ok.png) } d { e: "x" }'


def test_comments_are_skipped():
    assert urls(URL_IN_COMMENT) == [("url", "new.png")]
    assert urls(UNCLOSED_COMMENT) == [("url", "ok.png")]


def test_url_inside_strings_is_not_a_reference():
    assert urls(URL_IN_STRING) == []


def test_other_function_names_hash_and_at_keywords_are_not_url():
    assert urls(NOT_URL_FUNCTIONS) == []


def test_bad_url_tokens_are_skipped_up_to_their_parenthesis():
    assert urls(BAD_URLS) == [("url", "ok.png")]
    assert urls(BAD_STRING) == [("url", "ok.png")]


def test_escaped_quote_outside_a_string_opens_no_string():
    assert urls(ESCAPED_QUOTE_OUTSIDE_STRING) == [("url", "ok.png")]


ESCAPED_NOT_URL = r"#\75 rl(a.png) {} b { c: a\75 rl(b.png); d: \66 oourl(c.png) }"
ESCAPED_IMPORT = r'@\69 mport "x.css";'


def test_escaped_names_follow_the_same_rules():
    assert urls(ESCAPED_NOT_URL) == []
    assert urls(ESCAPED_IMPORT) == [("import", "x.css")]


def test_empty_url_is_recorded_but_not_local():
    assert urls("a { b: url(); c: url('') }") == [("url", ""), ("url", "")]


# --- @import, source maps, image-set, font lists ----------------------------------------

IMPORTS = """@import "a.css";
@import url(b.css) screen and (max-width: 600px);
@import 'c.css' print;
@IMPORT url("d.css");
@import /* why */ "e.css" layer(base) supports(display: grid);
"""


def test_import_forms():
    assert urls(IMPORTS) == [("import", u) for u in ("a.css", "b.css", "c.css", "d.css", "e.css")]
    assert tokens(IMPORTS) == ['"a.css"', "url(b.css)", "'c.css'", 'url("d.css")', '"e.css"']
    assert [r.line for r in scan_css(IMPORTS)] == [1, 2, 3, 4, 5]


def test_import_in_a_comment_or_string_is_ignored():
    assert urls('/* @import "a.css"; */ a { content: "@import \'b.css\'" }') == []


SOURCEMAP = "a{}\n/*# sourceMappingURL=foo.css.map */\n"
SOURCEMAP_LEGACY = "a{}\n/*@ sourceMappingURL=old.css.map*/"
SOURCEMAP_NOT_ALONE = "/*# sourceMappingURL=a.map and more words */"


def test_sourcemap_comments_are_recorded():
    [ref] = scan_css(SOURCEMAP)
    assert (ref.kind, ref.url, ref.line) == ("sourcemap", "foo.css.map", 2)
    assert SOURCEMAP[ref.start:ref.end] == "foo.css.map"
    assert urls(SOURCEMAP_LEGACY) == [("sourcemap", "old.css.map")]
    assert urls(SOURCEMAP_NOT_ALONE) == []


IMAGE_SET = """a { background-image: image-set("a.png" 1x, 'b.png' 2x); }
b { background-image: -webkit-image-set(url(c.png) 1x, "d.avif" type("image/avif") 2x); }
c { content: "e.png"; }"""


def test_image_set_strings_are_urls_but_type_strings_are_not():
    assert urls(IMAGE_SET) == [("url", u) for u in ("a.png", "b.png", "c.png", "d.avif")]
    assert [r.line for r in scan_css(IMAGE_SET)] == [1, 1, 2, 2]


FONT_FACE = """@font-face {
  font-family: 'Icons';
  src: url(a.eot?#iefix) format('embedded-opentype'), url(a.woff2?v=4.7.0) format('woff2'),
       url('a.svg?v=4.7.0#iconsregular') format('svg'), local("Icons");
}"""


def test_image_set_nested_functions_are_not_urls():
    text = 'a { b: image-set(linear-gradient(red, blue) 1x, "a.png" 2x, calc(1 + "x") 3x) }'
    assert urls(text) == [("url", "a.png")]
    assert urls(text + ' c { content: "after.png" }') == [("url", "a.png")]


def test_font_face_src_list():
    assert urls(FONT_FACE) == [
        ("url", "a.eot?#iefix"), ("url", "a.woff2?v=4.7.0"), ("url", "a.svg?v=4.7.0#iconsregular")]


NON_LOCAL = ".lvml { behavior: url(#default#VML); } a { b: url(data:image/png;base64,iVBORw0KGgo=) }"


def test_vml_behavior_and_data_uri_are_recorded_but_not_local():
    assert urls(NON_LOCAL) == [("url", "#default#VML"), ("url", "data:image/png;base64,iVBORw0KGgo=")]
    assert [is_local(r.url) for r in scan_css(NON_LOCAL)] == [False, False]


def test_line_numbers_count_every_css_newline():
    text = "a{b:url(1.png)}\nc{d:url(2.png)}\r\ne{f:url(3.png)}\rg{h:url(4.png)}\fi{j:url(5.png)}"
    assert [(r.url, r.line) for r in scan_css(text)] == [
        ("1.png", 1), ("2.png", 2), ("3.png", 3), ("4.png", 4), ("5.png", 5)]


def test_line_numbers_after_multiline_comments_and_strings():
    text = '/* one\r\ntwo */ a { content: "x\\\ny" }\n b { c: url(z.png) }'
    assert [r.line for r in scan_css(text)] == [4]  # the escaped newline counts too


ALL_FIXTURES = [
    UNQUOTED, DOUBLE_QUOTED, SINGLE_QUOTED, UPPER_CASE, SPACES_INSIDE, SPACES_UNQUOTED,
    ESCAPED_SPACE, ESCAPED_QUOTE, HEX_ESCAPE, HEX_ESCAPE_CRLF, ESCAPED_FUNCTION_NAME,
    URL_IN_COMMENT, BAD_URLS, IMPORTS, SOURCEMAP, SOURCEMAP_LEGACY, IMAGE_SET, FONT_FACE, NON_LOCAL,
]


@pytest.mark.parametrize("text", ALL_FIXTURES)
def test_rewrite_to_the_same_urls_round_trips(text):
    assert_round_trip(text)


# --- rewrite ------------------------------------------------------------------------


def test_rewrite_keeps_form_and_quote_character():
    text = "a{b:url(x.png)} c{d:url('y.png')} @import \"z.css\";\n/*# sourceMappingURL=s.map */"
    new = {r: r.url.replace(".", ".v1234abcd.") for r in scan_css(text)}
    assert rewrite(text, new) == (
        "a{b:url(x.v1234abcd.png)} c{d:url('y.v1234abcd.png')} @import \"z.v1234abcd.css\";\n"
        "/*# sourceMappingURL=s.v1234abcd.map */")


def test_rewrite_quotes_and_escapes_when_needed():
    text = "a{b:url(x.png)} c{d:url('y.png')} @import \"z.css\";"
    new = dict(zip(scan_css(text), ['my (1) "img".png', "it's.png", 'a"b\nc.css']))
    out = rewrite(text, new)
    assert out == ('a{b:url("my (1) \\"img\\".png")} c{d:url(\'it\\\'s.png\')} '
                   '@import "a\\"b\\a c.css";')
    assert [r.url for r in scan_css(out)] == ['my (1) "img".png', "it's.png", 'a"b\nc.css']


def test_rewrite_normalises_spacing_and_case_of_url_function():
    assert rewrite(SPACES_INSIDE, {scan_css(SPACES_INSIDE)[0]: "s.png"}) == \
        "a { background: url('s.png') }"
    assert rewrite(UPPER_CASE, {scan_css(UPPER_CASE)[0]: "b.png"}) == \
        "a { background: url(b.png) }"


def test_rewrite_keeps_url_modifiers():
    text = 'a { b: url("x.png" crossorigin(anonymous)) }'
    [ref] = scan_css(text)
    assert text[ref.start:ref.end] == '"x.png"'
    assert rewrite(text, {ref: "y.png"}) == 'a { b: url("y.png" crossorigin(anonymous)) }'


def test_rewrite_encodes_what_would_end_a_sourcemap_comment():
    [ref] = scan_css(SOURCEMAP)
    assert rewrite(SOURCEMAP, {ref: "a b*/.map"}) == "a{}\n/*# sourceMappingURL=a%20b%2A/.map */\n"


def test_rewrite_leaves_unlisted_references_and_rejects_overlaps():
    refs = scan_css(FONT_FACE)
    out = rewrite(FONT_FACE, [(refs[1], "b.woff2?v=4.7.0")])
    assert [r.url for r in scan_css(out)] == ["a.eot?#iefix", "b.woff2?v=4.7.0", refs[2].url]
    with pytest.raises(ValueError, match="overlapping"):
        rewrite(FONT_FACE, [(refs[0], "x"), (refs[0], "y")])


# --- JavaScript -------------------------------------------------------------------------


def test_scan_js_trailing_sourcemap_comment():
    text = "var a = 1;\r\n//# sourceMappingURL=app.js.map\r\n"
    [ref] = scan_js(text)
    assert ref == Reference("sourcemap", "app.js.map", 33, 43, 2)
    assert rewrite(text, {ref: "app.v0123abcd.js.map"}) == \
        "var a = 1;\r\n//# sourceMappingURL=app.v0123abcd.js.map\r\n"
    assert [r.url for r in scan_js("x()\n//@ sourceMappingURL=legacy.map")] == ["legacy.map"]


@pytest.mark.parametrize("text", [
    "var s = '//# sourceMappingURL=no.map';",
    "var s = `\n//# sourceMappingURL=no.map\n`;",
    "/*\n//# sourceMappingURL=no.map\n*/\n",
    "//# sourceMappingURL=no.map\nfoo();\n",
    "",
])
def test_scan_js_ignores_sourcemap_lookalikes(text):
    assert scan_js(text) == []


# --- the corpus ------------------------------------------------------------------------


def corpus_refs(corpus: Path, logical: str) -> list[Reference]:
    return scan_css((corpus / logical).read_text(encoding="utf-8"))


def test_corpus_expected_references(corpus_dir):
    theme = {r.url for r in corpus_refs(corpus_dir, "jquery-ui/themes/base/theme.css")}
    assert {u for u in theme if u.startswith("images/ui-icons_")} >= {
        "images/ui-icons_444444_256x240.png", "images/ui-icons_ffffff_256x240.png"}
    assert [r.url for r in corpus_refs(corpus_dir, "jquery-ui/themes/base/all.css")] == [
        "base.css", "theme.css"]

    bootstrap = [r.url for r in corpus_refs(corpus_dir, "bootstrap/dist/css/bootstrap.css")]
    assert "../fonts/glyphicons-halflings-regular.eot?#iefix" in bootstrap
    assert bootstrap[-1] == "bootstrap.css.map"

    fa = [r.url for r in corpus_refs(corpus_dir, "font-awesome/css/font-awesome.css")]
    assert fa == [
        "../fonts/fontawesome-webfont.eot?v=4.7.0",
        "../fonts/fontawesome-webfont.eot?#iefix&v=4.7.0",
        "../fonts/fontawesome-webfont.woff2?v=4.7.0",
        "../fonts/fontawesome-webfont.woff?v=4.7.0",
        "../fonts/fontawesome-webfont.ttf?v=4.7.0",
        "../fonts/fontawesome-webfont.svg?v=4.7.0#fontawesomeregular",
    ]
    assert split_url(fa[-1]) == ("../fonts/fontawesome-webfont.svg", "?v=4.7.0#fontawesomeregular")

    leaflet = [r.url for r in corpus_refs(corpus_dir, "leaflet/dist/leaflet.css")]
    assert {"images/layers.png", "images/layers-2x.png", "#default#VML"} <= set(leaflet)


def corpus_css(corpus: Path) -> list[str]:
    found = (p.relative_to(corpus) for p in corpus.rglob("*.css") if p.is_file())
    return sorted(p.as_posix() for p in found if p.parts[0] != ".cache")


def test_every_local_corpus_reference_resolves_to_a_file(corpus_dir):
    checked, missing = 0, []
    for logical in corpus_css(corpus_dir):
        for ref in corpus_refs(corpus_dir, logical):
            if not is_local(ref.url):
                continue
            target = resolve(logical, split_url(ref.url)[0])
            checked += 1
            if target is None or not (corpus_dir / target).is_file():
                missing.append(f"{logical}:{ref.line}: {ref.url}")
    assert missing == []
    assert checked > 300


def test_corpus_rewrite_round_trips(corpus_dir):
    for logical in corpus_css(corpus_dir):
        assert_round_trip((corpus_dir / logical).read_text(encoding="utf-8"))
