"""Server rules for the output folder: one context for every server's templates.

The Apache, nginx and Caddy templates live in top-level folders of those
names (shipped in the wheel as `assetpipe.apache`, `assetpipe.nginx`,
`assetpipe.caddy`).  They all render from `template_context`, which turns
the config into plain data taken from the same places as the build — types
from media_types; caching, twins, versioned names and CORS from policy — so
the three servers cannot drift apart.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from assetpipe import __version__
from assetpipe.config import Config
from assetpipe.errors import UsageError
from assetpipe.media_types import MEDIA_TYPES, content_type_header
from assetpipe.policy import (
    CORS_NAME_RE,
    IMMUTABLE_CACHE_CONTROL,
    IMMUTABLE_MAX_AGE,
    VERSIONED_NAME_RE,
    Twin,
    active_twins,
    cors_origin,
    names_re,
    prehashed_re,
    regex_literal,
    short_cache_control,
)
from assetpipe.publish import read_current

SERVERS = ("apache", "nginx", "caddy")


def twins(config: Config) -> tuple[Twin, ...]:
    """Configured twins in order of preference (policy.active_twins)."""
    c = config.compress
    return active_twins(c.gzip, c.gzip_suffix, c.brotli)


def alternation(extensions) -> str:
    """`css|js` for a regex group, from extensions with their dots."""
    return "|".join(re.escape(ext.lstrip(".")) for ext in sorted(extensions))


def grouped_types(extensions) -> list[tuple[str, list[str]]]:
    """Content-Type header -> its extensions, for one type rule each."""
    groups: dict[str, list[str]] = {}
    for ext in sorted(extensions):
        groups.setdefault(content_type_header("name" + ext), []).append(ext)
    return sorted(groups.items())


def accepts_re(encoding: str) -> str:
    """Accept-Encoding lists `encoding` (case-insensitive match; see refuses_re)."""
    return rf"(?:^|,)\s*{encoding}\s*(?:;|,|$)"


def refuses_re(encoding: str) -> str:
    """Accept-Encoding gives `encoding` q=0: it must not be sent (RFC 9110 12.5.3)."""
    return rf"(?:^|,)\s*{encoding}\s*;\s*q=0(?:\.0*)?\s*(?:,|$)"


def template_context(config: Config) -> dict:
    """Plain data for every server's templates; exposed so tests can assert on it."""
    active = twins(config)
    suffixes = {t.suffix for t in active}
    compressible = [ext for ext, (_, worth) in MEDIA_TYPES.items()
                    if worth and ext not in suffixes]
    fallback = config.apache.fallback
    fallback_url = fallback if "://" in fallback else ""
    return {
        "version": __version__,
        "output": Path(config.output).as_posix(),
        "url_path": config.url_path,
        # A twin suffix must not get a type of its own: it would replace the
        # type of the name before it (css.gz -> application/gzip).
        "types": grouped_types(ext for ext in MEDIA_TYPES if ext not in suffixes),
        "twins": [{"encoding": t.encoding, "suffix": t.suffix, "accepts_re": accepts_re(t.encoding),
                   "refuses_re": refuses_re(t.encoding)} for t in active],
        "gzip_suffix": config.compress.gzip_suffix if config.compress.gzip else "",
        "brotli": config.compress.brotli,
        "twin_suffix_re": rf"\.(?:{alternation(suffixes)})",
        "twin_types": [(header, alternation(exts)) for header, exts in grouped_types(compressible)],
        "compressible": alternation(compressible),
        "versioned_re": VERSIONED_NAME_RE.pattern,
        **_prehashed_context(config),
        "immutable_cache_control": IMMUTABLE_CACHE_CONTROL,
        "immutable_max_age": IMMUTABLE_MAX_AGE,
        "short_cache_control": short_cache_control(config.apache.short_max_age),
        "short_max_age": config.apache.short_max_age,
        "fallback": fallback,
        "fallback_url": fallback_url,
        # A proxy target split for servers whose proxy takes no path (nginx
        # proxy_pass in a named location, Caddy reverse_proxy).
        "fallback_origin": fallback_url[:len(fallback_url) - len(urlsplit(fallback_url).path)],
        "fallback_path": urlsplit(fallback_url).path or fallback,
        "cors_origin": cors_origin(config.serve.cors, config.url_prefix),
        "cors_re": CORS_NAME_RE.pattern,
        **_charset_context(config),
    }


def _charset_context(config: Config) -> dict:
    """Per-asset exceptions to the type table: text the build found not to be
    UTF-8 (manifest entries with `not_utf8`, read now: the rules must be
    regenerated when that list changes, and `--check` fails until they are)
    gets its bare type.  Grouped by type; regexes over the same three
    subjects as the versioned ones (URL path, path inside handle_path, file)."""
    manifest = read_current(config.output)
    groups: dict[str, list[str]] = {}
    for logical, entry in sorted((manifest or {}).get("assets", {}).items()):
        if entry.get("not_utf8"):  # a prehashed (or Vite) entry's name is its path
            name = entry["path"] if entry.get("prehashed") else logical
            groups.setdefault(content_type_header(name, utf8=False), []).append(name)
    note = (["Text that is not UTF-8 is served with its bare type (no charset=utf-8):",
             "the names below are the manifest's not_utf8 entries when these rules were",
             "made; regenerate them after a build changes that list (--check tells)."]
            if manifest else
            ["No manifest.json in the output yet: text that is not UTF-8 gets no",
             "exception here; regenerate these rules after `assetpipe build`."])
    output = regex_literal(Path(config.output).as_posix())

    def exception(ctype: str, names: list[str]) -> dict:
        either = "|".join(map(names_re, names))
        return {"type": ctype, "names": names,
                "path_re": f"^{regex_literal(config.url_path)}(?:{either})$",
                "stripped_re": f"^/(?:{either})$", "file_re": f"^{output}/(?:{either})$"}
    return {"charset_note": note, "charset_exceptions": [
        exception(ctype, names) for ctype, names in sorted(groups.items())]}


def _prehashed_context(config: Config) -> dict:
    """Regexes for the names caching treats as versioned, `[versioning]
    prehashed` included, over the URL path: `*_path_re` the whole one (nginx
    $uri), `*_stripped_re` the one inside Caddy's handle_path (prefix
    removed).  Apache's FilesMatch sees only the base name, so it gets the
    prehashed globs on their own, against the file's path (`prehashed_file_re`)."""
    prehashed = config.versioning.prehashed

    def with_prehashed(name_re: str, prefix: str) -> str:
        if not prehashed:
            return name_re
        return f"(?:{name_re})|(?:{prehashed_re(prehashed, re.escape(prefix))})"
    file_re = prehashed_re(prehashed, re.escape(Path(config.output).as_posix() + "/"))
    return {f"{kind}_{where}_re": with_prehashed(name_re.pattern, prefix)
            for kind, name_re in (("versioned", VERSIONED_NAME_RE), ("cors", CORS_NAME_RE))
            for where, prefix in (("path", config.url_path), ("stripped", "/"))
            } | {"prehashed_file_re": file_re if prehashed else ""}


def environment(server: str) -> jinja2.Environment:
    """The Jinja environment for one server's template folder."""
    try:  # installed: the templates are the package assetpipe.<server>
        loader: jinja2.BaseLoader = jinja2.PackageLoader(f"assetpipe.{server}", ".")
    except ModuleNotFoundError:  # a source checkout: <server>/ beside the package
        loader = jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / server)
    return jinja2.Environment(loader=loader, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def render(config: Config, server: str) -> str:
    """nginx or Caddy rules: the server's `rules.j2` rendered with the shared context."""
    context = template_context(config)
    internal = server == "nginx" and config.nginx.include
    if context["fallback"] and not context["fallback_url"] and not internal:
        # A path is handed to another handler of the same server: nginx has
        # one only with [nginx] include; a Caddy route cannot pass a request
        # on to the site's other routes.
        hint = " (or set nginx.include to the file with its location)" if server == "nginx" else ""
        raise UsageError(f"apache.fallback: {server} rules need a backend URL like "
                         f"\"http://127.0.0.1:8000/\", not a path ({context['fallback']!r}){hint}")
    return environment(server).get_template("rules.j2").render(context, nginx=config.nginx)
