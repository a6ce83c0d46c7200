"""The reference graph: which asset names which, in what order to build them.

Links are found once per source text (references.scan_css / scan_js) and
resolved against the set of buildable logical paths.  Every dangling or
escaping link in the whole build is collected and reported together; assets
then each asset is built as soon as the ones it references are (runner.py),
so a referenced file's versioned name is known before the file that names it
is rewritten, and the referencing file's version, taken from its rewritten
bytes, covers them.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from assetpipe import references as refs
from assetpipe.config import References
from assetpipe.errors import BuildError
from assetpipe.js_references import scan_js_modules
from assetpipe.media_types import extension

JS_EXTENSIONS = (".js", ".mjs", ".cjs")
# The code scan() runs: cached scans are keyed by a hash of it (scanner_version).
SCANNER_MODULES = ("graph", "references", "css_tokens", "js_references", "js_tokens")
# `memo(key, compute, check)`: a cached result for key, else compute() (cache.Results).
Memo = Callable[..., bytes]
# Reference kinds found in JS (assetpipe.js_references); a module specifier
# must stay "./"-relative when rewritten, or it would read as a bare name.
SPECIFIER_KINDS = ("module", "dynamic")
JS_KINDS = SPECIFIER_KINDS + ("module-url", "worker")


@dataclass(frozen=True)
class Link:
    kind: str              # "url" | "import" | "sourcemap" | one of JS_KINDS
    url: str
    line: int
    target: str | None     # logical path it names, when local and inside source
    problem: str | None    # None | "missing" | "escapes"


@dataclass(frozen=True)
class RefPolicy:
    """The [references] section, whole, plus where root-relative URLs start."""

    rules: References = field(default_factory=References)
    root_path: str = "/static/"       # path part of url_prefix


@functools.lru_cache(maxsize=1)
def scanner_version() -> str:
    """A hash of the scanner's own source: a scan cached (or pushed) by one
    release or branch is never used by another whose scanner differs, with
    no epoch to remember to bump.  Without readable sources, the release."""
    from assetpipe import __version__
    digest = hashlib.sha256(__version__.encode())
    for name in SCANNER_MODULES:
        try:
            with open(importlib.import_module(f"assetpipe.{name}").__file__ or "", "rb") as f:
                digest.update(f.read())
        except OSError:
            digest.update(name.encode())
    return digest.hexdigest()[:16]


def scannable(logical_path: str) -> bool:
    return extension(logical_path) in (".css", *JS_EXTENSIONS)


def is_js(logical_path: str) -> bool:
    return extension(logical_path) in JS_EXTENSIONS


def scan(logical_path: str, text: str, keeps_sourcemap: bool, memo: Memo | None = None) -> list:
    """The references that matter for this file: CSS url()/@import and JS
    module specifiers always; sourceMappingURL only when the file keeps its
    comment (copied unminified).  With `memo` (cache.Results.memo) the
    references are a cached result, keyed by the text and scanner_version()."""
    ext = extension(logical_path)
    syntax = "css" if ext == ".css" else "mjs" if ext == ".mjs" else "js"
    if memo is None:
        found = _scan_text(syntax, text)
    else:
        from assetpipe.cache import scan_key
        payload = memo(scan_key(syntax, text), lambda: _dump(_scan_text(syntax, text)),
                       partial(_intact, len(text)))
        found = [refs.Reference(*row) for row in json.loads(payload)]
    return [r for r in found if keeps_sourcemap or r.kind != "sourcemap"]


def _scan_text(syntax: str, text: str) -> list:
    if syntax == "css":
        return refs.scan_css(text)
    return refs.scan_js(text) + scan_js_modules(text, module=syntax == "mjs")


def _dump(found: list) -> bytes:
    return json.dumps([[r.kind, r.url, r.start, r.end, r.line] for r in found],
                      separators=(",", ":")).encode()


def _intact(length: int, payload: bytes) -> bool:
    """A cached scan is used only if it is a list of references that fit the
    text, whoever computed it (its hash guards the bytes, not the sense)."""
    try:
        rows = json.loads(payload)
        return isinstance(rows, list) and all(
            len(row) == 5 and isinstance(row[0], str) and isinstance(row[1], str)
            and all(type(n) is int for n in row[2:]) and 0 <= row[2] <= row[3] <= length
            for row in rows)
    except (ValueError, TypeError):
        return False


def _left_to_import_map(ref, policy: RefPolicy) -> bool:
    """Bare specifiers ("lodash") belong to the import map; a Worker URL that
    is not root-relative is resolved against the page, unknown here."""
    if ref.kind in JS_KINDS and not policy.rules.modules:
        return True
    if ref.kind in SPECIFIER_KINDS:
        return not ref.url.startswith(("./", "../", "/"))
    return ref.kind == "worker" and not refs.is_root_relative(ref.url)


def resolve_link(logical_path: str, ref, known, policy: RefPolicy) -> Link | None:
    """A Link for a reference the build must handle; None for ones left alone."""
    url = ref.url
    if _left_to_import_map(ref, policy):
        return None
    if refs.is_root_relative(url):
        if policy.rules.root_relative != "resolve" or not url.startswith(policy.root_path):
            return None
        path, _ = refs.split_url(url[len(policy.root_path):])
        if not path.strip("/"):
            return None  # the prefix itself: a folder, not a file
        target = refs.resolve("", path.lstrip("/"))  # `..` resolved like a relative URL
        if target is None:
            return Link(ref.kind, url, ref.line, None, "escapes")
    elif refs.is_local(url):
        path, _ = refs.split_url(url)
        target = refs.resolve(logical_path, path)
        if target is None:
            return Link(ref.kind, url, ref.line, None, "escapes")
    else:
        return None
    if target not in known and ref.kind in SPECIFIER_KINDS:
        target = _bundler_style(target, known)
    return Link(ref.kind, url, ref.line, target, None if target in known else "missing")


# What bundlers (and Node's CommonJS) try for a specifier without its
# extension ("../constants", "./Map.Drag"), which browsers cannot load as
# written: resolved the same way, the rewritten one names the real file.
_BUNDLER_SUFFIXES = (".js", ".mjs", "/index.js", "/index.mjs")


def _bundler_style(target: str, known) -> str:
    return next((target + s for s in _BUNDLER_SUFFIXES if target + s in known), target)


def targets(links: list[Link]) -> set[str]:
    """The logical paths a file's sound links name: what it depends on."""
    return {link.target for link in links if link.problem is None and link.target is not None}


def report_problems(links_by_file: dict[str, list[Link]], policy: RefPolicy) -> list[str]:
    """Raise one BuildError listing every fatal problem; return the warnings."""
    errors: list[str] = []
    warnings: list[str] = []
    for logical, links in sorted(links_by_file.items()):
        for link in links:
            if link.problem is None:
                continue
            if link.problem == "escapes":
                message = f"{logical}:{link.line}: {link.url!r} points outside the source folder"
                errors.append(message)
                continue
            message = (f"{logical}:{link.line}: {link.url!r} not found "
                       f"(looked for {link.target})")
            rules = policy.rules
            rule = rules.missing_sourcemap if link.kind == "sourcemap" else rules.missing
            if link.kind == "sourcemap":
                message += "; sourceMappingURL comment dropped"
            (errors if rule == "error" else warnings).append(message)
    if errors:
        count = f"{len(errors)} broken reference{'s' if len(errors) > 1 else ''}"
        raise BuildError(f"{count}:\n  " + "\n  ".join(errors))
    return warnings


def levels(deps: dict[str, set[str]]) -> list[list[str]]:
    """Group nodes so each level only depends on earlier ones; a cycle is an error."""
    remaining = {node: {t for t in d if t in deps and t != node} for node, d in deps.items()}
    self_loops = [n for n, d in deps.items() if n in d]
    if self_loops:
        raise BuildError(f"reference cycle: {self_loops[0]} -> {self_loops[0]}")
    done: set[str] = set()
    out = []
    while remaining:
        ready = sorted(n for n, d in remaining.items() if d <= done)
        if not ready:
            raise BuildError("reference cycle: " + " -> ".join(find_cycle(remaining)))
        out.append(ready)
        done.update(ready)
        for n in ready:
            del remaining[n]
    return out


def find_cycle(remaining: dict[str, set[str]]) -> list[str]:
    """A cycle, as a path back to its start, among nodes that all wait on
    at least one other node of `remaining`."""
    node = min(remaining)
    path: list[str] = []
    while node not in path:
        path.append(node)
        node = min(d for d in remaining[node] if d in remaining)
    return path[path.index(node):] + [node]


def rewrite_text(out_path: str, member_path: str, text: str, versioned: dict[str, str],
                 keeps_sourcemap: bool, policy: RefPolicy, memo: Memo | None = None) -> str:
    """Point every link in `text` (written in `member_path`, published at
    `out_path`) at its target's versioned file; drop sourcemap comments that no
    longer apply, and rebase links left alone when a bundle moved the text to
    another folder.  `memo` caches the scan of `text` (see scan)."""
    found = scan(member_path, text, keeps_sourcemap=True, memo=memo)
    links = [resolve_link(member_path, ref, versioned, policy) for ref in found]
    # A file copied unminified loses only a dangling map of ours (an inline or
    # absolute one is not ours and stays valid); minified text and bundle
    # members lose every map: it no longer describes the bytes.
    cut = [ref for ref, link in zip(found, links, strict=True) if ref.kind == "sourcemap"
           and (not keeps_sourcemap or (link and link.target not in versioned))]
    if cut:  # cut the comments, then scan the shorter text again
        for ref in sorted(cut, key=lambda r: -r.start):
            text = _without_comment(text, ref)
        found = scan(member_path, text, keeps_sourcemap=True)
        links = [resolve_link(member_path, ref, versioned, policy) for ref in found]
    replacements = []
    for ref, link in zip(found, links, strict=True):
        if link and link.target in versioned:
            if refs.is_root_relative(ref.url):  # a path from the root: no folder to climb
                new = policy.root_path + refs.relative_url("", versioned[link.target])
            else:
                new = _dot_relative(ref, refs.relative_url(out_path, versioned[link.target]))
            replacements.append((ref, _encode_whitespace(new) + refs.split_url(ref.url)[1]))
        elif (out_path != member_path and refs.is_local(ref.url)
              and not _left_to_import_map(ref, policy)):
            new = _dot_relative(ref, refs.rebase(ref.url, _folder(member_path), _folder(out_path)))
            if new != ref.url:
                replacements.append((ref, _encode_whitespace(new)))
    return refs.rewrite(text, replacements) if replacements else text


def _dot_relative(ref, url: str) -> str:
    """A relative module specifier must start with ./ or ../ (else it is bare)."""
    if ref.kind in JS_KINDS and not url.startswith("../"):
        return "./" + url
    return url


# rcssmin strips whitespace inside url(), quoted or not ("my image.png"
# becomes "myimage.png"), and a URL never needs it raw: write it as %20.
_WHITESPACE = re.compile(r"[ \t\n\r\f]")


def _encode_whitespace(url: str) -> str:
    return _WHITESPACE.sub(lambda m: f"%{ord(m.group()):02X}", url)


def _without_comment(text: str, ref) -> str:
    """`text` minus the `/*# ... */` or `//# ...` comment holding `ref`."""
    line_start = text.rfind("\n", 0, ref.start) + 1
    block = text.rfind("/*", line_start, ref.start)
    if block >= 0:
        end = text.find("*/", ref.end)
        return text[:block] + text[end + 2 if end >= 0 else len(text):]
    line_end = text.find("\n", ref.end)
    comment = text.rfind("//", line_start, ref.start)
    if text[line_start:comment].strip():  # code before it (`var x;//# ...`): keep the code
        return text[:comment] + (text[line_end:] if line_end >= 0 else "")
    return text[:line_start] + (text[line_end + 1:] if line_end >= 0 else "")


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""
