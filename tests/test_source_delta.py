"""assetpipe.source_delta: the sources that changed since the stored state,
found by comparing one digest per run of paths -- exactly the set a
comparison of every stored stat finds, whatever the change."""
from __future__ import annotations

import os
import random

from conftest import write_tree

from assetpipe.source_delta import source_delta
from assetpipe.sources import scan
from assetpipe.store import open_store

NAMES = ["a.js", "a", "a.b", "b.css", "m.txt", "z.svg", "é.js", "a-b", "a0"]


def brute_force(before: dict, after: dict) -> tuple[set, set]:
    stat = {k: v[2:] for k, v in before.items()}
    changed = {k for k, v in after.items() if stat.get(k) != v[2:]}
    return changed, before.keys() - after.keys()


def mutate(rng: random.Random, static) -> None:
    """A few random changes: files edited, touched, added or removed, folders
    added or removed (in the middle of a folder's names, or first, or last)."""
    for _ in range(rng.randrange(1, 4)):
        files = sorted(p for p in static.rglob("*") if p.is_file())
        kind = rng.choice(["edit", "touch", "add", "remove", "add-folder", "remove-folder",
                           "link"])
        if kind in ("edit", "touch", "remove") and files:
            path = rng.choice(files)
            if kind == "edit":
                path.write_text(path.read_text() + "x")
            elif kind == "touch":
                os.utime(path, ns=(rng.randrange(10**18), rng.randrange(10**18)))
            else:
                path.unlink()
        elif kind == "link" and files:   # a link to a file: a run of its own in the walk
            target = rng.choice(files)
            link = target.parent / (rng.choice(NAMES) + ".lnk")
            if not link.exists() and not link.is_symlink():
                link.symlink_to(target.name)
        elif kind == "remove-folder":
            folders = sorted(p for p in static.rglob("*") if p.is_dir())
            if folders:
                for path in sorted(rng.choice(folders).rglob("*"), reverse=True):
                    path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
        else:
            folder = static / rng.choice(["", "x", "x/y", "a.b", "c", "x/y/a", "a"])
            name = rng.choice(NAMES) + (f"/{rng.choice(NAMES)}" if kind == "add-folder" else "")
            target = folder / name
            if not any(p.is_file() for p in [*target.parents, target][:-1]) and not target.is_dir():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(str(rng.random()))


def test_the_digested_delta_is_what_comparing_every_stat_finds(tmp_path):
    rng = random.Random(20261130)
    static = write_tree(tmp_path / "static", {
        f"{folder}{name}": name for folder in ("", "x/", "x/y/", "c/") for name in NAMES[:5]})
    store = open_store(str(tmp_path / "state.db"))
    before: dict = {}
    try:
        for step in range(60):
            found = scan(str(static))
            sources = found.files()
            store.begin()
            delta = source_delta(store, found, sources)
            assert (delta.changed, delta.gone) == brute_force(before, sources), f"step {step}"
            store.put_sources((name, *delta.stats[name]) for name in delta.changed)
            store.delete("sources", delta.gone)
            store.set_runs(delta.new_runs, delta.old_runs)
            store.commit()
            before = sources
            mutate(rng, static)
    finally:
        store.close()


def test_an_unchanged_site_reads_no_stored_stat(tmp_path):
    static = write_tree(tmp_path / "static", {f"d{n // 10}/f{n}.js": "x" for n in range(100)})
    store = open_store(str(tmp_path / "state.db"))
    try:
        found = scan(str(static))
        delta = source_delta(store, found, found.files())
        store.put_sources((name, *delta.stats[name]) for name in delta.changed)
        store.set_runs(delta.new_runs, delta.old_runs)
        assert len(delta.changed) == 100 and len(delta.new_runs) == 10
        (static / "d4/f42.js").write_text("edited")
        read = []
        real = store.source_stats
        store.source_stats = lambda low, high: read.extend(real(low, high)) or set(read)
        found = scan(str(static))
        delta = source_delta(store, found, found.files())
        assert delta.changed == {"d4/f42.js"} and delta.gone == set()
        assert {row[0] for row in read} == {f"d4/f{n}.js" for n in range(40, 50)}
    finally:
        store.close()
