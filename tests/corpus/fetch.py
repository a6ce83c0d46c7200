#!/usr/bin/env python3
"""Fetch the public test corpus: the pinned npm packages of packages.txt.

    python3 tests/corpus/fetch.py [TARGET] [--registry URL] [--packages FILE] [--quiet]

TARGET defaults to $ASSETPIPE_CORPUS, else ~/.cache/assetpipe/corpus.  Each
package's tarball contents (its `package/` folder) land in TARGET/<name>/;
tarballs are kept in TARGET/.cache/ (dot-named, so builds of TARGET skip it).

Standard library only: it runs before the project's venv exists.  Tarballs
come from npm's registry ($npm_config_registry, else `npm config get
registry`, else registry.npmjs.org) at the registry's usual
`NAME/-/NAME-VERSION.tgz` path, and must match the pinned sha512 integrity
before anything is unpacked.  Idempotent: a package whose folder carries the
stamp of its pin is left alone without touching the network; one whose stamp
differs is unpacked into a dot-named temporary folder and renamed into place,
so readers never see a half-unpacked package.  A lock serialises concurrent
fetchers; temporaries a killed fetcher left behind are swept on the next run.
"""
from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PACKAGES = Path(__file__).with_name("packages.txt")
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
STAMP = ".corpus-stamp"
TMP_PREFIXES = (".unpack-", ".old-", ".download-")


class CorpusError(Exception):
    """A fetch problem the user can act on; printed as one line, exit 1."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str
    rule: str = ""

    @property
    def folder(self) -> str:
        """TARGET/<folder>: the package name, a scope's '@' dropped and '/' as '-'."""
        return self.name.lstrip("@").replace("/", "-")

    @property
    def stamp(self) -> str:
        # Same text the earlier shell fetcher wrote, so its unpacked folders are accepted.
        return f"{self.name}@{self.version} {self.integrity} {self.rule}"

    def url(self, registry: str) -> str:
        base = self.name.rsplit("/", 1)[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{base}-{self.version}.tgz"


def default_target() -> Path:
    env = os.environ.get("ASSETPIPE_CORPUS")
    return Path(env) if env else Path.home() / ".cache" / "assetpipe" / "corpus"


def default_registry() -> str:
    """npm's configured registry, so mirrors configured for npm work here too."""
    # npm itself exports the lower-case name to the scripts it runs
    env = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")  # noqa: SIM112
    if env:
        return env
    if shutil.which("npm"):
        done = subprocess.run(["npm", "config", "get", "registry"],
                              capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip().startswith(("http", "file:")):
            return done.stdout.strip()
    return DEFAULT_REGISTRY


def read_packages(path: Path) -> list[Package]:
    """Parse `name version integrity [rule]` lines; '#' starts a comment."""
    packages = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) not in (3, 4) or not fields[2].startswith("sha512-"):
            raise CorpusError(f"{path}:{number}: expected 'name version sha512-… [rule]'")
        package = Package(*fields)
        if package.rule not in RULES:
            raise CorpusError(f"{path}:{number}: unknown rule {package.rule!r}")
        packages.append(package)
    return packages


def integrity_of(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def ensure_tarball(package: Package, cache: Path, registry: str, log: Callable) -> Path:
    """The cached tarball, downloaded first when missing or not matching its pin."""
    tgz = cache / f"{package.folder}-{package.version}.tgz"
    if tgz.is_file() and integrity_of(tgz) == package.integrity:
        return tgz
    url = package.url(registry)
    log(f"download {package.name}@{package.version}")
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", dir=cache)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        got = integrity_of(tmp)
        if got != package.integrity:
            raise CorpusError(f"integrity mismatch for {package.name}@{package.version} "
                              f"from {url}: expected {package.integrity}, got {got}")
        os.replace(tmp, tgz)
    except (urllib.error.URLError, OSError) as exc:
        raise CorpusError(f"cannot download {package.name}@{package.version} "
                          f"from {url}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return tgz


def _strip_top_folder(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """Extraction filter: drop the tarball's top folder (`package/`), refuse links,
    keep the `data` filter's guards (no absolute paths, no `..`), make files readable."""
    if member.issym() or member.islnk():
        raise CorpusError(f"{member.name}: links are not expected in an npm tarball")
    rest = member.name.split("/", 1)[1] if "/" in member.name else ""
    if not rest.strip("/"):
        return None
    mode = (member.mode or 0) | (0o755 if member.isdir() else 0o644)
    return tarfile.data_filter(member.replace(name=rest, mode=mode, deep=False), dest)


def _slice_emoji(root: Path) -> None:
    """Keep the PNG slice of an emoji-datasource package: every 10th 64px image
    (byte-sorted names, from the first) and two sprite sheets, one RGBA
    (sheets/16.png) and one palette (sheets-256/20.png): about 380 varied PNGs
    instead of 3,800 near-alike ones and 60 MB of sheets."""
    for folder in root.glob("img/*/64"):
        names = sorted(p.name for p in folder.glob("*.png"))
        for name in set(names) - set(names[::10]):
            (folder / name).unlink()
    keep = {("sheets", "16.png"), ("sheets-256", "20.png")}
    for sheet in root.glob("img/*/sheets*/*.png"):
        if (sheet.parent.name, sheet.name) not in keep:
            sheet.unlink()
    for folder in sorted(root.glob("img/**/"), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    for name in ("emoji.json", "emoji_pretty.json", "categories.json"):
        (root / name).unlink(missing_ok=True)


RULES: dict[str, Callable[[Path], None] | None] = {"": None, "emoji-slice": _slice_emoji}


def unpack(package: Package, tgz: Path, target: Path) -> None:
    """Unpack into a dot-named temporary folder, then rename it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".unpack-{package.folder}-", dir=target))
    try:
        with tarfile.open(tgz, "r:gz") as tar:
            tar.extractall(tmp, filter=_strip_top_folder)
        rule = RULES[package.rule]
        if rule is not None:
            rule(tmp)
        (tmp / STAMP).write_text(package.stamp)
        tmp.chmod(0o755)
        _swap_in(tmp, target / package.folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(new: Path, dest: Path) -> None:
    """Replace dest by new with two renames: the folder is missing for an instant
    only, never half-written."""
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".old-{dest.name}-", dir=dest.parent))
        os.rename(dest, old / dest.name)
        os.rename(new, dest)
        shutil.rmtree(old)
    else:
        os.rename(new, dest)


def is_current(package: Package, target: Path) -> bool:
    stamp = target / package.folder / STAMP
    return stamp.is_file() and stamp.read_text() == package.stamp


def fetch(target: Path, packages: list[Package], registry: str | None,
          log: Callable[[str], None]) -> list[str]:
    """Bring every package up to its pin; returns the names unpacked by this run.
    The registry (None: npm's) is looked up only when something must be downloaded."""
    cache = target / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    changed = []
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _sweep(target, cache)
        for package in packages:
            if is_current(package, target):
                continue
            registry = registry or default_registry()
            tgz = ensure_tarball(package, cache, registry, log)
            log(f"unpack   {package.name}@{package.version}")
            unpack(package, tgz, target)
            changed.append(package.name)
    return changed


def _sweep(*folders: Path) -> None:
    """Remove temporaries of a fetcher that was killed (we hold the lock)."""
    for folder in folders:
        for entry in folder.iterdir():
            if entry.name.startswith(TMP_PREFIXES):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


def summary(target: Path) -> str:
    """Files and bytes by extension (dot-named files and folders left out)."""
    counts: dict[str, list[int]] = {}
    for folder, dirs, files in os.walk(target):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            ext = name.rsplit(".", 1)[1].lower() if "." in name else "(none)"
            entry = counts.setdefault(ext, [0, 0])
            entry[0] += 1
            entry[1] += os.path.getsize(os.path.join(folder, name))
    rows = sorted(counts.items(), key=lambda kv: -kv[1][1])
    total = [sum(v[0] for _, v in rows), sum(v[1] for _, v in rows)]
    lines = [f"corpus: {target}", f"{'type':<10} {'files':>7} {'bytes':>12}"]
    lines += [f"{ext:<10} {n:>7} {size:>12}" for ext, (n, size) in [*rows, ("TOTAL", total)]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", type=Path, default=None,
                        help="corpus folder (default: $ASSETPIPE_CORPUS or "
                             "~/.cache/assetpipe/corpus)")
    parser.add_argument("--registry", help="npm registry URL (default: npm's configured one)")
    parser.add_argument("--packages", type=Path, default=PACKAGES, help="pinned package list")
    parser.add_argument("--quiet", action="store_true", help="print nothing unless it fails")
    args = parser.parse_args(argv)
    target = (args.target or default_target()).expanduser().absolute()
    log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        packages = read_packages(args.packages)
        changed = fetch(target, packages, args.registry, log)
    except (CorpusError, OSError, tarfile.TarError) as exc:
        print(f"corpus fetch failed: {exc}", file=sys.stderr)
        return 1
    if changed:
        log(summary(target))
    else:
        log(f"corpus: {target}: all {len(packages)} packages current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
