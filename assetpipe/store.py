"""The build state as a SQLite database: one row per file, updated, not rewritten.

A one-file edit on a 100,000-file site must not re-serialise the whole
site's state (a JSON state file was 10 MB at 20,000 files, written again for
one changed byte).  Here each source's stat, each output's Built record and
manifest fragment, each file's scanned links and each reference edge is a
row; a build reads the rows of what changed and what depends on it, and
writes them in ONE transaction: a build killed mid-write leaves the previous
state whole (SQLite's journal), and a corrupt or unreadable database is
deleted and rebuilt from scratch, never in the way of a build.

WAL mode with synchronous=NORMAL: a process kill never loses a committed
transaction; only a power cut may lose the last one, which the next build
redoes (the state is a cache: losing it costs time, never correctness).
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from sqlite3 import DatabaseError

from assetpipe.errors import BuildError

FORMAT = "5"  # 4: Built records say not_utf8; 5: digests of source runs
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (logical TEXT PRIMARY KEY, size INT, mtime INT, inode INT);
-- One digest per run of the sorted source paths (assetpipe/source_delta.py).
CREATE TABLE IF NOT EXISTS runs (first TEXT PRIMARY KEY, digest BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS assets (logical TEXT PRIMARY KEY, folder TEXT NOT NULL,
    record TEXT NOT NULL, entry TEXT NOT NULL, entry_bytes INT NOT NULL,
    input_size INT, size INT, gzip_size INT, br_size INT);
-- Where each fragment sits in manifest.json, found without reading the others.
CREATE INDEX IF NOT EXISTS assets_offsets ON assets(logical, entry_bytes);
CREATE INDEX IF NOT EXISTS assets_folder ON assets(folder);
-- Covering the report's totals: summed without reading the wide records.
CREATE INDEX IF NOT EXISTS assets_sizes ON assets(input_size, size, gzip_size, br_size);
CREATE TABLE IF NOT EXISTS links (logical TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edges (user TEXT NOT NULL, target TEXT NOT NULL,
    PRIMARY KEY (user, target)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_target ON edges(target);
"""
# SQLite's default limit on bound parameters is 32766; stay well below it.
CHUNK = 900


def folder_of(logical: str) -> str:
    """Every file an asset publishes (versioned, twins, plain copies) is in its folder."""
    return logical.rpartition("/")[0]


class Store:
    """The state database of one output folder, opened under the output lock."""

    def __init__(self, path: str):
        self.path = path
        self.db = _connect(path)

    def close(self) -> None:
        self.db.close()

    # -- reading ------------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def source_stats(self, low: str, high: str | None) -> set[tuple[str, int, int, int]]:
        """(logical path, size, mtime, inode) of the sources the last build saw
        from `low` up to, not including, `high` (None: to the end)."""
        sql = "SELECT logical, size, mtime, inode FROM sources WHERE logical >= ?"
        if high is None:
            return set(self.db.execute(sql, (low,)))
        return set(self.db.execute(sql + " AND logical < ?", (low, high)))

    def runs(self) -> dict[str, bytes]:
        return dict(self.db.execute("SELECT first, digest FROM runs"))

    def records(self, logicals: Iterable[str] | None = None) -> dict[str, dict]:
        """Built records (stat, deps, commit, built) by logical path; all when None."""
        rows = self._select("SELECT logical, record FROM assets", logicals)
        return {logical: json.loads(record) for logical, record in rows}

    def entries(self, logicals: Iterable[str]) -> dict[str, str]:
        """Manifest fragments (`"name": {...}` text) of these assets."""
        return dict(self._select("SELECT logical, entry FROM assets", logicals))

    def links(self, logicals: Iterable[str] | None = None) -> dict[str, dict]:
        rows = self._select("SELECT logical, record FROM links", logicals)
        return {logical: json.loads(record) for logical, record in rows}

    def sizes(self, leaving: set[str]) -> dict[str, dict[str, int]]:
        """Raw, gzip and br bytes of every output but `leaving` (no twin: the raw size)."""
        rows = self.db.execute("SELECT logical, size, gzip_size, br_size FROM assets")
        return {logical: {"raw": raw, "gzip": gz, "br": br}
                for logical, raw, gz, br in rows if logical not in leaving}

    def users_of(self, targets: Iterable[str]) -> set[str]:
        """Outputs with a reference (resolved or missing) to any of `targets`."""
        return {user for (user,) in self._select("SELECT user FROM edges", targets, "target")}

    def names(self) -> set[str]:
        return {logical for (logical,) in self.db.execute("SELECT logical FROM assets")}

    def folders(self) -> list[str]:
        return [f for (f,) in self.db.execute("SELECT DISTINCT folder FROM assets")]

    def entries_in(self, folder: str) -> list[str]:
        return [e for (e,) in self.db.execute("SELECT entry FROM assets WHERE folder = ?",
                                              (folder,))]

    def fragments(self) -> Iterator[tuple[str, str]]:
        """Every (logical path, manifest fragment), in the order json's sort_keys
        puts them (SQLite compares TEXT as UTF-8 bytes: the same order as code points)."""
        return self.db.execute("SELECT logical, entry FROM assets ORDER BY logical")

    def pieces(self, names: Iterable[str]) -> list[tuple[int, int, str]]:
        """Where each name's piece (its fragment and ",\n") sits in the manifest's
        assets section: (offset, length or 0 when absent, name), sorted."""
        found = []
        for name in sorted(names):
            count, total = self.db.execute(
                "SELECT count(*), total(entry_bytes) FROM assets WHERE logical < ?",
                (name,)).fetchone()
            row = self.db.execute("SELECT entry_bytes FROM assets WHERE logical = ?",
                                  (name,)).fetchone()
            found.append((int(total) + 2 * count, row[0] + 2 if row else 0, name))
        return found

    def section_length(self) -> int:
        """Bytes of the manifest's assets section: fragments joined by ",\n"."""
        count, total = self.db.execute(
            "SELECT count(*), total(entry_bytes) FROM assets").fetchone()
        return max(int(total) + 2 * count - 2, 0)

    def totals(self) -> tuple[int, int, int, int, int]:
        """(outputs, input bytes, output bytes, with gzip twins, with br twins)."""
        row = self.db.execute("SELECT count(*), total(input_size), total(size), "
                              "total(gzip_size), total(br_size) FROM assets").fetchone()
        return tuple(int(v) for v in row)  # type: ignore[return-value]

    def _select(self, sql: str, keys: Iterable[str] | None, column: str = "logical"):
        if keys is None:
            yield from self.db.execute(sql)
            return
        keys = list(keys)
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i:i + CHUNK]
            yield from self.db.execute(f"{sql} WHERE {column} IN ({','.join('?' * len(chunk))})",
                                       chunk)

    # -- writing: one transaction per build ---------------------------------------------------

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def set_meta(self, values: dict[str, str]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def put_sources(self, stats: Iterable[tuple[str, int, int, int]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)", stats)

    def put_assets(self, rows: Iterable[tuple]) -> None:
        """Rows of (logical, record json, entry text, input, size, gzip size, br size)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO assets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((r[0], folder_of(r[0]), r[1], r[2], len(r[2].encode("utf-8")), *r[3:])
             for r in rows))

    def set_runs(self, added: dict[str, bytes], removed: Iterable[str]) -> None:
        self._delete("runs", removed, "first")
        self.db.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?)", added.items())

    def put_links(self, rows: Iterable[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO links VALUES (?, ?)", rows)

    def set_edges(self, edges: dict[str, set[str]]) -> None:
        """Replace the outgoing edges of each output in `edges`."""
        self._delete("edges", edges, "user")
        self.db.executemany("INSERT INTO edges VALUES (?, ?)",
                            ((user, t) for user, targets in edges.items() for t in targets))

    def delete(self, table: str, logicals: Iterable[str]) -> None:
        self._delete(table, logicals, "logical")

    def _delete(self, table: str, keys: Iterable[str], column: str) -> None:
        keys = list(keys)
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i:i + CHUNK]
            self.db.execute(f"DELETE FROM {table} WHERE {column} IN ({','.join('?' * len(chunk))})",
                            chunk)

    def reset(self, meta: dict[str, str]) -> None:
        """Forget everything (settings changed): inside the build's transaction."""
        for table in ("meta", "sources", "runs", "assets", "links", "edges"):
            self.db.execute(f"DELETE FROM {table}")
        self.set_meta(meta)


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: transactions are exactly the BEGIN/COMMIT we issue.
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # A cold build's transaction fills the log with the whole database;
        # once checkpointed, let it shrink back instead of keeping that size.
        db.execute("PRAGMA journal_size_limit=8388608")
        db.executescript(SCHEMA)
        found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if found is None:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
        elif found[0] != FORMAT:
            raise DatabaseError(f"state format {found[0]}, not {FORMAT}")
    except BaseException:
        db.close()
        raise
    return db


def open_store(path: str) -> Store:
    """The store at `path`; one that cannot be read (corrupt, truncated, another
    format) is deleted and started afresh: it is a cache, never a blocker."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        return Store(path)
    except DatabaseError:
        discard(path)
    try:
        return Store(path)
    except DatabaseError as exc:
        raise BuildError(f"cannot create the build state database: {exc}", path) from None


def discard(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)
