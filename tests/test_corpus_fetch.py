"""The corpus fetcher (tests/corpus/fetch.py) against a local file:// registry:
no network, real tarballs, real integrity strings."""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

FETCH_PY = Path(__file__).resolve().parent / "corpus" / "fetch.py"
_spec = importlib.util.spec_from_file_location("corpus_fetch", FETCH_PY)
assert _spec and _spec.loader
fetch = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fetch  # dataclasses look their module up there
_spec.loader.exec_module(fetch)


def make_tarball(files: dict[str, bytes], top: str = "package") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def publish(registry: Path, name: str, version: str, data: bytes) -> Path:
    """Put a tarball where an npm registry serves it: NAME/-/NAME-VERSION.tgz."""
    path = registry / name / "-" / f"{name.rsplit('/', 1)[-1]}-{version}.tgz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def registry(tmp_path):
    folder = tmp_path / "registry"
    folder.mkdir()
    return folder


def run_fetch(target: Path, packages, registry: Path, logs: list[str] | None = None):
    log = logs.append if logs is not None else (lambda _m: None)
    return fetch.fetch(target, packages, registry.as_uri(), log)


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for folder in (target, target / ".cache") if folder.is_dir()
                  for p in folder.iterdir() if p.name.startswith(fetch.TMP_PREFIXES))


def test_fetch_unpacks_the_package_folder_with_a_stamp_and_caches_the_tarball(tmp_path, registry):
    data = make_tarball({"index.js": b"export default 1;\n", "src/a.js": b"a\n"})
    publish(registry, "fake", "1.0.0", data)
    package = fetch.Package("fake", "1.0.0", integrity(data))
    target = tmp_path / "corpus"
    assert run_fetch(target, [package], registry) == ["fake"]
    assert (target / "fake" / "index.js").read_bytes() == b"export default 1;\n"
    assert (target / "fake" / "src" / "a.js").read_bytes() == b"a\n"
    assert (target / "fake" / "index.js").stat().st_mode & 0o644 == 0o644
    assert (target / "fake" / fetch.STAMP).read_text() == package.stamp
    assert (target / ".cache" / "fake-1.0.0.tgz").read_bytes() == data
    assert leftovers(target) == []


def test_rerun_is_a_no_op_that_downloads_nothing(tmp_path, registry):
    data = make_tarball({"index.js": b"1\n"})
    served = publish(registry, "fake", "1.0.0", data)
    package = fetch.Package("fake", "1.0.0", integrity(data))
    target = tmp_path / "corpus"
    run_fetch(target, [package], registry)
    served.unlink()  # any download attempt would now fail
    before = (target / "fake" / "index.js").stat().st_ino
    logs: list[str] = []
    assert run_fetch(target, [package], registry, logs) == []
    assert logs == []
    assert (target / "fake" / "index.js").stat().st_ino == before


def test_integrity_mismatch_is_a_clear_error_and_nothing_is_unpacked(tmp_path, registry):
    publish(registry, "fake", "1.0.0", make_tarball({"index.js": b"tampered\n"}))
    pinned = integrity(make_tarball({"index.js": b"original\n"}))
    target = tmp_path / "corpus"
    with pytest.raises(fetch.CorpusError) as caught:
        run_fetch(target, [fetch.Package("fake", "1.0.0", pinned)], registry)
    message = str(caught.value)
    assert "integrity mismatch for fake@1.0.0" in message and pinned in message
    assert not (target / "fake").exists()
    assert not (target / ".cache" / "fake-1.0.0.tgz").exists()
    assert leftovers(target) == []


def test_the_command_reports_a_mismatch_in_one_line_with_exit_1(tmp_path, registry):
    publish(registry, "fake", "1.0.0", make_tarball({"index.js": b"tampered\n"}))
    listing = tmp_path / "packages.txt"
    listing.write_text(f"fake 1.0.0 {integrity(b'other')}\n")
    done = subprocess.run([sys.executable, str(FETCH_PY), str(tmp_path / "corpus"),
                           "--registry", registry.as_uri(), "--packages", str(listing)],
                          capture_output=True, text=True)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("corpus fetch failed: integrity mismatch for fake@1.0.0")
    assert "Traceback" not in done.stderr


def test_a_new_pin_replaces_the_folder_and_a_corrupt_cached_tarball_is_fetched_again(
        tmp_path, registry):
    old = make_tarball({"old.js": b"old\n"})
    new = make_tarball({"new.js": b"new\n"})
    publish(registry, "fake", "1.0.0", old)
    publish(registry, "fake", "2.0.0", new)
    target = tmp_path / "corpus"
    run_fetch(target, [fetch.Package("fake", "1.0.0", integrity(old))], registry)
    (target / ".cache" / "fake-2.0.0.tgz").write_bytes(b"truncated")
    assert run_fetch(target, [fetch.Package("fake", "2.0.0", integrity(new))], registry) == ["fake"]
    assert sorted(p.name for p in (target / "fake").iterdir()) == [fetch.STAMP, "new.js"]
    assert (target / ".cache" / "fake-2.0.0.tgz").read_bytes() == new
    assert leftovers(target) == []


def test_temporaries_of_a_killed_fetch_are_swept(tmp_path, registry):
    data = make_tarball({"index.js": b"1\n"})
    publish(registry, "fake", "1.0.0", data)
    target = tmp_path / "corpus"
    (target / ".cache").mkdir(parents=True)
    (target / ".unpack-fake-x1").mkdir()
    (target / ".unpack-fake-x1" / "half.js").write_text("half")
    (target / ".cache" / ".download-x2").write_bytes(b"partial")
    run_fetch(target, [fetch.Package("fake", "1.0.0", integrity(data))], registry)
    assert leftovers(target) == []
    assert (target / "fake" / "index.js").is_file()


def test_a_member_escaping_the_folder_is_refused(tmp_path, registry):
    data = make_tarball({"package/ok.js": b"1\n", "package/../../escaped.js": b"x\n"}, top="")
    publish(registry, "fake", "1.0.0", data)
    target = tmp_path / "corpus"
    with pytest.raises(tarfile.TarError):
        run_fetch(target, [fetch.Package("fake", "1.0.0", integrity(data))], registry)
    assert not list(tmp_path.rglob("escaped.js"))
    assert not (target / "fake").exists()
    assert leftovers(target) == []


def test_emoji_slice_keeps_every_tenth_64px_image_and_two_sheets(tmp_path):
    root = tmp_path / "emoji"
    names = [f"{i:04x}.png" for i in range(25)]
    for name in names:
        (root / "img/t/64").mkdir(parents=True, exist_ok=True)
        (root / "img/t/64" / name).write_bytes(b"png")
    for sheet in ("sheets/16.png", "sheets/32.png", "sheets-256/20.png", "sheets-clean/16.png"):
        (root / "img/t" / sheet).parent.mkdir(parents=True, exist_ok=True)
        (root / "img/t" / sheet).write_bytes(b"png")
    (root / "emoji.json").write_text("{}")
    fetch.RULES["emoji-slice"](root)
    kept = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert kept == ["img/t/64/0000.png", "img/t/64/000a.png", "img/t/64/0014.png",
                    "img/t/sheets-256/20.png", "img/t/sheets/16.png"]
    assert not (root / "img/t/sheets-clean").exists()


def test_the_pinned_list_parses_and_holds_the_es_module_packages():
    packages = {p.name: p for p in fetch.read_packages(fetch.PACKAGES)}
    for name in ("jquery", "lodash-es", "preact", "d3-array", "d3-scale", "d3-time"):
        assert name in packages
    assert all(p.integrity.startswith("sha512-") and len(p.integrity) == 95
               for p in packages.values())
    assert packages["emoji-datasource-twitter"].rule == "emoji-slice"


def test_a_bad_line_in_the_list_names_file_and_line(tmp_path):
    listing = tmp_path / "packages.txt"
    listing.write_text("# comment\nfake 1.0.0 sha512-x\nbroken 1.0\n")
    with pytest.raises(fetch.CorpusError, match=r"packages\.txt:3: expected"):
        fetch.read_packages(listing)
    listing.write_text("fake 1.0.0 sha512-x slice-of-cake\n")
    with pytest.raises(fetch.CorpusError, match=r"packages\.txt:1: unknown rule 'slice-of-cake'"):
        fetch.read_packages(listing)
