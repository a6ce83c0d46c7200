"""The "git" versioning strategy, the manifest's git fields and `build --ref`,
on real temporary repositories."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from assetpipe.build import build
from assetpipe.cli import main
from assetpipe.config import load_config
from assetpipe.gitversion import git_version
from assetpipe.naming import content_version

CONFIG = """\
source = "static"
output = "../out"

[[bundle]]
name = "js/all.js"
files = ["js/a.js", "js/b.js"]

[versioning]
strategy = "{strategy}"

[images]
png = "off"
"""
FILES = {
    "js/a.js": "var a = 1;\n",
    "js/b.js": "var b = 2;\n",
    "css/site.css": "body { background: url(../img/bg.png) }\n",
    "img/bg.png": "not really a png, version 1\n",
    "txt/readme.txt": "hello\n",
}


def git(repo, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
                           *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def write(repo, logical: str, text: str) -> None:
    path = repo / "static" / logical
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def commit(repo, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(path, strategy: str = "git"):
    path.mkdir()
    git(path, "init", "-q")
    (path / "assetpipe.toml").write_text(CONFIG.format(strategy=strategy))
    for logical, text in FILES.items():
        write(path, logical, text)
    commit(path, "initial")
    return path


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def run(repo):
    """Build; returns (logical -> versioned path, manifest, report)."""
    config = load_config(str(repo / "assetpipe.toml"))
    report = build(config, workers=1)
    manifest = json.loads((repo.parent / "out" / "manifest.json").read_text())
    return {k: v["path"] for k, v in manifest["assets"].items()}, manifest, report


def changed(before: dict, after: dict) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


def test_committed_change_reversions_only_that_file_and_its_bundles(repo):
    first, _, _ = run(repo)
    write(repo, "js/a.js", "var a = 10;\n")
    commit(repo)
    second, _, _ = run(repo)
    assert changed(first, second) == {"js/a.js", "js/all.js"}


def test_committed_change_to_a_referenced_file_reversions_the_css(repo):
    first, _, _ = run(repo)
    write(repo, "img/bg.png", "not really a png, version 2\n")
    commit(repo)
    second, _, _ = run(repo)
    assert changed(first, second) == {"img/bg.png", "css/site.css"}
    css = (repo.parent / "out" / second["css/site.css"]).read_text()
    assert os.path.basename(second["img/bg.png"]) in css


def test_a_commit_that_touches_a_file_reversions_it_even_with_equal_bytes(repo):
    first, _, _ = run(repo)
    write(repo, "txt/readme.txt", "changed\n")
    commit(repo)
    write(repo, "txt/readme.txt", FILES["txt/readme.txt"])
    commit(repo, "revert")
    second, _, _ = run(repo)
    assert changed(first, second) == {"txt/readme.txt"}


def test_the_same_history_built_elsewhere_keeps_every_url(repo, tmp_path):
    first, _, _ = run(repo)
    (tmp_path / "elsewhere").mkdir()
    clone = tmp_path / "elsewhere" / "repo"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    again, _, _ = run(clone)
    assert again == first


def test_uncommitted_change_never_keeps_the_committed_version(repo):
    first, _, _ = run(repo)
    write(repo, "js/a.js", "var a = 10;\n")
    second, manifest, report = run(repo)
    assert changed(first, second) == {"js/a.js", "js/all.js"}
    content = (repo.parent / "out" / second["js/a.js"]).read_bytes()
    assert second["js/a.js"] == f"js/a.v{content_version(content, 10)}.js"
    assert manifest["build"]["git_dirty"] is True
    assert [w for w in report.warnings if "js/a.js" in w and "uncommitted" in w]


def test_a_shallow_clone_warns(repo, tmp_path):
    write(repo, "js/a.js", "var a = 10;\n")
    commit(repo)
    (tmp_path / "ci").mkdir()
    clone = tmp_path / "ci" / "repo"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    _, _, report = run(clone)
    assert [w for w in report.warnings if "shallow clone" in w]


def test_staged_or_untracked_files_use_the_content_hash(repo):
    run(repo)
    write(repo, "js/new.js", "var n = 1;\n")
    write(repo, "js/b.js", "var b = 20;\n")
    git(repo, "add", "static/js/b.js")
    paths, _, report = run(repo)
    out = repo.parent / "out"
    for logical in ("js/new.js", "js/b.js"):
        content = (out / paths[logical]).read_bytes()
        assert paths[logical] == logical.replace(".js", f".v{content_version(content, 10)}.js")
    assert len(report.warnings) == 1 and "2 file(s)" in report.warnings[0]


def test_committing_a_dirty_file_switches_it_to_its_commit_version(repo):
    run(repo)
    write(repo, "js/a.js", "var a = 10;\n")
    dirty, _, _ = run(repo)
    commit(repo)                     # no source file's stat changes
    clean, manifest, report = run(repo)
    assert not report.noop
    assert changed(dirty, clean) == {"js/a.js", "js/all.js"}
    assert manifest["build"]["git_dirty"] is False and report.warnings == []


def test_manifest_records_commit_dirty_and_describe(repo):
    head = git(repo, "rev-parse", "HEAD").strip()
    _, manifest, _ = run(repo)
    assert manifest["build"] == {"git_commit": head, "git_dirty": False, "git_describe": None}
    git(repo, "tag", "v1.0")
    _, manifest, _ = run(repo)
    assert manifest["build"]["git_describe"] == "v1.0"
    write(repo, "txt/readme.txt", "more\n")
    head = commit(repo)
    _, manifest, _ = run(repo)
    assert manifest["build"]["git_commit"] == head
    assert manifest["build"]["git_describe"] == f"v1.0-1-g{head[:7]}"


@pytest.mark.parametrize("strategy", ["hash", "mtime"])
def test_every_strategy_records_the_commit(tmp_path, strategy):
    repo = make_repo(tmp_path / "repo", strategy)
    _, manifest, _ = run(repo)
    assert manifest["build"]["git_commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert manifest["build"]["git_dirty"] is False


def test_hash_strategy_outside_a_repository_records_null(tmp_path):
    repo = make_repo(tmp_path / "repo", "hash")
    (repo / ".git").rename(repo / "not-git")
    _, manifest, _ = run(repo)
    assert manifest["build"] == {"git_commit": None, "git_dirty": False, "git_describe": None}


def test_git_strategy_outside_a_repository_exits_2(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo")
    (repo / ".git").rename(repo / "not-git")
    assert main(["build", "--config", str(repo / "assetpipe.toml")]) == 2
    assert "not in a git repository" in capsys.readouterr().err


def test_build_ref_builds_the_tagged_content_without_touching_the_work_tree(repo, capsys):
    tagged = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "tag", "v1.0")
    write(repo, "js/a.js", "var a = 'after the tag';\n")
    commit(repo)
    write(repo, "js/b.js", "var b = 'uncommitted';\n")    # a dirty work tree
    write(repo, "js/untracked.js", "var u;\n")
    status = git(repo, "status", "--porcelain")
    worktrees = git(repo, "worktree", "list")
    state = load_config(str(repo / "assetpipe.toml")).state_dir   # beside the config, git-ignored
    files = {p: p.read_bytes() for p in repo.rglob("*")
             if p.is_file() and ".git" not in p.parts and not p.is_relative_to(state)}

    assert main(["build", "--config", str(repo / "assetpipe.toml"), "--ref", "v1.0", "-q"]) == 0
    manifest = json.loads((repo.parent / "out" / "manifest.json").read_text())
    assert manifest["build"] == {"git_commit": tagged, "git_dirty": False, "git_describe": "v1.0"}
    assert "js/untracked.js" not in manifest["assets"]
    out = repo.parent / "out"
    assert (out / manifest["assets"]["js/a.js"]["path"]).read_text() == "var a=1;"
    assert (out / manifest["assets"]["js/b.js"]["path"]).read_text() == "var b=2;"
    assert git(repo, "status", "--porcelain") == status
    assert git(repo, "worktree", "list") == worktrees
    assert {p: p.read_bytes() for p in repo.rglob("*")
            if p.is_file() and ".git" not in p.parts and not p.is_relative_to(state)} == files


def test_build_ref_gives_the_urls_the_tagged_build_had(repo):
    at_tag, _, _ = run(repo)
    git(repo, "tag", "v1.0")
    write(repo, "js/a.js", "var a = 2;\n")
    commit(repo)
    run(repo)
    assert main(["build", "--config", str(repo / "assetpipe.toml"), "--ref", "v1.0", "-q"]) == 0
    manifest = json.loads((repo.parent / "out" / "manifest.json").read_text())
    assert {k: v["path"] for k, v in manifest["assets"].items()} == at_tag


def test_build_ref_errors_exit_2(repo, tmp_path, capsys):
    config = str(repo / "assetpipe.toml")
    assert main(["build", "--config", config, "--ref", "no-such-tag"]) == 2
    assert "'no-such-tag' is not a commit" in capsys.readouterr().err
    plain = make_repo(tmp_path / "plain", "hash")
    (plain / ".git").rename(plain / "not-git")
    assert main(["build", "--config", str(plain / "assetpipe.toml"), "--ref", "v1"]) == 2
    assert "not in a git repository" in capsys.readouterr().err


def test_git_version_falls_back_to_the_content_hash_without_a_commit():
    assert git_version(None, b"x", 10) == content_version(b"x", 10)
    assert git_version("a" * 40, b"x", 10) != content_version(b"x", 10)
    assert git_version("a" * 40, b"x", 10) != git_version("b" * 40, b"x", 10)
    assert git_version("a" * 40, b"x", 10) != git_version("a" * 40, b"y", 10)


def test_rebuild_after_a_commit_is_a_noop(repo):
    # `git status` must not refresh the index behind the fingerprint's back.
    run(repo)
    write(repo, "js/a.js", "var a = 3;\n")
    commit(repo)
    assert run(repo)[2].noop is False
    assert run(repo)[2].noop is True


def test_a_new_tag_reaches_the_manifest(repo):
    run(repo)
    git(repo, "tag", "v2.0")
    report = run(repo)[2]
    assert report.noop is False
    assert run(repo)[1]["build"]["git_describe"] == "v2.0"
