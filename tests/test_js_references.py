"""assetpipe.js_references / js_tokens: module specifiers found by a real JS tokenizer."""
from __future__ import annotations

import pytest

from assetpipe.js_references import is_module, scan_js_modules
from assetpipe.js_tokens import first_difference, tokenize


def found(text: str, module: bool = True) -> list[tuple[str, str, int]]:
    return [(r.kind, r.url, r.line) for r in scan_js_modules(text, module)]


def test_every_form_found_with_its_line():
    text = ('import a from "./a.js";\n'
            "import {b as c, d} from './b.js'\n"
            'import * as ns from "../ns.js";\n'
            'import "./side.js";\n'
            'export * from "./re.js";\n'
            'export { x } from "./x.js";\n'
            'export * as y from "./y.js";\n'
            'const m = await import("./lazy.js");\n'
            'new Worker(new URL("./w.js", import.meta.url), {type: "module"});\n'
            'new SharedWorker("/static/shared.js");\n'
            'importScripts("a1.js", "a2.js");\n')
    assert found(text) == [
        ("module", "./a.js", 1), ("module", "./b.js", 2), ("module", "../ns.js", 3),
        ("module", "./side.js", 4), ("module", "./re.js", 5), ("module", "./x.js", 6),
        ("module", "./y.js", 7), ("dynamic", "./lazy.js", 8), ("module-url", "./w.js", 9),
        ("worker", "/static/shared.js", 10), ("module-url", "a1.js", 11),
        ("module-url", "a2.js", 11)]


def test_offsets_cover_the_string_token_with_its_quotes():
    text = "import x from  './a.js'"
    [ref] = scan_js_modules(text)
    assert text[ref.start:ref.end] == "'./a.js'"


@pytest.mark.parametrize("text", [
    '// import x from "./c.js"\nvar a = 1;',
    '/* import("./c.js") */ var a = 1;',
    'var s = "import x from \'./c.js\'";',
    "var s = 'new Worker(\"./c.js\")';",
    'var t = `import x from "./c.js"`;',
    'var t = `${ `nested import("./c.js")` }`;',
    'var t = `a ${ b } import("./c.js")`;',
    'var r = /import("\\.\\/c.js")/g;',
    'if (x) /import "\\.\\/c.js"/.test(s);',
    'var r = a ? /["]/ : /import("\\.\\/c.js")/;',
])
def test_specifier_lookalikes_in_comments_strings_templates_regex_are_not_references(text):
    assert found(text) == []


def test_division_is_not_a_regex():
    # Read as a regex, `/ 2; import("./real.js"); x /` would hide the import.
    text = 'var a = (b) / 2; import("./real.js"); var c = d / 3;'
    assert found(text) == [("dynamic", "./real.js", 1)]


def test_dynamic_import_of_a_variable_or_template_is_left_alone():
    assert found("const m = import(name); const n = import(`./x/${name}.js`);") == []
    assert found('import("./a" + ext)') == []


def test_import_meta_url_without_new_url_is_left_alone():
    assert found("const here = import.meta.url; fetch(new URL('data.json', location));") == []
    assert found("console.log(import.meta.url)") == []


def test_service_worker_registration_and_member_calls_are_left_alone():
    text = ('navigator.serviceWorker.register("./sw.js");\n'
            'loader.import("./not-a-module.js"); obj.importScripts("./x.js");')
    assert found(text) == []


def test_escaped_specifier_is_left_alone():
    assert found('import x from "\\x2e/a.js"') == []


def test_files_without_trigger_words_are_not_tokenized():
    assert found("var a = 1;") == []


def test_is_module():
    assert is_module("export const a = 1;")
    assert is_module('import x from "y";')
    assert not is_module('var a = 1; import("./x.js"); var m = import.meta;')
    assert not is_module("var s = 'export default 1';")


@pytest.mark.parametrize("source, output", [
    ("a = a < !--b\n", "a=a<!--b"),                     # becomes an HTML-like comment
    ("var \\u0061bc = 1", "var\\u0061bc=1"),            # escaped identifier glued on
    ("() => {}\n/`/.test(s)", "()=>{}/`/.test(s)"),      # ASI before a regex, lost
    ("a\n++b", "a++b"),
    ("return\nx", "return x"),
])
def test_token_stream_check_catches_changed_programs(source, output):
    assert first_difference(source, output) is not None


@pytest.mark.parametrize("source, output", [
    ("var  a = 1 ; // c\nvar b", "var a=1;var b"),
    ("if (s) /`/.test(s)", "if(s)/`/.test(s)"),
    ("x = `a  ${ n }  b`", "x=`a  ${n}  b`"),
    ("a = {b: 1}\n/x/g.test(c)", "a={b:1}\n/x/g.test(c)"),
])
def test_token_stream_check_accepts_whitespace_and_comment_changes(source, output):
    assert first_difference(source, output) is None


def test_template_substitutions_nest():
    tokens = tokenize("x = `a ${ `b ${ c }` } d`; y")
    kinds = tokens.kinds
    assert kinds[-1] == "name" and tokens.value(len(kinds) - 1) == "y"
