"""`assetpipe sync` against a real S3-protocol server (moto_server) and a folder.

Every test builds a real output folder with `assetpipe.build.build` from the
small fixture site below, then syncs it; S3 tests go through a recording
proxy so they can count requests, check ordering and inject faults.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import uuid

import pytest
from PIL import Image

from assetpipe.build import build
from assetpipe.cli import main
from assetpipe.config import Sync, load_config
from assetpipe.policy import is_versioned
from assetpipe.sync import SyncOptions, run_sync
from s3server import RecordingProxy, apply_dummy_credentials, moto_server, restore_env
from conftest import missing_tool

pytestmark = pytest.mark.integration

IMMUTABLE = "public, max-age=31536000, immutable"
PREFIX = "site/static"
EXPECTED_TYPES = {
    "css/site.css": "text/css; charset=utf-8",
    "js/app.js": "text/javascript; charset=utf-8",
    "img/dot.png": "image/png",
    "img/icon.svg": "image/svg+xml; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
    "data/info.json": "application/json; charset=utf-8",
}


# --- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="session")
def s3_endpoint():
    previous = apply_dummy_credentials()
    try:
        with moto_server() as url:
            yield url
    except FileNotFoundError:
        missing_tool("moto_server is not installed: pip install 'moto[server]' "
                     "(set ASSETPIPE_ALLOW_SKIP=1 to skip the S3 integration tests)")
    finally:
        restore_env(previous)


@pytest.fixture
def bucket(s3_endpoint):
    """A fresh bucket per test; returns (client, name)."""
    import boto3
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    name = f"test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return client, name


@pytest.fixture
def proxy(s3_endpoint):
    with RecordingProxy(s3_endpoint) as p:
        yield p


@pytest.fixture
def site(tmp_path):
    """A fixture site (css, js, png, svg, html, json) and its config; built once."""
    src = tmp_path / "src"
    files = {
        "css/site.css": "body { background: url(../img/dot.png); color: #333; }\n" * 40,
        "js/app.js": "function greet(name) { return 'hello ' + name; }\ngreet('x');\n" * 40,
        "img/icon.svg": '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/>'
                        + "<!-- padding -->" * 40 + "</svg>\n",
        "index.html": "<!doctype html><title>home</title>" + "<p>hello world</p>" * 60,
        "about.html": "<!doctype html><title>about</title>" + "<p>about us</p>" * 60,
        "data/info.json": json.dumps({"items": list(range(300))}),
    }
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buf, "PNG")
    (src / "img" / "dot.png").write_bytes(buf.getvalue())
    config_path = tmp_path / "assetpipe.toml"
    config_path.write_text('source = "src"\noutput = "out"\n'
                           '[images]\npng = "off"\n[compress]\nbrotli = true\n')
    rebuild(config_path)
    return config_path


def rebuild(config_path) -> str:
    config = load_config(str(config_path))
    build(config, workers=1)
    return config.output


def sync(source, dest, endpoint=None, **kw) -> object:
    return run_sync(SyncOptions(source=str(source), dest=dest, endpoint_url=endpoint, jobs=4, **kw))


def local_tree(root) -> dict[str, bytes]:
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                path = os.path.join(folder, name)
                out[os.path.relpath(path, root).replace(os.sep, "/")] = open(path, "rb").read()
    return out


def rel_key(key: str) -> str:
    """A bucket key as sync names it: relative to PREFIX; the state (kept beside
    the public prefix, in `.assetpipe/<prefix>/`) as `.assetpipe/...`."""
    state = f".assetpipe/{PREFIX}/"
    return ".assetpipe/" + key[len(state):] if key.startswith(state) else key[len(PREFIX) + 1:]


def remote_tree(client, bucket, prefix=PREFIX) -> dict[str, bytes]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            key = obj["Key"][len(prefix) + 1:]
            out[key] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def assert_manifest_complete(client, bucket) -> None:
    """The bucket never holds a manifest naming a missing object."""
    tree = remote_tree(client, bucket)
    if "manifest.json" not in tree:
        return
    for entry in json.loads(tree["manifest.json"])["assets"].values():
        for path in [entry["path"], *entry["encodings"].values()]:
            assert path in tree, f"published manifest names missing {path}"


def output_of(config_path) -> str:
    return load_config(str(config_path)).output


# --- S3 -----------------------------------------------------------------------

def test_s3_objects_are_byte_identical_with_build_metadata(site, bucket, proxy):
    client, name = bucket
    out = output_of(site)
    report = sync(out, f"s3://{name}/{PREFIX}", proxy.url)
    local = local_tree(out)
    remote = remote_tree(client, name)
    assert {k: v for k, v in remote.items() if not k.startswith(".")} == local
    assert report.uploaded == len(local) and report.skipped == 0
    manifest = json.loads(local["manifest.json"])["assets"]
    for logical, ctype in EXPECTED_TYPES.items():
        entry = manifest[logical]
        for key, cache in ((entry["path"], IMMUTABLE), (logical, "public, max-age=300")):
            head = client.head_object(Bucket=name, Key=f"{PREFIX}/{key}")
            assert (head["ContentType"], head["CacheControl"]) == (ctype, cache), key
            assert "ContentEncoding" not in head
            assert len(head["Metadata"]["sha256"]) == 64
        for encoding, twin in entry["encodings"].items():
            head = client.head_object(Bucket=name, Key=f"{PREFIX}/{twin}")
            assert (head["ContentType"], head["CacheControl"], head["ContentEncoding"]) == \
                (ctype, IMMUTABLE, encoding)
            plain_twin = logical + twin[len(entry["path"]):]
            head = client.head_object(Bucket=name, Key=f"{PREFIX}/{plain_twin}")
            assert (head["ContentEncoding"], head["CacheControl"]) == (encoding, "public, max-age=300")
    assert set(manifest["css/site.css"]["encodings"]) == {"gzip", "br"}
    assert manifest["img/dot.png"]["encodings"] == {}
    head = client.head_object(Bucket=name, Key=f"{PREFIX}/manifest.json")
    assert head["CacheControl"] == "public, max-age=300"
    assert head["ContentType"] == "application/json; charset=utf-8"


def test_manifest_upload_starts_after_every_asset_finished(site, bucket, proxy):
    _, name = bucket
    sync(output_of(site), f"s3://{name}/{PREFIX}", proxy.url)
    puts = proxy.ops("put")
    manifest_put = next(r for r in puts if r.key == f"{PREFIX}/manifest.json")
    assets = [r for r in puts if r.key.startswith(f"{PREFIX}/")
              and not r.key.startswith((f"{PREFIX}/.", f"{PREFIX}/manifest.json"))]
    assert assets and manifest_put.start >= max(r.end for r in assets)
    versioned = [r for r in assets if is_versioned(r.key)]
    plain = [r for r in assets if not is_versioned(r.key)]
    assert min(r.start for r in plain) >= max(r.end for r in versioned)


def test_second_sync_issues_no_put_and_one_listing(site, bucket, proxy):
    _, name = bucket
    out = output_of(site)
    sync(out, f"s3://{name}/{PREFIX}", proxy.url)
    proxy.reset()
    report = sync(out, f"s3://{name}/{PREFIX}", proxy.url)
    counts = proxy.counts()
    assert report.uploaded == 0 and report.skipped == len(local_tree(out))
    assert counts.get("put", 0) == 0 and counts.get("head", 0) == 0
    # One listing page of the public prefix, one of the state beside it, the index.
    assert counts == {"list": 2, "get": 1}


def test_editing_one_html_file_reuploads_only_what_it_changed(site, bucket, proxy):
    _, name = bucket
    out = output_of(site)
    sync(out, f"s3://{name}/{PREFIX}", proxy.url)
    page = site.parent / "src" / "index.html"
    page.write_text(page.read_text() + "<p>new paragraph</p>")
    rebuild(site)
    proxy.reset()
    sync(out, f"s3://{name}/{PREFIX}", proxy.url)
    keys = {rel_key(r.key) for r in proxy.ops("put")}
    entry = json.loads(open(os.path.join(out, "manifest.json"), "rb").read())["assets"]["index.html"]
    derived = {entry["path"], *entry["encodings"].values(), "index.html",
               *("index.html" + twin[len(entry["path"]):] for twin in entry["encodings"].values())}
    state = {k for k in keys if k.startswith(".assetpipe/")}
    assert keys - state == derived | {"manifest.json"}
    assert state <= {".assetpipe/index.json"} | {k for k in state if k.startswith(".assetpipe/manifests/")}


def test_prune_keeps_the_newest_n_builds(site, bucket, proxy):
    client, name = bucket
    out = output_of(site)
    css = site.parent / "src" / "css" / "site.css"
    versions = [json.loads(open(os.path.join(out, "manifest.json"), "rb").read())]  # never synced
    for i in range(3):
        css.write_text(css.read_text() + f"/* build {i} */ p {{ margin: {i}px; }}\n")
        rebuild(site)
        versions.append(json.loads(open(os.path.join(out, "manifest.json"), "rb").read()))
        sync(out, f"s3://{name}/{PREFIX}", proxy.url)
    css_paths = [v["assets"]["css/site.css"]["path"] for v in versions]
    assert all(p in remote_tree(client, name) for p in css_paths)

    with pytest.raises(Exception, match="more than --max-delete 1"):
        sync(out, f"s3://{name}/{PREFIX}", proxy.url, keep=2, max_delete=1)
    assert css_paths[0] in remote_tree(client, name)  # the brake changed nothing

    report = sync(out, f"s3://{name}/{PREFIX}", proxy.url, keep=2)
    tree = remote_tree(client, name)
    gone = [v["assets"]["css/site.css"] for v in versions[:2]]
    assert report.deleted == sum(1 + len(old["encodings"]) for old in gone)
    for old in gone:
        assert old["path"] not in tree and not any(t in tree for t in old["encodings"].values())
    assert css_paths[2] in tree and css_paths[3] in tree
    assert_manifest_complete(client, name)
    proxy.reset()
    again = sync(out, f"s3://{name}/{PREFIX}", proxy.url, keep=2)
    assert again.uploaded == again.deleted == 0 and not proxy.ops("put")


def test_gzip_in_place_uploads_gzip_bytes_under_the_plain_key(site, bucket, proxy):
    client, name = bucket
    out = output_of(site)
    sync(out, f"s3://{name}/{PREFIX}", proxy.url, settings=Sync(gzip_in_place=True))
    entry = json.loads(open(os.path.join(out, "manifest.json"), "rb").read())["assets"]["js/app.js"]
    obj = client.get_object(Bucket=name, Key=f"{PREFIX}/{entry['path']}")
    assert obj["ContentEncoding"] == "gzip"
    assert obj["ContentType"] == "text/javascript; charset=utf-8"
    raw = obj["Body"].read()
    assert raw == open(os.path.join(out, entry["encodings"]["gzip"]), "rb").read()
    assert gzip.decompress(raw) == open(os.path.join(out, entry["path"]), "rb").read()
    head = client.head_object(Bucket=name, Key=f"{PREFIX}/img/dot.png")
    assert "ContentEncoding" not in head


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_complete_through_retries_or_stop_before_the_manifest(site, bucket, s3_endpoint, seed):
    client, name = bucket
    out = output_of(site)
    dest = f"s3://{name}/{PREFIX}"
    outcomes = []
    with RecordingProxy(s3_endpoint, fail_rate=0.1, seed=seed) as faulty:
        for _ in range(5):
            try:
                sync(out, dest, faulty.url)
                outcomes.append("ok")
                break
            except Exception as exc:
                assert "s3://" in str(exc)   # names the object
                outcomes.append("failed")
            assert_manifest_complete(client, name)
        assert outcomes[-1] == "ok"
        assert sum(1 for r in faulty.records if r.fault) > 0  # faults happened
    assert_manifest_complete(client, name)
    assert {k: v for k, v in remote_tree(client, name).items() if not k.startswith(".")} \
        == local_tree(out)


def test_failure_without_retries_exits_1_and_a_rerun_uploads_nothing_twice(
        site, bucket, s3_endpoint, proxy, capsys):
    client, name = bucket
    config = site.read_text() + "[sync]\nmax_attempts = 1\n"
    site.write_text(config)
    dest = f"s3://{name}/{PREFIX}"
    with RecordingProxy(s3_endpoint, fail_rate=0.1, seed=7) as faulty:
        status = main(["sync", dest, "--config", str(site), "--endpoint-url", faulty.url])
        stored = {r.key for r in faulty.ops("put") if r.reached_server}
    assert status == 1
    assert f"s3://{name}/{PREFIX}/" in capsys.readouterr().err
    assert "manifest.json" not in remote_tree(client, name)
    status = main(["sync", dest, "--config", str(site), "--endpoint-url", proxy.url])
    assert status == 0
    reput = {r.key for r in proxy.ops("put")} & stored
    assert {k for k in reput if not rel_key(k).startswith(".")} == set()
    assert_manifest_complete(client, name)
    assert {k: v for k, v in remote_tree(client, name).items() if not k.startswith(".")} \
        == local_tree(output_of(site))


def test_main_sync_s3_dry_run_and_json(site, bucket, proxy, capsys):
    client, name = bucket
    dest = f"s3://{name}/{PREFIX}"
    args = ["sync", dest, "--config", str(site), "--endpoint-url", proxy.url]
    assert main(args + ["--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "upload manifest.json" in printed and "nothing was changed" in printed
    assert remote_tree(client, name) == {} and not proxy.ops("put")
    assert main(args + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["uploaded"] == len(local_tree(output_of(site))) and report["skipped"] == 0
    assert main(args + ["--json", "--dry-run"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["uploads"] == [] and again["dry_run"] is True


def test_bad_usage_exits_2(site, capsys):
    assert main(["sync", "s3://bucket/x", "--config", str(site), "--prune"]) == 2
    assert main(["sync", "ftp://host/x", "--config", str(site)]) == 2
    assert main(["sync", str(site.parent / "d"), "--config", str(site),
                 "--endpoint-url", "http://127.0.0.1:9"]) == 2
    capsys.readouterr()


# --- local folder ---------------------------------------------------------------

def stat_tree(root) -> dict[str, tuple[int, int]]:
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            st = os.stat(os.path.join(folder, name))
            out[os.path.join(folder, name)] = (st.st_ino, st.st_mtime_ns)
    return out


def test_folder_target_is_identical_and_a_second_sync_rewrites_nothing(site, tmp_path):
    out, dest = output_of(site), tmp_path / "published"
    first = sync(out, str(dest))
    assert local_tree(dest) == local_tree(out) and first.uploaded == len(local_tree(out))
    assert not any(n.startswith(".assetpipe-tmp") for n in os.listdir(dest))
    before = stat_tree(dest)
    second = sync(out, str(dest))
    assert second.uploaded == 0 and stat_tree(dest) == before


def test_folder_target_writes_the_manifest_last(site, tmp_path):
    out, dest = output_of(site), tmp_path / "published"
    sync(out, str(dest))
    manifest_mtime = os.stat(dest / "manifest.json").st_mtime_ns
    assets = [p for p in stat_tree(dest) if "/.assetpipe/" not in p and not p.endswith("manifest.json")]
    assert manifest_mtime >= max(os.stat(p).st_mtime_ns for p in assets)


def test_folder_failure_stops_before_the_manifest_and_a_rerun_completes(site, tmp_path, capsys):
    out, dest = output_of(site), tmp_path / "published"
    path = json.loads(open(os.path.join(out, "manifest.json"), "rb").read())["assets"]["js/app.js"]["path"]
    blocker = dest / path
    blocker.mkdir(parents=True)            # a folder where the file must go: the write fails
    assert main(["sync", str(dest), "--source", out]) == 1
    assert path in capsys.readouterr().err
    assert not (dest / "manifest.json").exists()
    blocker.rmdir()
    assert main(["sync", str(dest), "--source", out, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert path in report["uploads"] and "manifest.json" in report["uploads"]
    assert local_tree(dest) == local_tree(out)


def test_main_sync_folder_dry_run_changes_nothing(site, tmp_path, capsys):
    out, dest = output_of(site), tmp_path / "published"
    assert main(["sync", str(dest), "--source", out, "--dry-run"]) == 0
    assert "upload manifest.json" in capsys.readouterr().out
    assert not dest.exists()
    assert main(["sync", str(dest), "--config", str(site)]) == 0
    assert "uploaded" in capsys.readouterr().out
    assert main(["sync", str(dest / "inside"), "--source", str(dest)]) == 2
