"""`assetpipe apache`: Apache 2.4 rules for the output folder, from templates.

The templates live in the top-level `apache/` folder (shipped in the wheel as
the package `assetpipe.apache`); this module only turns the config into the
plain data they need.  Everything the rules decide comes from the same places
as the build: types from media_types, caching and twins from policy.
"""
from __future__ import annotations

import re
from pathlib import Path

import jinja2

from assetpipe import __version__
from assetpipe.config import Config
from assetpipe.media_types import MEDIA_TYPES, content_type_header
from assetpipe.policy import IMMUTABLE_MAX_AGE, VERSIONED_NAME_RE, Twin, active_twins
BASE_MODULES = ("rewrite", "headers", "expires")
PROXY_MODULES = ("proxy", "proxy_http")


def twins(config: Config) -> tuple[Twin, ...]:
    """Configured twins in order of preference (policy.active_twins)."""
    c = config.compress
    return active_twins(c.gzip, c.gzip_suffix, c.brotli)


def _alternation(extensions) -> str:
    return "|".join(re.escape(ext.lstrip(".")) for ext in sorted(extensions))


def _grouped_types(extensions) -> list[tuple[str, list[str]]]:
    """Content-Type header -> its extensions, for one AddType/ForceType each."""
    groups: dict[str, list[str]] = {}
    for ext in sorted(extensions):
        groups.setdefault(content_type_header("name" + ext), []).append(ext)
    return sorted(groups.items())


def template_context(config: Config, htaccess: bool = False) -> dict:
    """Plain data for the templates; exposed so tests can assert on it."""
    active = twins(config)
    suffixes = {t.suffix for t in active}
    compressible = [ext for ext, (_, worth) in MEDIA_TYPES.items()
                    if worth and ext not in suffixes]
    fallback = config.apache.fallback
    fallback_url = fallback if "://" in fallback else ""
    return {
        "version": __version__,
        "htaccess": htaccess,
        "output": Path(config.output).as_posix(),
        "url_path": config.url_path,
        "modules": BASE_MODULES + (PROXY_MODULES if fallback_url else ()),
        # A twin suffix must not get a type of its own: it would replace the
        # type of the name before it (css.gz -> application/gzip).
        "types": _grouped_types(ext for ext in MEDIA_TYPES if ext not in suffixes),
        "twins": active,
        "twin_suffix_re": rf"\.(?:{_alternation(suffixes)})",
        "twin_types": [(header, _alternation(exts)) for header, exts in _grouped_types(compressible)],
        "compressible": _alternation(compressible),
        "versioned_re": VERSIONED_NAME_RE.pattern,
        "immutable_seconds": IMMUTABLE_MAX_AGE,
        "short_max_age": config.apache.short_max_age,
        "fallback": fallback,
        "fallback_url": fallback_url,
    }


def _environment() -> jinja2.Environment:
    try:  # installed: the templates are the package assetpipe.apache
        loader = jinja2.PackageLoader("assetpipe.apache", ".")
    except ModuleNotFoundError:  # a source checkout: apache/ beside the package
        loader = jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "apache")
    return jinja2.Environment(loader=loader, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def render(config: Config, htaccess: bool = False) -> str:
    """The server/<VirtualHost> snippet, or with `htaccess` the per-directory file."""
    env = _environment()
    context = template_context(config, htaccess)
    rules = env.get_template("rules.conf.j2").render(context).rstrip("\n")
    page = "htaccess.conf.j2" if htaccess else "server.conf.j2"
    return env.get_template(page).render(context, rules=rules)
