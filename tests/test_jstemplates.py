"""Template literals survive minification (rjsmin does not understand nesting)."""
from assetpipe.jstemplates import protect_templates, restore_templates
from assetpipe.minify import minify_js


def test_nested_template_keeps_its_spaces():
    # d3's rgb formatter: the inner template's ", " must survive.
    src = 'function f(a){ return `rgb(${a}, ${a ? `, ${a})` : ")"}`; }\n'
    assert minify_js(src) == 'function f(a){return`rgb(${a}, ${a ? `, ${a})` : ")"}`;}'


def test_backticks_in_strings_comments_and_regexes_are_not_templates():
    src = "var a = '`'; // a ` here\n/* and ` here */ var r = /[`]/g; var t = `x ${y}`;\n"
    shielded, saved = protect_templates(src)
    assert list(saved.values()) == ["`x ${y}`"]
    assert "'`'" in shielded and "/[`]/g" in shielded


def test_division_is_not_mistaken_for_a_regex():
    src = "var q = a / b / c, t = `p  ${q}`;\n"
    assert minify_js(src) == "var q=a/b/c,t=`p  ${q}`;"


def test_braces_inside_template_expressions():
    src = "var t = `a ${ {k: `b  ${ '}' }`}.k } c`;\n"
    shielded, saved = protect_templates(src)
    assert list(saved.values()) == ["`a ${ {k: `b  ${ '}' }`}.k } c`"]
    assert restore_templates(shielded, saved) == src


def test_placeholder_never_collides_with_source_text():
    src = 'var s = "__assetpipe_tpl0_0__", t = `x  y`;\n'
    assert minify_js(src) == 'var s="__assetpipe_tpl0_0__",t=`x  y`;'


def test_text_without_substitutions_is_left_to_rjsmin():
    src = "var t = `x  y`;\n"
    assert protect_templates(src) == (src, {})
    assert minify_js(src) == "var t=`x  y`;"


def test_regex_after_a_condition_is_not_a_division():
    # The old shield read `/`/` after `if (s)` as a division, shielded the
    # wrong span and rjsmin squeezed the template: `a 1b` instead of `a  1  b`.
    src = 'if (s) /`/.test(s); console.log(`a  ${n}  b`)\n'
    assert minify_js(src) == 'if(s)/`/.test(s);console.log(`a  ${n}  b`)'
