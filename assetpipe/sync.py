"""`assetpipe sync DEST`: publish the output folder to S3 or a folder, plan first.

One run: snapshot the local output (manifest first), list the destination
once, read the index, HEAD only what the index can't vouch for, plan
(`assetpipe.sync_plan`), then act in order — versioned files and twins,
plain names and pages, `manifest.json` only after everything before it
succeeded, then the manifest history entry and the index, then deletes.  A
failure stops before the manifest, so a published manifest never names a
missing object, and a rerun uploads only what is still missing.

Serving twins: S3 cannot negotiate Content-Encoding.  The `.gzip`/`.br`
twins are stored under their own keys with `Content-Encoding` set and the
original's Content-Type, so a CDN edge function (e.g. a CloudFront Function
on viewer-request) can rewrite `/app.v1a2b3c4d5e.js` to
`/app.v1a2b3c4d5e.js.br` when Accept-Encoding allows it; forward
Accept-Encoding in the cache key.  For CDNs that can't do that but decode
for clients that need it (CloudFront "compress objects automatically" does
not recompress), `[sync] gzip_in_place = true` uploads the gzip bytes under
the plain key with `Content-Encoding: gzip`.  See docs/sync.md.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace

from assetpipe.config import Sync, is_inside
from assetpipe.errors import BuildError, UsageError
from assetpipe.history import manifest_paths
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.media_types import content_type_header, is_utf8
from assetpipe.policy import CORS_ANY, bucket_cors_rule, cors_origin
from assetpipe.sync_plan import (
    INDEX_KEY,
    LocalFile,
    ObjectMeta,
    Plan,
    history_is_current,
    history_key,
    history_keys,
    history_to_read,
    keys_to_head,
    object_meta,
    parse_index,
    plan_sync,
    render_index,
    trusted_hashes,
)
from assetpipe.sync_scan import scan_output
from assetpipe.sync_targets import FolderTarget, open_target


@dataclass(frozen=True)
class SyncOptions:
    source: str
    dest: str
    settings: Sync = field(default_factory=Sync)
    endpoint_url: str | None = None
    dry_run: bool = False
    jobs: int = 8
    keep: int | None = None           # set = prune to the newest `keep` manifests
    max_delete: int | None = None
    cors: str = ""                    # origin for the bucket's CORS rule ("" = leave it)
    protected: tuple[str, ...] = ()   # folders a folder DEST may not be in (the build's source)
    state_dir: str | None = None      # the build's state folder (its history), from the config


@dataclass
class SyncReport:
    dest: str
    dry_run: bool = False
    uploaded: int = 0
    skipped: int = 0
    deleted: int = 0
    bytes_uploaded: int = 0
    seconds: float = 0.0
    uploads: list[str] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    cors_changed: bool = False

    def as_dict(self) -> dict:
        return dict(self.__dict__, seconds=round(self.seconds, 3))


def bucket_cors_origin(dest: str, config, flag: bool) -> str:
    """The origin `sync` puts in the bucket's CORS rule ("" = leave the bucket alone).

    `[serve] cors` decides (config may be None with --source); the --cors
    flag asks for "*" when the config names no origin.
    """
    origin = cors_origin(config.serve.cors, config.url_prefix) if config else ""
    if not dest.startswith("s3://"):
        if flag:
            raise UsageError("--cors only applies to s3:// destinations (a folder is served "
                             "by rules from `assetpipe apache|nginx|caddy`)")
        return ""
    return origin or (CORS_ANY if flag else "")


def run_sync(options: SyncOptions, progress=None) -> SyncReport:
    """Plan and (unless dry_run) carry out one sync; `progress(total)` -> advance(n)."""
    started = time.perf_counter()
    target = open_target(options.dest, options.endpoint_url, options.settings.max_attempts,
                         options.jobs, options.settings.state_prefix)
    _check_folders(options.source, target, options.protected)
    manifest_bytes, manifest, local = scan_output(options.source, options.settings,
                                                  options.keep is not None, options.state_dir)
    remote = target.list()
    index_raw = target.get(INDEX_KEY) if INDEX_KEY in remote else None
    known = trusted_hashes(parse_index(index_raw), remote)
    heads = keys_to_head(local, remote, known)
    known.update(_parallel(lambda key: (key, target.head_sha(key)), heads, options.jobs))
    if manifest is not None:
        _check_references(manifest, local, remote, options.source)
    keep = _keep_set(target, remote, manifest, manifest_bytes, options.keep, options.jobs)
    plan = plan_sync(local, remote, known, keep)
    if options.max_delete is not None and len(plan.deletes) > options.max_delete:
        raise BuildError(f"prune would delete {len(plan.deletes)} objects, more than "
                         f"--max-delete {options.max_delete}; nothing was changed "
                         "(raise the limit or --keep)", target.label)
    report = SyncReport(dest=target.label, dry_run=options.dry_run, skipped=len(plan.skips),
                        uploads=[f.key for f in plan.uploads], skips=plan.skips,
                        deletes=plan.deletes)
    if options.cors:  # before the assets: usable cross-origin once the manifest names them
        report.cors_changed = target.ensure_cors(bucket_cors_rule(options.cors), options.dry_run)
    if not options.dry_run:
        _execute(plan, target, remote, local, (manifest_bytes, index_raw), options, report,
                 progress)
    report.seconds = time.perf_counter() - started
    return report


def _check_folders(source: str, target, protected: tuple[str, ...]) -> None:
    if not isinstance(target, FolderTarget):
        return
    if is_inside(target.root, source) or is_inside(source, target.root):
        raise UsageError(f"DEST {target.root!r} overlaps the source folder {source!r}; "
                         "choose a separate folder")
    for folder in protected:
        if is_inside(target.root, folder):
            raise UsageError(f"DEST {target.root!r} is inside the build's source folder "
                             f"{folder!r}: the next build would publish it again")


def _check_references(manifest: dict, local: list[LocalFile], remote: dict, root: str) -> None:
    """Refuse to publish a manifest naming a file neither here nor there."""
    present = {f.key for f in local} | set(remote)
    for ref in sorted(manifest_paths(manifest, plain=False)):
        if ref not in present:
            raise BuildError(f"manifest names {ref!r}, which is missing; rebuild before syncing",
                             os.path.join(root, MANIFEST_NAME))


def _keep_set(target, remote: dict, manifest: dict | None, manifest_bytes: bytes | None,
              keep: int | None, jobs: int) -> set[str] | None:
    """Paths named by the current manifest and the newest keep-1 other synced ones."""
    if keep is None:
        return None
    if manifest is None or manifest_bytes is None:
        raise UsageError("--prune needs a manifest.json in the source folder")
    sha = hashlib.sha256(manifest_bytes).hexdigest()
    refs = manifest_paths(manifest)
    older = history_to_read(history_keys(remote), sha, keep)
    for key, raw in _parallel(lambda k: (k, target.get(k)), older, jobs):
        try:
            refs |= manifest_paths(json.loads(raw or b"{}"))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BuildError("unreadable manifest history entry; remove it or skip --prune",
                             f"{target.label}/{key}") from None
    return refs


def _execute(plan: Plan, target, remote: dict, local: list[LocalFile],
             state: tuple[bytes | None, bytes | None], options: SyncOptions,
             report: SyncReport, progress) -> None:
    manifest_bytes, index_raw = state
    advance = progress(len(plan.uploads)) if progress and plan.uploads else None
    done: dict[str, tuple[str, str]] = {}          # key -> (sha256, etag) of what we put
    target.sweep()
    for phase in plan.phases:
        for key, sha, etag, size in _parallel(lambda f: _upload(target, f), phase,
                                              options.jobs, advance):
            done[key] = (sha, etag)
            report.uploaded += 1
            report.bytes_uploaded += size
    if manifest_bytes is not None:
        _record_history(target, remote, manifest_bytes, options.settings)
    _write_index(target, remote, local, done, index_raw, options.settings)
    target.retire_legacy()
    if plan.deletes:
        target.delete(plan.deletes)
        report.deleted = len(plan.deletes)


def _upload(target, f: LocalFile) -> tuple[str, str, str, int]:
    if f.content is not None:
        body = f.content
    else:
        try:
            with open(f.path, "rb") as fh:
                body = fh.read()
        except OSError as exc:
            raise BuildError(f"cannot read file: {exc.strerror}", f.path) from None
    sha = hashlib.sha256(body).hexdigest()
    return f.key, sha, target.put(f.key, body, _charset_checked(f), sha), len(body)


def _charset_checked(f: LocalFile) -> ObjectMeta:
    """The build copies a text file that is not UTF-8 unchanged: it must not be
    announced as `charset=utf-8` (checked on the uncompressed bytes, at upload)."""
    if f.text_path is None:
        return f.meta
    try:
        with open(f.text_path, "rb") as fh:
            utf8 = is_utf8(fh.read())
    except OSError as exc:
        raise BuildError(f"cannot read file: {exc.strerror}", f.text_path) from None
    return f.meta if utf8 else replace(f.meta,
                                       content_type=content_type_header(f.text_path, utf8))


def _record_history(target, remote: dict, manifest_bytes: bytes, settings: Sync) -> None:
    """Add the manifest to the history unless it is the newest entry already."""
    sha = hashlib.sha256(manifest_bytes).hexdigest()
    if history_is_current(history_keys(remote), sha):
        return
    target.put(history_key(history_keys(remote), sha), manifest_bytes,
               object_meta(MANIFEST_NAME, MANIFEST_NAME, None, settings.short_max_age), sha)


def _write_index(target, remote: dict, local: list[LocalFile], done: dict,
                 old: bytes | None, settings: Sync) -> None:
    """Record (sha256, ETag) of every plain key; upload only if it changed."""
    objects = {}
    for f in local:
        if f.versioned:
            continue
        sha, etag = done.get(f.key) or (f.sha256, remote[f.key].etag)
        objects[f.key] = {"sha256": sha, "etag": etag}
    body = render_index(objects)
    if body != old:
        target.put(INDEX_KEY, body, object_meta(INDEX_KEY, INDEX_KEY, None,
                                                settings.short_max_age),
                   hashlib.sha256(body).hexdigest())


def _parallel(work, items: list, jobs: int, advance=None) -> list:
    """Run `work` over `items` on a thread pool; the first failure cancels the rest."""
    if not items:
        return []
    results = []
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(work, item) for item in items]
        for future in as_completed(futures):
            results.append(future.result())
            if advance:
                advance(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results
