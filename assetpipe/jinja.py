"""Jinja2 helpers: `asset_url`, `script_tag`, `stylesheet_tag` (with SRI),
and for ES modules `importmap_tag` and `modulepreload_tags`.

    env = jinja2.Environment(...)
    install(env, Manifest.load("build/static/manifest.json"))
    {{ script_tag("js/site.js", defer=True) }}

With `dev=True` (or ASSETPIPE_DEV=1 in the app's environment) a bundle
expands to one tag per member, each at its own versioned URL.
"""
from __future__ import annotations

import json
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


    def _module_url(self, name: str) -> str:
        """Versioned URL; in dev mode the plain name (the unversioned copy)."""
        return self.manifest.url_prefix + name if self.dev else self.manifest.url(name)

    def _closure(self, names: list[str]) -> list[str]:
        """`names` and everything they import statically, each once, in order."""
        seen: list[str] = []
        todo = list(names)
        while todo:
            name = todo.pop(0)
            if name not in seen:
                seen.append(name)
                todo.extend(self.manifest.imports(name))
        return seen

    def importmap_tag(self, *entries: str) -> Markup:
        """`<script type="importmap">` mapping each [importmap] specifier to its
        versioned URL, with an `integrity` section for the mapped modules,
        the `entries` given, and their static imports."""
        self.manifest.reload_if_changed()
        mapping = self.manifest.importmap
        doc: dict = {"imports": {spec: self._module_url(name) for spec, name in mapping.items()}}
        if not self.dev:
            names = self._closure(sorted(set(mapping.values())) + list(entries))
            doc["integrity"] = {self.manifest.url(n): self.manifest.integrity(n) for n in names}
        # "</" cannot end the script element early once written as "<\/".
        body = json.dumps(doc, indent=2, sort_keys=True).replace("</", "<\\/")
        return Markup(f'<script type="importmap">\n{body}\n</script>')

    def modulepreload_tags(self, entry: str) -> Markup:
        """`<link rel="modulepreload">` for a module and its static import
        closure, with SRI (in dev mode plain names, no SRI)."""
        self.manifest.reload_if_changed()
        tags = []
        for name in self._closure([entry]):
            sri = {} if self.dev else {"integrity": self.manifest.integrity(name)}
            attrs = _attrs({**sri, "crossorigin": "anonymous"})
            href = escape(self._module_url(name))
            tags.append(f'<link rel="modulepreload" href="{href}"{attrs}>')
        return Markup("\n".join(tags))


def install(env, manifest: Manifest, dev: bool | None = None) -> AssetHelpers:
    """Add the helpers to a jinja2.Environment's globals; returns them."""
    helpers = AssetHelpers(manifest, dev)
    env.globals.update(asset_url=helpers.asset_url, script_tag=helpers.script_tag,
                       stylesheet_tag=helpers.stylesheet_tag,
                       importmap_tag=helpers.importmap_tag,
                       modulepreload_tags=helpers.modulepreload_tags)
    return helpers
