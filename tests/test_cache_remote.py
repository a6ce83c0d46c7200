"""The shared remote cache against a real moto_server: machine A pushes,
machine B (empty local folders) fetches; corrupt packs; a faulty endpoint;
shards warming side by side; prune.

Most tests build a small slice of the public corpus (leaflet's dist with its
images and stylesheet, d3-format, normalize.css, jquery-ui's base theme);
the A/B byte-identity test builds the whole corpus once per machine.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, build_dir, missing_tool, run_cli, write_config
from faultproxy import FaultProxy
from s3server import apply_dummy_credentials, moto_server, restore_env
from test_cache import KINDS as RESULT_KINDS
from test_cache import output_files

# With a remote, the reference scans travel too (the cache's "scan" kind).
KINDS = RESULT_KINDS + ("scan",)

# The fault tests' timeouts; the others allow for a machine loaded by other
# jobs (a fetch cut short there would be a flaky miss, not a wrong output).
TIMEOUT, BUDGET = 1, 3
CALM = (10, 60)
SLICE = ("leaflet/dist", "d3-format/dist", "normalize.css", "jquery-ui/themes/base")


@pytest.fixture(scope="module")
def s3():
    if shutil.which("moto_server") is None:
        missing_tool("moto_server is not installed (pip install 'moto[server]')")
    previous = apply_dummy_credentials()
    try:
        with moto_server() as url:
            yield url
    finally:
        restore_env(previous)


_buckets = iter(range(1000))


@pytest.fixture
def bucket(s3):
    import boto3
    name = f"cache-{next(_buckets)}"
    boto3.client("s3", endpoint_url=s3).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def corpus_slice(corpus_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("slice") / "static"
    for part in SLICE:
        shutil.copytree(corpus_dir / part, root / part)
    return root


def _config(folder: Path, source: Path, output: str, remote: str | None,
            endpoint: str = "", limits: tuple[int, int] = CALM) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    extra = "[compress]\nbrotli = true\n"
    if remote:
        extra += (f'[cache]\nremote = "{remote}"\nendpoint_url = "{endpoint}"\n'
                  f"timeout = {limits[0]}\nbudget = {limits[1]}\n")
    return write_config(folder, source=source, output=output, extra=extra, png_off=False,
                        name=f"{output}.toml")


def _computed(report) -> dict[str, int]:
    return {kind: report.cache[kind]["computed"] for kind in KINDS}


def _objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    import boto3
    client = boto3.client("s3", endpoint_url=endpoint)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def _put(endpoint: str, bucket: str, key: str, data: bytes) -> None:
    import boto3
    boto3.client("s3", endpoint_url=endpoint).put_object(Bucket=bucket, Key=key, Body=data)


def test_machine_b_gets_every_result_from_machine_a(s3, bucket, corpus_dir, tmp_path):
    remote = f"s3://{bucket}/ci"
    a = build_dir(_config(tmp_path / "a", corpus_dir, "out", remote, s3))
    assert not [w for w in a.warnings if "cache" in w]
    # Pushed once per distinct result: content that two files share is computed
    # twice when both workers reach it at once (counted twice), pushed once.
    # That nothing computed was left unpushed is what B shows: it computes nothing.
    assert 1000 < a.cache["remote"]["entries_pushed"] <= sum(_computed(a).values())
    b = build_dir(_config(tmp_path / "b", corpus_dir, "out", remote, s3))
    assert _computed(b) == {"png": 0, "min": 0, "gzip": 0, "br": 0, "scan": 0}
    for kind in KINDS:   # A's local hits: the same content twice in the corpus
        assert b.cache[kind]["remote"] == a.cache[kind]["computed"] + a.cache[kind]["local"]
    assert b.cache["png"]["remote"] > 600 and b.cache["br"]["remote"] > 1000
    assert b.cache["remote"]["entries_pushed"] == 0
    assert output_files(tmp_path / "b" / "out") == output_files(tmp_path / "a" / "out")


def _pushed_once(s3, bucket, corpus_slice, tmp_path) -> tuple[str, dict, str, dict]:
    """Machine A builds the slice; returns (remote, A's files, pack key, index)."""
    remote = f"s3://{bucket}/ci"
    build_dir(_config(tmp_path / "a", corpus_slice, "out", remote, s3))
    objects = _objects(s3, bucket)
    (index_key,) = [k for k in objects if k.endswith(".index")]
    return (remote, output_files(tmp_path / "a" / "out"),
            index_key.removesuffix(".index") + ".pack", json.loads(objects[index_key]))


def _png_entries(index: dict) -> list:
    return [e for e in index["entries"] if e[0].startswith("png-")]


def _damage_flip(s3, bucket, pack_key, index):
    pack = bytearray(_objects(s3, bucket)[pack_key])
    _key, offset, length, _tag = _png_entries(index)[0]
    pack[offset + length - 5] ^= 0x01
    _put(s3, bucket, pack_key, bytes(pack))
    return 1


def _damage_truncate(s3, bucket, pack_key, index):
    pack = _objects(s3, bucket)[pack_key]
    _put(s3, bucket, pack_key, pack[:len(pack) // 2])
    return sum(1 for e in index["entries"] if e[1] + e[2] > len(pack) // 2)


def _damage_foreign(s3, bucket, pack_key, index):
    """The index sends one PNG's key to another PNG's entry."""
    first, second = _png_entries(index)[:2]
    first[1], first[2] = second[1], second[2]
    _put(s3, bucket, pack_key.removesuffix(".pack") + ".index", json.dumps(index).encode())
    return 1


@pytest.mark.parametrize("damage", [_damage_flip, _damage_truncate, _damage_foreign],
                         ids=["flipped-byte", "truncated", "another-keys-content"])
def test_corrupt_remote_entries_never_reach_the_output(s3, bucket, corpus_slice, tmp_path, damage):
    remote, a_files, pack_key, index = _pushed_once(s3, bucket, corpus_slice, tmp_path)
    broken = damage(s3, bucket, pack_key, index)
    b = build_dir(_config(tmp_path / "b", corpus_slice, "out", remote, s3))
    assert b.cache["remote"]["rejected"] == broken
    assert sum(_computed(b).values()) == broken   # only those, computed here
    assert b.cache["remote"]["entries_pushed"] == broken   # and shared again
    assert any("corrupt or foreign entries ignored" in w for w in b.warnings)
    assert output_files(tmp_path / "b" / "out") == a_files
    # A third machine finds the good copy B pushed, beside the damaged pack.
    c = build_dir(_config(tmp_path / "c", corpus_slice, "out", remote, s3))
    assert sum(_computed(c).values()) == 0
    assert output_files(tmp_path / "c" / "out") == a_files


def _cli_build(cfg: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """`assetpipe build --json` in a subprocess: its exit status and report."""
    result = run_cli(["build", "--json", "--config", str(cfg)])
    return result, json.loads(result.stdout or "{}")


@pytest.fixture(scope="module")
def warm_store(s3, corpus_slice, tmp_path_factory):
    """A bucket holding the slice's results in four packs (four shards), and
    the slice built without any cache, for reference."""
    import boto3

    from assetpipe.build import warm
    from assetpipe.config import load_config
    boto3.client("s3", endpoint_url=s3).create_bucket(Bucket="warm")
    root = tmp_path_factory.mktemp("warm")
    for k in range(1, 5):
        warm(load_config(str(_config(root, corpus_slice, "out", "s3://warm/ci", s3))), (k, 4))
    build_dir(_config(root / "plain", corpus_slice, "out", None))
    return "s3://warm/ci", output_files(root / "plain" / "out")


@pytest.mark.parametrize(("rate", "faults"), [
    (0.1, ("500", "reset", "hang")), (0.3, ("500", "reset", "hang")),
    (0.5, ("500", "reset", "hang")), (1.0, ("hang",)), (1.0, ("reset",)),
])
def test_faulty_endpoint_never_fails_the_build(s3, warm_store, corpus_slice, tmp_path, rate,
                                               faults):
    remote, reference = warm_store
    with FaultProxy(s3, rate, faults) as proxy:
        result, report = _cli_build(_config(tmp_path, corpus_slice, "out", remote, proxy.url,
                                            (TIMEOUT, BUDGET)))
    assert result.returncode == 0, result.stderr
    assert sum(proxy.injected.values()) >= max(1, int(proxy.requests * rate))
    assert output_files(tmp_path / "out") == reference
    traffic = report["cache"]["remote"]
    # A fault the client's retry absorbed is no fault of the build's.
    warnings = [line for line in result.stderr.splitlines() if "remote cache" in line]
    assert len(warnings) == (1 if traffic["faults"] else 0), result.stderr
    hits = sum(report["cache"][k]["remote"] for k in KINDS)
    print(f"\nfault rate {rate} {faults}: injected {proxy.injected} in {proxy.requests} "
          f"requests; fetch {traffic['seconds_fetch']} s, push {traffic['seconds_push']} s; "
          f"remote hits {hits}, computed {sum(report['cache'][k]['computed'] for k in KINDS)}")
    # A phase stops when its budget passes without a request succeeding (a
    # request still under way is not waited for), so a dead store costs one
    # budget (plus importing boto3, a few seconds at most on a loaded
    # machine); a flaky one, about the time of its failed requests.
    spent = traffic["seconds_fetch"] + traffic["seconds_push"]
    assert spent <= (BUDGET + 3 if rate == 1.0 else 4 * BUDGET)
    if rate == 1.0:
        assert hits == 0 and traffic["unreachable"]


def test_four_shards_then_one_build_all_remote_hits(s3, bucket, corpus_slice, tmp_path):
    remote = f"s3://{bucket}/ci"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen(
        [sys.executable, "-m", "assetpipe", "build", "--json", "--shard", f"{k}/4", "--config",
         str(_config(tmp_path / f"shard{k}", corpus_slice, "out", remote, s3))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for k in range(1, 5)]
    shards = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        shards.append(json.loads(out))
    assert all(s["cache"]["remote"]["entries_pushed"] > 0 for s in shards), [
        (s["cache"], s["warnings"]) for s in shards]
    for k in range(1, 5):   # published nothing, kept no state
        assert sorted(p.name for p in (tmp_path / f"shard{k}").iterdir()) == ["out.toml"]
    final = build_dir(_config(tmp_path / "final", corpus_slice, "out", remote, s3))
    assert _computed(final) == {"png": 0, "min": 0, "gzip": 0, "br": 0, "scan": 0}
    assert all(final.cache[k]["local"] == 0 for k in KINDS)
    pushed = sum(s["cache"]["remote"]["entries_pushed"] for s in shards)
    assert sum(final.cache[k]["remote"] for k in KINDS) == pushed
    plain = tmp_path / "plain"
    build_dir(_config(plain, corpus_slice, "out", None))
    assert output_files(tmp_path / "final" / "out") == output_files(plain / "out")


def test_prune_deletes_packs_older_than_the_limit(s3, bucket, corpus_slice, tmp_path):
    remote = f"s3://{bucket}/ci"
    cfg = _config(tmp_path, corpus_slice, "out", remote, s3)
    build_dir(cfg)
    assert len(_objects(s3, bucket)) == 2   # one pack, one index
    kept = run_cli(["cache", "prune", "--older-than", "1", "--config", str(cfg)])
    assert kept.returncode == 0, kept.stderr
    assert "deleted 0 pack(s)" in kept.stdout and len(_objects(s3, bucket)) == 2
    dry = run_cli(["cache", "prune", "--older-than", "0", "--dry-run", "--config", str(cfg)])
    assert "would delete 1 pack(s)" in dry.stdout and len(_objects(s3, bucket)) == 2
    gone = run_cli(["cache", "prune", "--older-than", "0", "--config", str(cfg)])
    assert gone.returncode == 0, gone.stderr
    assert "deleted 1 pack(s)" in gone.stdout and _objects(s3, bucket) == {}


def test_shard_needs_a_remote_and_a_valid_k_of_n(tmp_path, corpus_slice):
    cfg = _config(tmp_path, corpus_slice, "out", None)
    for arg, message in (("1/4", "cache.remote"), ("5/4", "not K/N"), ("x", "not K/N")):
        result = run_cli(["build", "--shard", arg, "--config", str(cfg)])
        assert result.returncode == 2 and message in result.stderr, result.stderr
