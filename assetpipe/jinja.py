"""Jinja2 helpers: `asset_url`, `script_tag`, `stylesheet_tag` (with SRI).

    env = jinja2.Environment(...)
    install(env, Manifest.load("build/static/manifest.json"))
    {{ script_tag("js/site.js", defer=True) }}

With `dev=True` (or ASSETPIPE_DEV=1 in the app's environment) a bundle
expands to one tag per member, each at its own versioned URL.
"""
from __future__ import annotations

import os

from markupsafe import Markup, escape

from assetpipe.manifest import Manifest


def _attrs(attrs: dict) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")   # class_ -> class, data_x -> data-x
        parts.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
    return "".join(parts)


class AssetHelpers:
    def __init__(self, manifest: Manifest, dev: bool | None = None):
        self.manifest = manifest
        self.dev = os.environ.get("ASSETPIPE_DEV") == "1" if dev is None else dev

    def _names(self, name: str) -> list[str]:
        self.manifest.reload_if_changed()
        entry = self.manifest.entry(name)
        return list(entry["sources"]) if self.dev and "sources" in entry else [name]

    def asset_url(self, name: str) -> str:
        self.manifest.reload_if_changed()
        return self.manifest.url(name)

    def _tag(self, name: str, render) -> Markup:
        tags = []
        for member in self._names(name):
            sri = {"integrity": self.manifest.integrity(member), "crossorigin": "anonymous"}
            tags.append(render(self.manifest.url(member), sri))
        return Markup("\n".join(tags))

    def script_tag(self, name: str, **attrs) -> Markup:
        return self._tag(name, lambda url, sri: Markup(
            f'<script src="{escape(url)}"{_attrs({**sri, **attrs})}></script>'))

    def stylesheet_tag(self, name: str, **attrs) -> Markup:
        return self._tag(name, lambda url, sri: Markup(
            f'<link rel="stylesheet" href="{escape(url)}"{_attrs({**sri, **attrs})}>'))


def install(env, manifest: Manifest, dev: bool | None = None) -> AssetHelpers:
    """Add the helpers to a jinja2.Environment's globals; returns them."""
    helpers = AssetHelpers(manifest, dev)
    env.globals.update(asset_url=helpers.asset_url, script_tag=helpers.script_tag,
                       stylesheet_tag=helpers.stylesheet_tag)
    return helpers
