"""assetpipe.budgets: size limits per name or glob, a breach publishes nothing (exit 1)."""
from __future__ import annotations

import json

import pytest
from conftest import build_dir, load_manifest, run_cli, write_config, write_tree

from assetpipe.budgets import BudgetError, check, parse_budgets, parse_size
from assetpipe.errors import UsageError

APP_JS = "function add(a, b) {\n  return a + b;\n}\n" * 40
OTHER_JS = "var x = 1;\n"
SITE_CSS = "body { color: red; }\n" * 50


def _site(tmp_path, budgets: str):
    write_tree(tmp_path / "static", {"js/app.js": APP_JS, "js/other.js": OTHER_JS,
                                     "css/site.css": SITE_CSS})
    return write_config(tmp_path, extra=budgets)


def _sizes(tmp_path):
    """The real raw/gzip sizes of a build without budgets (in another output)."""
    probe = write_config(tmp_path, output="probe", name="probe.toml")
    build_dir(probe)
    manifest = load_manifest(tmp_path / "probe")["assets"]
    return {name: (entry["size"], (tmp_path / "probe" / entry["encodings"]["gzip"]).stat().st_size
                   if "gzip" in entry["encodings"] else entry["size"])
            for name, entry in manifest.items()}


def test_parse_size_units_and_errors():
    assert parse_size("k", 1500) == 1500
    assert parse_size("k", "150 kB") == 150_000
    assert parse_size("k", "1.5 MiB") == 1572864
    assert parse_size("k", "12") == 12
    for bad in ("lots", "5 parsecs", -1, True, 1.5):
        with pytest.raises(UsageError, match="k: .* is not a size"):
            parse_size("k", bad)


def test_parse_budgets_names_the_key():
    with pytest.raises(UsageError, match=r"budgets\.'js/\*\.js'\.zip: unknown size kind"):
        parse_budgets({"js/*.js": {"zip": 1}}, True, False)
    with pytest.raises(UsageError, match=r"budgets\.'a\.js'\.br: the build writes no br twins"):
        parse_budgets({"a.js": {"br": 1}}, True, False)
    with pytest.raises(UsageError, match="must be a table"):
        parse_budgets({"a.js": 5}, True, False)


def test_check_glob_limits_each_asset_and_reports_every_breach():
    budgets = parse_budgets({"js/*.js": {"raw": 100, "gzip": 60}, "nothing/*": {"raw": 1}},
                            True, False)
    sizes = {"js/a.js": {"raw": 150, "gzip": 50}, "js/b.js": {"raw": 90},  # no twin: raw counts
             "css/c.css": {"raw": 10_000}}
    rows, breaches = check(budgets, sizes)
    assert {(r["asset"], r["kind"], r["over"]) for r in rows} == {
        ("js/a.js", "raw", 50), ("js/a.js", "gzip", 0), ("js/b.js", "raw", 0),
        ("js/b.js", "gzip", 30)}
    assert len(breaches) == 3
    assert any("js/a.js: raw 150 B" in b and "by 50 B" in b for b in breaches)
    assert any("js/b.js: gzip 90 B" in b and "by 30 B" in b for b in breaches)
    assert any("'nothing/*' matches no asset" in b for b in breaches)


def test_breach_exits_1_naming_every_asset_and_keeps_previous_manifest(tmp_path):
    cfg = _site(tmp_path, "")
    sizes = _sizes(tmp_path)
    assert run_cli(["build", "--config", str(cfg), "--quiet"]).returncode == 0
    before = (tmp_path / "out" / "manifest.json").read_bytes()
    plain_before = (tmp_path / "out" / "js" / "app.js").read_bytes()
    # Change a source, and set budgets the new build breaks by a known amount.
    (tmp_path / "static" / "js" / "app.js").write_text(APP_JS + APP_JS)
    raw_app = _sizes(tmp_path)["js/app.js"][0]
    cfg = _site(tmp_path, f'[budgets]\n"js/*.js" = {{ raw = {raw_app - 7} }}\n'
                          f'"css/site.css" = {{ gzip = {sizes["css/site.css"][1] - 3} }}\n')
    (tmp_path / "static" / "js" / "app.js").write_text(APP_JS + APP_JS)
    result = run_cli(["build", "--config", str(cfg), "--json"])
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert any("js/app.js: raw" in e and "by 7 B" in e for e in errors), errors
    assert any("css/site.css: gzip" in e and "by 3 B" in e for e in errors), errors
    assert not any("js/other.js" in e for e in errors)
    report = json.loads(result.stdout)
    assert len(report["budget_breaches"]) == 2
    assert {(r["asset"], r["over"]) for r in report["budgets"]} == {
        ("js/app.js", 7), ("js/other.js", 0), ("css/site.css", 3)}
    # Nothing published: the manifest and the plain copy are the previous build's.
    assert (tmp_path / "out" / "manifest.json").read_bytes() == before
    assert (tmp_path / "out" / "js" / "app.js").read_bytes() == plain_before
    # No fingerprint was written: the rebuild checks again (and fails again).
    assert run_cli(["build", "--config", str(cfg), "--quiet"]).returncode == 1


def test_no_breach_exits_0_and_reports_table_even_when_noop(tmp_path):
    cfg = _site(tmp_path, "")
    sizes = _sizes(tmp_path)
    cfg = _site(tmp_path, f'[budgets]\n"js/app.js" = {{ raw = {sizes["js/app.js"][0]}, '
                          'gzip = "1 MB" }\n')
    for _ in range(2):  # the second build is a no-op and still reports the table
        result = run_cli(["build", "--config", str(cfg), "--json"])
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["budget_breaches"] == []
        assert [(r["asset"], r["kind"], r["over"]) for r in report["budgets"]] == [
            ("js/app.js", "raw", 0), ("js/app.js", "gzip", 0)]
    assert report["noop"] is True
    text = run_cli(["build", "--config", str(cfg)])
    assert text.returncode == 0 and "size budgets" in text.stdout and "js/app.js" in text.stdout


def test_budget_error_from_library_call(tmp_path):
    cfg = _site(tmp_path, '[budgets]\n"css/site.css" = { raw = 10 }\n')
    with pytest.raises(BudgetError) as info:
        build_dir(cfg)
    assert info.value.breaches and "css/site.css: raw" in info.value.breaches[0]
    assert not (tmp_path / "out" / "manifest.json").exists()
