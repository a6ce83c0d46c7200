"""Manifest history and `assetpipe clean` on real builds."""
from __future__ import annotations

import json
import os
import time

import pytest

from assetpipe import history
from assetpipe.build import build
from assetpipe.clean import plan_clean
from assetpipe.cli import main
from assetpipe.config import load_config

CONFIG = """\
source = "static"
output = "out"

[images]
png = "off"
"""
# Big and repetitive enough that every text file gets a gzip twin.
A_JS = "function a() { return %d; }\n" * 40


@pytest.fixture
def site(tmp_path):
    (tmp_path / "assetpipe.toml").write_text(CONFIG)
    (tmp_path / "static").mkdir()
    return tmp_path


def write(site, name: str, text: str) -> None:
    (site / "static" / name).write_text(text)


def state_dir(site) -> str:
    return load_config(str(site / "assetpipe.toml")).state_dir


def history_dir(site) -> str:
    return os.path.join(state_dir(site), history.HISTORY_DIR)


def run(site) -> dict:
    build(load_config(str(site / "assetpipe.toml")), workers=1)
    return json.loads((site / "out" / "manifest.json").read_text())


def versioned_files(site) -> set[str]:
    out = site / "out"
    return {p.relative_to(out).as_posix() for p in out.rglob("*.v*")
            if not any(part.startswith(".") for part in p.relative_to(out).parts)}


def three_builds(site) -> list[dict]:
    manifests = []
    for n, note in enumerate(["one", "one", "three"]):   # builds 1 and 2 share c.txt
        write(site, "a.js", A_JS.replace("%d", str(n)))
        write(site, "c.txt", note)
        write(site, "keep.css", "body { color: red }\n" * 20)
        manifests.append(run(site))
    return manifests


def test_clean_keep_2_removes_exactly_what_only_the_oldest_build_used(site, capsys):
    first, second, third = three_builds(site)
    only_first = (history.manifest_paths(first) - history.manifest_paths(second)
                  - history.manifest_paths(third))
    expected = {p for p in only_first if p in versioned_files(site)}
    a_v1 = first["assets"]["a.js"]
    assert expected == {a_v1["path"], a_v1["encodings"]["gzip"]}
    before = versioned_files(site)

    assert main(["clean", "--config", str(site / "assetpipe.toml"), "--keep", "2",
                 "--min-age", "0"]) == 0
    assert versioned_files(site) == before - expected
    assert f"removed {a_v1['path']}" in capsys.readouterr().out
    assert_manifest_complete(site)


def test_dry_run_lists_and_removes_nothing(site, capsys):
    first, _, _ = three_builds(site)
    before = versioned_files(site)
    entries = os.listdir(history_dir(site))
    assert main(["clean", "--config", str(site / "assetpipe.toml"), "--keep", "2",
                 "--min-age", "0", "--dry-run"]) == 0
    assert f"would remove {first['assets']['a.js']['path']}" in capsys.readouterr().out
    assert versioned_files(site) == before
    assert os.listdir(history_dir(site)) == entries


def test_keep_0_still_keeps_everything_the_current_manifest_names(site):
    three_builds(site)
    main(["clean", "--config", str(site / "assetpipe.toml"), "--keep", "0", "--min-age", "0"])
    assert_manifest_complete(site)
    current = history.manifest_paths(json.loads((site / "out" / "manifest.json").read_text()))
    assert versioned_files(site) <= current


def test_min_age_keeps_recent_files_and_recently_replaced_builds(site):
    first, _, _ = three_builds(site)
    output = str(site / "out")
    assert plan_clean(output, state_dir(site), keep=1, min_age=3600).files == []
    # An hour later the older builds have been replaced for long enough.
    later = plan_clean(output, state_dir(site), keep=1, min_age=3600, now=time.time() + 7200)
    assert first["assets"]["a.js"]["path"] in later.files
    assert len(later.entries) == 2


def test_clean_drops_history_entries_it_no_longer_needs(site):
    three_builds(site)
    main(["clean", "--config", str(site / "assetpipe.toml"), "--keep", "2", "--min-age", "0"])
    assert len(history.entries(state_dir(site))) == 2


def test_unversioned_copies_stay(site):
    # A source named like a versioned file is refused by the build (see
    # test_adversarial.py, item 4), so every `.v<hex>` name in the output is the build's.
    three_builds(site)
    main(["clean", "--config", str(site / "assetpipe.toml"), "--keep", "0", "--min-age", "0"])
    for name in ("a.js", "c.txt"):
        assert (site / "out" / name).is_file(), name


def test_identical_builds_add_no_history_entry(site):
    write(site, "a.js", A_JS)
    run(site)
    os.utime(site / "static" / "a.js", ns=(1, 1))   # stat changes, bytes do not
    run(site)
    assert len(history.entries(state_dir(site))) == 1
    write(site, "a.js", A_JS.replace("%d", "7"))
    run(site)
    assert len(history.entries(state_dir(site))) == 2


def test_clean_without_an_output_folder_is_a_no_op(site, capsys):
    assert main(["clean", "--config", str(site / "assetpipe.toml")]) == 0
    assert "removed 0 file(s)" in capsys.readouterr().out


def assert_manifest_complete(site) -> None:
    manifest = json.loads((site / "out" / "manifest.json").read_text())
    for entry in manifest["assets"].values():
        for path in (entry["path"], *entry["encodings"].values()):
            assert (site / "out" / path).is_file(), path


def test_unreadable_current_manifest_stops_clean(site, capsys):
    three_builds(site)
    before = versioned_files(site)
    (site / "out" / "manifest.json").write_text("{ truncated")
    code = main(["clean", "--config", str(site / "assetpipe.toml"), "--keep", "0",
                 "--min-age", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert "manifest.json: cannot read the current manifest" in err
    assert versioned_files(site) == before
