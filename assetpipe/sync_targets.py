"""Where a sync publishes to: an S3 bucket (any S3-compatible endpoint) or a folder.

Both targets speak the same small vocabulary with keys relative to the
destination root: `list()` (one listing, paginated), `get`, `head_sha`,
`put`, `delete`.  Errors leave as BuildError naming the object, so the CLI
reports "s3://bucket/key: ..." and exits 1.

boto3 is imported only when an s3:// destination is opened; credentials come
from boto3's normal chain (env, shared files, instance roles) and are never
read or printed here.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence

from assetpipe.errors import BuildError, UsageError
from assetpipe.policy import TEMP_PREFIX
from assetpipe.sync_plan import HISTORY_PREFIX, STATE_PREFIX, ObjectMeta, RemoteObject
from assetpipe.writer import remove_temp_files, write_atomic

DELETE_BATCH = 1000   # DeleteObjects takes at most 1000 keys per request


def open_target(dest: str, endpoint_url: str | None, max_attempts: int, jobs: int,
                state_prefix: str = ""):
    """`s3://bucket/prefix` -> S3Target; anything else is a local folder."""
    if dest.startswith("s3://"):
        bucket, _, prefix = dest[len("s3://"):].partition("/")
        if not bucket:
            raise UsageError(f"DEST {dest!r}: expected s3://bucket/prefix")
        prefix = prefix.strip("/")
        return S3Target(bucket, prefix, endpoint_url, max_attempts, jobs,
                        state_prefix.strip("/") or default_state_prefix(prefix))
    if "://" in dest:
        raise UsageError(f"DEST {dest!r}: only s3:// URLs and local folders are supported")
    if endpoint_url:
        raise UsageError("--endpoint-url only applies to s3:// destinations")
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise UsageError(f"DEST {dest!r} is a file; give a folder or s3://bucket/prefix")
    return FolderTarget(os.path.abspath(dest))


class FolderTarget:
    """A local folder: files replaced by temp + rename, "ETag" = stat identity."""

    def __init__(self, root: str):
        self.root = root
        self.label = root

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def list(self) -> dict[str, RemoteObject]:
        found = {}
        for folder, _, files in os.walk(self.root):
            rel = os.path.relpath(folder, self.root).replace(os.sep, "/")
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    continue  # a writer's file in flight, or litter for sweep()
                key = name if rel == "." else f"{rel}/{name}"
                with self._errors(key):
                    found[key] = _stat_object(os.stat(os.path.join(folder, name)))
        return found

    def sweep(self) -> None:
        """Remove temp files of killed syncs (another live sync's stay)."""
        if os.path.isdir(self.root):
            remove_temp_files(self.root, only_dead=True)

    def retire_legacy(self) -> None:
        """Nothing to move: a folder keeps its state in `.assetpipe/`, which
        the generated server rules never serve."""

    def get(self, key: str) -> bytes | None:
        with self._errors(key):
            try:
                with open(self._path(key), "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return None

    def head_sha(self, key: str) -> str | None:
        content = self.get(key)
        return None if content is None else hashlib.sha256(content).hexdigest()

    def put(self, key: str, body: bytes, meta: ObjectMeta, sha256: str) -> str:
        """Write atomically; a folder has no headers, so `meta` is not stored."""
        path = self._path(key)
        with self._errors(key):
            write_atomic(path, body)
            return _stat_object(os.stat(path)).etag

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            with self._errors(key), contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(key))

    @contextlib.contextmanager
    def _errors(self, key: str):
        try:
            yield
        except OSError as exc:
            raise BuildError(f"cannot write or read: {exc.strerror}", self._path(key)) from None


def _stat_object(st: os.stat_result) -> RemoteObject:
    # A rename gives a new inode, so this changes whenever a file is replaced.
    return RemoteObject(st.st_size, f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}")


def default_state_prefix(prefix: str) -> str:
    """Where the sync index and manifest history go in a bucket: beside the
    public prefix, not under it (`static` -> `.assetpipe/static`), so a CDN
    serving `static/` never serves them.  A bucket served from its root has
    no such place: docs/safety.md shows the bucket policy that hides it."""
    return f"{STATE_PREFIX}{prefix}".rstrip("/")


class S3Target:
    """An S3 prefix; requests retried by botocore's "standard" mode.

    Keys are relative to the prefix, except the sync state (`.assetpipe/…`
    keys), which lives under `state_root`.  State an older assetpipe kept
    under the public prefix is still read, and moved out by `retire_legacy`.
    """

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None,
                 max_attempts: int, jobs: int, state_root: str | None = None):
        try:
            import boto3
            from botocore.config import Config as BotoConfig
        except ImportError:  # pragma: no cover - boto3 is a declared dependency
            raise UsageError("s3:// destinations need boto3: pip install boto3") from None
        self.bucket, self.prefix = bucket, prefix
        self.state_root = state_root or default_state_prefix(prefix)
        self._legacy: set[str] = set()        # state keys read from under the public prefix
        self._legacy_found: set[str] = set()  # every state key there (retire_legacy deletes)
        self.label = f"s3://{bucket}/{prefix}".rstrip("/")
        config = BotoConfig(retries={"mode": "standard", "total_max_attempts": max_attempts},
                            max_pool_connections=max(10, jobs))
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url,
                                                     config=config)

    def _public_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key(self, key: str) -> str:
        if key.startswith(STATE_PREFIX) and key not in self._legacy:
            return f"{self.state_root}/{key[len(STATE_PREFIX):]}"
        return self._public_key(key)

    def sweep(self) -> None:
        """Nothing to do: an S3 PUT is atomic and leaves no temp object."""

    def list(self) -> dict[str, RemoteObject]:
        """The public prefix's objects, plus the state objects as `.assetpipe/…` keys."""
        found = self._list(self._public_key(""))
        if self._public_key(STATE_PREFIX) == self.state_root + "/":
            return found   # the state is configured to stay where it always was
        legacy = {k: v for k, v in found.items() if k.startswith(STATE_PREFIX)}
        found = {k: v for k, v in found.items() if k not in legacy}
        state = {STATE_PREFIX + k: v for k, v in self._list(self.state_root + "/").items()}
        self._legacy_found = set(legacy)
        self._legacy = set(legacy) - set(state)
        return {**found, **legacy, **state}

    def _list(self, root: str) -> dict[str, RemoteObject]:
        found = {}
        with self._errors(""):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root)
            for page in pages:
                for obj in page.get("Contents", []):
                    found[obj["Key"][len(root):]] = RemoteObject(obj["Size"], obj["ETag"])
        return found

    def retire_legacy(self) -> None:
        """Move state an older assetpipe left under the public prefix (publicly
        readable there) to `state_root`: history entries are copied, then all
        of it is deleted.  Called after a sync has written its own state."""
        for key in sorted(k for k in self._legacy if k.startswith(HISTORY_PREFIX)):
            self._legacy.discard(key)
            with self._errors(key):
                self.client.copy_object(Bucket=self.bucket, Key=self._key(key), CopySource={
                    "Bucket": self.bucket, "Key": self._public_key(key)})
        self._delete_keys(sorted(self._public_key(k) for k in self._legacy_found))
        self._legacy, self._legacy_found = set(), set()

    def get(self, key: str) -> bytes | None:
        with self._errors(key):
            try:
                return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
            except self.client.exceptions.NoSuchKey:
                return None

    def head_sha(self, key: str) -> str | None:
        from botocore.exceptions import ClientError
        with self._errors(key):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                    return None
                raise
        return head.get("Metadata", {}).get("sha256")

    def put(self, key: str, body: bytes, meta: ObjectMeta, sha256: str) -> str:
        args = {"ContentType": meta.content_type, "CacheControl": meta.cache_control,
                "Metadata": {"sha256": sha256}}
        if meta.content_encoding:
            args["ContentEncoding"] = meta.content_encoding
        self._legacy.discard(key)   # state is always written to state_root
        with self._errors(key):
            return self.client.put_object(Bucket=self.bucket, Key=self._key(key),
                                          Body=body, **args)["ETag"]

    def ensure_cors(self, rule: dict, dry_run: bool) -> bool:
        """Add `rule` to the bucket's CORS rules unless an equal one is there.

        CORS is per bucket, not per prefix: other rules are kept.  True when
        the rule was (or, with dry_run, would be) added.
        """
        from botocore.exceptions import ClientError
        with self._errors(""):
            try:
                rules = self.client.get_bucket_cors(Bucket=self.bucket)["CORSRules"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NoSuchCORSConfiguration":
                    raise
                rules = []
            if any({key: r.get(key) for key in rule} == rule for r in rules):
                return False
            if not dry_run:
                self.client.put_bucket_cors(Bucket=self.bucket,
                                            CORSConfiguration={"CORSRules": [*rules, rule]})
        return True

    def delete(self, keys: Sequence[str]) -> None:
        self._delete_keys([self._key(k) for k in keys])

    def _delete_keys(self, full_keys: Sequence[str]) -> None:
        for start in range(0, len(full_keys), DELETE_BATCH):
            batch = full_keys[start:start + DELETE_BATCH]
            with self._errors(""):
                result = self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": k} for k in batch], "Quiet": True})
            for error in result.get("Errors", []):
                raise BuildError(f"delete failed: {error.get('Message', error.get('Code'))}",
                                 f"s3://{self.bucket}/{error['Key']}")

    @contextlib.contextmanager
    def _errors(self, key: str):
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
        where = f"s3://{self.bucket}/{self._key(key)}"
        try:
            yield
        except NoCredentialsError:
            raise BuildError("no AWS credentials found: set AWS_ACCESS_KEY_ID/"
                             "AWS_SECRET_ACCESS_KEY, AWS_PROFILE or an instance role",
                             where) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise BuildError(f"{exc.operation_name} failed: {error.get('Code')} "
                             f"{error.get('Message', '')}".rstrip(), where) from None
        except BotoCoreError as exc:
            raise BuildError(f"request failed after retries: {exc}", where) from None
