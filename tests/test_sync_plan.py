"""The pure sync planner: plan, twins, index trust, history selection."""
from __future__ import annotations

from assetpipe.policy import IMMUTABLE_CACHE_CONTROL as IMMUTABLE
from assetpipe.sync_plan import (
    INDEX_KEY, LocalFile, RemoteObject, describe, history_key, history_keys,
    history_to_read, keys_to_head, object_meta, parse_index, plan_sync, render_index,
    trusted_hashes, twin_suffixes,
)

V = "css/site.v1a2b3c4d5e.css"


def local(key, size=10, sha="a" * 64):
    return LocalFile(key, "/x/" + key, size, None if ".v1a2" in key else sha,
                     object_meta(key, key, None, 300))


def test_versioned_keys_are_done_by_name_plain_keys_by_hash():
    files = [local(V), local("css/site.css"), local("manifest.json", sha="b" * 64)]
    remote = {V: RemoteObject(10, "e1"), "css/site.css": RemoteObject(10, "e2"),
              "manifest.json": RemoteObject(10, "e3")}
    plan = plan_sync(files, remote, {"css/site.css": "a" * 64, "manifest.json": "c" * 64})
    assert plan.skips == ["css/site.css", V]
    assert [[f.key for f in phase] for phase in plan.phases] == [[], [], ["manifest.json"]]


def test_size_mismatch_or_absence_uploads_in_phase_order():
    files = [local("manifest.json"), local("a.txt"), local(V)]
    plan = plan_sync(files, {V: RemoteObject(99, "e")}, {})
    assert [[f.key for f in phase] for phase in plan.phases] == [[V], ["a.txt"], ["manifest.json"]]


def test_index_entries_count_only_while_the_etag_matches():
    remote = {"a.txt": RemoteObject(10, "new"), "b.txt": RemoteObject(10, "same")}
    index = {"a.txt": {"sha256": "x", "etag": "old"}, "b.txt": {"sha256": "y", "etag": "same"}}
    known = trusted_hashes(index, remote)
    assert known == {"b.txt": "y"}
    assert keys_to_head([local("a.txt"), local("b.txt"), local(V)], remote, known) == ["a.txt"]


def test_prune_skips_unkept_versioned_files_and_deletes_them_remotely():
    old = "css/site.v0000000000.css"
    remote = {old: RemoteObject(1, "e"), old + ".gzip": RemoteObject(1, "e"),
              INDEX_KEY: RemoteObject(1, "e"), "css/site.css": RemoteObject(1, "e")}
    plan = plan_sync([local(old), local(V)], remote, {}, keep={V})
    assert [f.key for f in plan.uploads] == [V]
    assert plan.deletes == [old, old + ".gzip"]


def test_twins_take_the_original_type_and_gzip_in_place_swaps_the_body():
    keys = ["app.js", "app.js.gzip", "app.js.br", "logo.png", "notes.gz"]
    rows = {row[0]: row[1:] for row in describe(keys, {".gzip": "gzip", ".br": "br"}, False)}
    assert rows["app.js.br"] == ("app.js.br", "app.js", "br")
    assert rows["notes.gz"] == ("notes.gz", "notes.gz", None)
    in_place = {row[0]: row[1:] for row in describe(keys, {".gzip": "gzip"}, True)}
    assert in_place["app.js"] == ("app.js.gzip", "app.js", "gzip")
    assert in_place["logo.png"] == ("logo.png", "logo.png", None)
    meta = object_meta("app.v1a2b3c4d5e.js.br", "app.js", "br", 300)
    assert (meta.content_type, meta.cache_control, meta.content_encoding) == \
        ("text/javascript; charset=utf-8", IMMUTABLE, "br")


def test_twin_suffixes_come_from_the_manifest():
    manifest = {"assets": {"a.js": {"path": "a.v1a2b3c4d5e.js",
                                    "encodings": {"gzip": "a.v1a2b3c4d5e.js.gz"}}}}
    assert twin_suffixes(manifest) == {".gz": "gzip"}
    assert twin_suffixes(None)[".br"] == "br"


def test_history_selection_counts_the_current_manifest():
    keys: list[str] = []
    for i in range(1, 5):  # each machine's clock a day behind the last: order by sequence
        keys.append(history_key(keys, f"{i}" * 64, now=1.8e9 - i * 86400))
    newest_first = history_keys(keys + ["other.json", INDEX_KEY])
    assert newest_first == keys[::-1]
    assert history_to_read(newest_first, "9" * 64, 2) == [keys[3]]
    assert history_to_read(newest_first, "4" * 64, 2) == [keys[2]]


def test_index_round_trip_is_deterministic():
    objects = {"b": {"sha256": "1", "etag": "x"}, "a": {"sha256": "2", "etag": "y"}}
    assert render_index(objects) == render_index(dict(reversed(objects.items())))
    assert parse_index(render_index(objects)) == objects
    assert parse_index(b"not json") == {} and parse_index(None) == {}
