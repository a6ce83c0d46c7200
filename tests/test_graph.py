"""The reference graph: link resolution, problem reports, build levels, rewriting."""
from __future__ import annotations

import pytest

from assetpipe.errors import BuildError
from assetpipe.config import References
from assetpipe.graph import Link, RefPolicy, levels, report_problems, resolve_link, rewrite_text
from assetpipe.references import scan_css, scan_js

ERROR = RefPolicy()
WARN = RefPolicy(References(missing="warn"))
RESOLVE = RefPolicy(References(root_relative="resolve"), root_path="/static/")


def link_for(css: str, known=(), policy=ERROR, where="css/site.css"):
    [ref] = scan_css(css)
    return resolve_link(where, ref, set(known), policy)


# --- resolve_link -------------------------------------------------------------------

@pytest.mark.parametrize("css", [
    "a{b:url(data:image/png;base64,AAAA)}",
    "a{b:url(https://example.com/a.png)}",
    "a{b:url(//cdn.example.com/a.png)}",
    "a{behavior:url(#default#VML)}",
    "a{b:url(/static/img/a.png)}",          # root-relative, policy "leave"
])
def test_links_left_alone(css):
    assert link_for(css) is None


def test_local_link_found_and_missing():
    assert link_for("a{b:url(../img/a.png?v=1#x)}", known={"img/a.png"}) == Link(
        "url", "../img/a.png?v=1#x", 1, "img/a.png", None)
    assert link_for("a{b:url(../img/a.png)}").problem == "missing"


def test_link_escaping_source_root():
    link = link_for("a{b:url(../../../etc/passwd)}")
    assert (link.target, link.problem) == (None, "escapes")


def test_root_relative_resolved_against_url_prefix_path():
    css = "a{b:url(/static/img/a.png)}"
    assert link_for(css, {"img/a.png"}, RESOLVE).target == "img/a.png"
    assert link_for(css, (), RESOLVE).problem == "missing"
    assert link_for("a{b:url(/other/a.png)}", (), RESOLVE) is None  # not under the prefix
    assert link_for("a{b:url(/static/img/x/../a.png)}", {"img/a.png"}, RESOLVE).target == "img/a.png"
    assert link_for("a{b:url(/static/../../etc/passwd)}", (), RESOLVE).problem == "escapes"
    assert link_for("a{b:url(/static/)}", (), RESOLVE) is None


# --- report_problems ----------------------------------------------------------------

def test_all_problems_reported_together_with_file_and_line():
    links = {
        "css/b.css": [Link("url", "x.png", 7, "css/x.png", "missing")],
        "css/a.css": [Link("url", "ok.png", 1, "css/ok.png", None),
                      Link("import", "gone.css", 3, "css/gone.css", "missing")],
    }
    with pytest.raises(BuildError) as exc:
        report_problems(links, ERROR)
    message = str(exc.value)
    assert message.startswith("2 broken references:")
    assert "css/a.css:3: 'gone.css' not found (looked for css/gone.css)" in message
    assert "css/b.css:7: 'x.png' not found" in message
    assert message.index("css/a.css:3:") < message.index("css/b.css:7:")  # sorted by file


def test_missing_warns_when_policy_says_so():
    links = {"css/a.css": [Link("url", "x.png", 2, "css/x.png", "missing")]}
    assert report_problems(links, WARN) == ["css/a.css:2: 'x.png' not found (looked for css/x.png)"]


def test_escaping_is_an_error_even_when_missing_only_warns():
    links = {"css/a.css": [Link("url", "../../x", 4, None, "escapes")]}
    with pytest.raises(BuildError, match=r"css/a.css:4: '../../x' points outside the source"):
        report_problems(links, WARN)


def test_missing_sourcemap_warns_by_default_and_can_be_an_error():
    links = {"js/a.min.js": [Link("sourcemap", "a.min.js.map", 2, "js/a.min.js.map", "missing")]}
    [warning] = report_problems(links, ERROR)
    assert warning.startswith("js/a.min.js:2: 'a.min.js.map' not found")
    assert warning.endswith("sourceMappingURL comment dropped")
    with pytest.raises(BuildError, match="js/a.min.js:2:"):
        report_problems(links, RefPolicy(References(missing_sourcemap="error")))


def test_no_problems_no_warnings():
    assert report_problems({"a.css": [Link("url", "b.png", 1, "b.png", None)]}, ERROR) == []


# --- levels -------------------------------------------------------------------------

def test_levels_put_dependencies_first():
    deps = {"css/site.css": {"img/a.png", "css/base.css"}, "css/base.css": {"img/b.png"},
            "img/a.png": set(), "img/b.png": set(), "js/app.js": set()}
    assert levels(deps) == [["img/a.png", "img/b.png", "js/app.js"], ["css/base.css"],
                            ["css/site.css"]]


def test_levels_ignore_targets_that_are_not_nodes():
    assert levels({"a.css": {"elsewhere.png"}}) == [["a.css"]]


def test_cycle_is_named():
    deps = {"a.css": {"b.css"}, "b.css": {"a.css"}, "c.css": {"a.css"}, "img.png": set()}
    with pytest.raises(BuildError) as exc:
        levels(deps)
    assert str(exc.value) == "reference cycle: a.css -> b.css -> a.css"


def test_cycle_reached_through_a_tail_names_only_the_cycle():
    deps = {"a.css": {"b.css"}, "b.css": {"c.css"}, "c.css": {"d.css"}, "d.css": {"c.css"}}
    with pytest.raises(BuildError, match=r"^reference cycle: c.css -> d.css -> c.css$"):
        levels(deps)


def test_self_reference_is_a_cycle():
    with pytest.raises(BuildError, match=r"^reference cycle: a.css -> a.css$"):
        levels({"a.css": {"a.css"}})


# --- rewrite_text -------------------------------------------------------------------

VERSIONED = {"img/a.png": "img/a.v0123456789.png", "img/b.png": "img/b.vabcdefabcd.png",
             "fonts/f.eot": "fonts/f.v1111111111.eot", "css/base.css": "css/base.v2222222222.css",
             "js/a.min.js.map": "js/a.min.v3333333333.js.map"}


def rewrite(text, out="css/site.css", member=None, policy=ERROR, keeps_sourcemap=True,
            versioned=VERSIONED):
    return rewrite_text(out, member or out, text, versioned, keeps_sourcemap, policy)


def test_rewrite_points_at_versioned_files_keeping_query_and_fragment():
    css = ("@import 'base.css';\n"
           "a{background:url(../img/a.png)}\n"
           "@font-face{src:url('../fonts/f.eot?#iefix') format('embedded-opentype')}\n"
           "b{behavior:url(#default#VML);c:url(data:image/gif;base64,R0lGOD)}\n")
    assert rewrite(css) == (
        "@import 'base.v2222222222.css';\n"
        "a{background:url(../img/a.v0123456789.png)}\n"
        "@font-face{src:url('../fonts/f.v1111111111.eot?#iefix') format('embedded-opentype')}\n"
        "b{behavior:url(#default#VML);c:url(data:image/gif;base64,R0lGOD)}\n")


def test_bundle_member_urls_rebased_to_the_bundle_folder():
    css = "a{background:url(../img/a.png)}\nb{background:url(sprites/x.png?v=2)}\n"
    out = rewrite(css, out="bundles/all.css", member="vendor/theme/site.css",
                  policy=WARN, versioned={"vendor/img/a.png": "vendor/img/a.v0123456789.png"})
    # the versioned one is pointed at from the bundle; the unknown one (a warning
    # in this policy) still names the same file from its new folder
    assert out == ("a{background:url(../vendor/img/a.v0123456789.png)}\n"
                   "b{background:url(../vendor/theme/sprites/x.png?v=2)}\n")


def test_bundle_in_same_folder_rewrites_only_versioned_links():
    css = "a{background:url(../img/a.png)}\nb{background:url(other.png)}\n"
    assert rewrite(css, out="css/all.css", member="css/a.css", policy=WARN) == (
        "a{background:url(../img/a.v0123456789.png)}\nb{background:url(other.png)}\n")


def test_root_relative_resolve_and_leave():
    css = "a{background:url(/static/img/a.png?x)}"
    assert rewrite(css, policy=RESOLVE) == "a{background:url(/static/img/a.v0123456789.png?x)}"
    assert rewrite(css, policy=ERROR) == css
    assert rewrite(css, out="bundles/all.css", member="css/a.css", policy=ERROR) == css


def test_sourcemap_kept_and_pointed_at_versioned_map():
    js = "var a=1;\n//# sourceMappingURL=a.min.js.map\n"
    assert rewrite(js, out="js/a.min.js") == "var a=1;\n//# sourceMappingURL=a.min.v3333333333.js.map\n"


def test_dangling_sourcemap_comment_dropped():
    js = "var a=1;\n//# sourceMappingURL=gone.js.map\n"
    assert rewrite(js, out="js/a.min.js") == "var a=1;\n"
    css = "a{background:url(../img/a.png)}\n/*# sourceMappingURL=gone.css.map */\n"
    assert rewrite(css) == "a{background:url(../img/a.v0123456789.png)}\n\n"
    assert [r.kind for r in scan_css(rewrite(css))] == ["url"]


@pytest.mark.parametrize("url", [
    "data:application/json;charset=utf-8;base64,eyJ2ZXJzaW9uIjozfQ==",
    "https://cdn.example.com/maps/a.min.js.map",
])
def test_inline_and_absolute_sourcemaps_left_alone(url):
    # not files of this build: nothing to version, nothing dangling
    js = f"var a=1;\n//# sourceMappingURL={url}\n"
    assert rewrite(js, out="js/a.min.js") == js
    assert [r.url for r in scan_js(rewrite(js, out="js/a.min.js"))] == [url]


def test_sourcemap_cut_when_file_does_not_keep_it():
    # minified text and bundle members: no map describes the new bytes
    js = "var a=1;\n//# sourceMappingURL=a.js.map\n"
    assert rewrite(js, out="js/a.js", keeps_sourcemap=False, versioned={"js/a.js.map": "x"}) == \
        "var a=1;\n"


def test_whitespace_in_rewritten_urls_is_percent_encoded():
    # rcssmin would squeeze "my image.png" to "myimage.png" inside url()
    versioned = {"css/my image.png": "css/my image.v0123456789.png"}
    assert rewrite(r"a{b:url(my\ image.png)}", versioned=versioned) == \
        "a{b:url(my%20image.v0123456789.png)}"
    assert rewrite(r"a{b:url('img/a b.png')}", out="bundles/all.css", member="css/a.css",
                   policy=WARN, versioned={}) == "a{b:url('../css/img/a%20b.png')}"


def test_root_relative_versioned_path_is_url_encoded():
    versioned = {"img/50% off#1.png": "img/50% off#1.v0123456789.png"}
    assert rewrite("a{b:url('/static/img/50%25%20off%231.png')}", policy=RESOLVE,
                   versioned=versioned) == "a{b:url('/static/img/50%25%20off%231.v0123456789.png')}"
