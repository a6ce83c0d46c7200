"""assetpipe.cli: output contract (--json, --quiet, errors, --debug) and an end-to-end build."""
from __future__ import annotations

import json

import pytest

from assetpipe.cli import main
from conftest import copy_example_site, load_manifest, manifest_problems, run_cli, write_config, write_tree


@pytest.fixture
def cfg(tmp_path):
    write_tree(tmp_path / "static", {"js/app.js": "function app() { return 1; }\n" * 30})
    return write_config(tmp_path)


def test_json_prints_exactly_one_object(cfg, capsys):
    assert main(["build", "--config", str(cfg), "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.endswith("\n") and out.count("\n") == 1
    report = json.loads(out)
    assert report["files"] == 1 and report["processed"] == 1 and report["noop"] is False
    assert report["bytes_in"] == 30 * 29 and 0 < report["bytes_gzip"] < report["bytes_out"]
    assert report["output"] == str(cfg.parent / "out") and isinstance(report["seconds"], float)
    assert err == ""
    assert main(["build", "--config", str(cfg), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["noop"] is True


def test_quiet_prints_nothing(cfg, capsys):
    assert main(["build", "--config", str(cfg), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert (cfg.parent / "out" / "manifest.json").exists()


def test_summary_without_options(cfg, capsys):
    assert main(["build", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{cfg.parent / 'out'}: 1 files (1 processed, 1 written) in ")
    assert main(["build", "--config", str(cfg)]) == 0
    assert "up to date (1 files" in capsys.readouterr().out


def test_config_error_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--config", "nope.toml"]) == 2
    assert capsys.readouterr() == ("", "error: config file nope.toml does not exist\n")


# click words its messages slightly differently across 8.x: check the shape and the subject.
@pytest.mark.parametrize("args, words, where", [
    (["build", "--nope"], ["No such option", "--nope"], "assetpipe build"),
    (["build", "--jobs", "0"], ["--jobs", "0 is not in the range"], "assetpipe build"),
    (["frobnicate"], ["No such command", "frobnicate"], "assetpipe"),
])
def test_usage_errors_are_one_line_on_stderr(tmp_path, monkeypatch, capsys, args, words, where):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("error: ") and err.endswith(f" (see '{where} --help')\n")
    assert all(word in err for word in words), err


def test_build_error_is_one_line_without_traceback(tmp_path):
    write_tree(tmp_path / "static", {"a.js": "var a;\n"})
    cfg = write_config(tmp_path, extra='[[bundle]]\nname = "x.js"\nfiles = ["b.js"]\n')
    result = run_cli(["build", "--config", str(cfg)])
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: bundle 'x.js': file 'b.js' does not exist under the source folder\n"


@pytest.mark.parametrize("debug_args", [["--debug", "build"], ["build", "--debug"]])
def test_debug_shows_a_traceback_and_keeps_the_exit_status(tmp_path, debug_args):
    write_tree(tmp_path / "static", {"a.js": "var a;\n"})
    cfg = write_config(tmp_path, extra="[minify]\njss = true\n")
    result = run_cli([*debug_args, "--config", str(cfg)])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "assetpipe.errors.UsageError: unknown config key 'minify.jss'" in result.stderr
    assert result.stderr.endswith("error: unknown config key 'minify.jss' (did you mean 'minify.js'?)\n")


def test_end_to_end_example_site(tmp_path, capsys):
    cfg = copy_example_site(tmp_path)
    assert main(["build", "--config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "files (" in out
    output = cfg.parent / "build" / "static"
    assets = load_manifest(output)["assets"]
    assert assets["js/site.js"]["sources"] == ["js/vendor/tiny-dom.js", "js/app/clock.js", "js/app/main.js"]
    assert assets["css/site.css"]["sources"] == ["css/base.css", "css/layout.css"]
    assert {"favicon.svg", "robots.txt", "img/logo.png", "img/stripe.png"} <= set(assets)
    assert set(assets["js/site.js"]["encodings"]) == {"gzip", "br"}
    assert assets["img/logo.png"]["encodings"] == {}
    assert manifest_problems(output) == []
    assert main(["build", "--config", str(cfg)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_output_path_that_is_a_file_is_one_line_error(tmp_path, capsys):
    write_tree(tmp_path / "static", {"a.js": "var a;\n"})
    (tmp_path / "out").write_text("not a folder")
    cfg = write_config(tmp_path)
    assert main(["build", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'out'}: File exists\n"


@pytest.mark.parametrize("where", ["after", "before"])
def test_debug_is_accepted_by_every_command_and_shows_the_traceback(tmp_path, capsys, where):
    # `clean --debug` was "No such option" (exit 2); now every command takes
    # it, and an error then carries its traceback before the one-line message.
    missing = str(tmp_path / "nowhere.toml")
    commands = [[c] for c in ("clean", "build", "apache", "nginx", "caddy", "pages")]
    for command in [*commands, ["sync", "dest"]]:
        args = [*command, "--config", missing]
        argv = [*args, "--debug"] if where == "after" else ["--debug", *args]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err, (argv, err)
        assert err.rstrip().endswith(f"error: config file {missing} does not exist"), err
    assert main(["clean", "--config", missing]) == 2
    assert "Traceback" not in capsys.readouterr().err  # and without it, none
