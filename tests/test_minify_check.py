"""Issue 12 item 8: no minified file changes behaviour.

Every file in tests/fixtures/js-edge-cases runs under node before and after
the build (minify on); the outputs must match.  The cases rjsmin gets wrong
are published unminified with a warning naming file:line, and a negative
control shows rjsmin's raw output of those really behaves differently.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import build_dir, load_manifest, missing_tool, write_config

from assetpipe import minify
from assetpipe.css_stream import first_difference as css_difference

CASES = Path(__file__).parent / "fixtures" / "js-edge-cases"
NAMES = sorted(p.name for p in CASES.iterdir())
# Cases where rjsmin's own output behaves differently (the check must catch them).
BROKEN_BY_RJSMIN = {"html_comment_lookalike.js": 2, "escaped_identifier.js": 1,
                    "arrow_then_regex.js": 3}
# regex_after_paren_then_template.js was the template shield's bug (it read the
# regex after `if (s)` as a division): fixed at the root, it is minified now.


def run_node(path: Path) -> str:
    if shutil.which("node") is None:
        missing_tool("node not found: apt-get install nodejs")
    result = subprocess.run(["node", str(path)], capture_output=True, text=True, timeout=30)
    return f"exit {result.returncode}\n{result.stdout}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("edge")
    shutil.copytree(CASES, root / "static")
    report = build_dir(write_config(root))
    return root, report, load_manifest(root / "out")


@pytest.mark.parametrize("name", NAMES)
def test_published_file_behaves_like_its_source(built, name, tmp_path):
    root, _, manifest = built
    published = tmp_path / name   # same extension: .mjs runs as a module
    shutil.copyfile(root / "out" / manifest["assets"][name]["path"], published)
    assert run_node(published) == run_node(CASES / name)


def test_broken_cases_are_published_unminified_with_file_and_line(built):
    root, report, manifest = built
    for name, line in BROKEN_BY_RJSMIN.items():
        assert f"{name}:{line}: the minifier changed the program here; published unminified" \
            in report.warnings
        published = root / "out" / manifest["assets"][name]["path"]
        assert published.read_bytes() == (CASES / name).read_bytes()
    flagged = {w.split(":")[0] for w in report.warnings}
    assert flagged == set(BROKEN_BY_RJSMIN)   # every other case was minified


def test_shield_case_is_minified_and_keeps_its_template(built):
    root, _, manifest = built
    name = "regex_after_paren_then_template.js"
    text = (root / "out" / manifest["assets"][name]["path"]).read_text()
    assert "`a  ${n}  b`" in text and "\n" not in text.strip()


def test_other_cases_really_were_minified(built):
    root, _, manifest = built
    for name in set(NAMES) - set(BROKEN_BY_RJSMIN):
        published = root / "out" / manifest["assets"][name]["path"]
        assert published.stat().st_size < (CASES / name).stat().st_size, name


@pytest.mark.parametrize("name", sorted(BROKEN_BY_RJSMIN))
def test_negative_control_raw_rjsmin_output_behaves_differently(name, tmp_path):
    raw = tmp_path / name
    raw.write_text(minify.minify_js((CASES / name).read_text()))
    assert run_node(raw) != run_node(CASES / name)


@pytest.mark.parametrize("source, output", [
    (".a .b{color:red}", ".a.b{color:red}"),                 # descendant -> compound
    ("a{width:calc(1px + 2px)}", "a{width:calc(1px+2px)}"),  # `+2px` is one signed number
    ("a{content:'x'}", "a{content:'y'}"),
])
def test_css_check_catches_changed_stylesheets(source, output):
    assert css_difference(source, output) == 1


def test_css_check_accepts_whitespace_comment_and_semicolon_changes():
    source = "/* c */\na , b > c {\n  color : red ;\n  width: calc( 100% - 2em );\n}\n"
    assert css_difference(source, minify.minify_css(source)) is None
    assert minify.checked_css(source) == (minify.minify_css(source), None)
