"""A staticfiles storage whose url() is the manifest's versioned URL.

With it in STORAGES["staticfiles"], every `{% static "js/site.js" %}` and
`static()` call returns `/static/js/site.v1a2b3c4d5e.js` with no template
change.  STATIC_ROOT is the build output, written by `assetpipe build`
(not by collectstatic: see docs/frameworks.md).
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.storage import StaticFilesStorage

from assetpipe.contrib import ManifestUnavailable
from assetpipe.contrib.django.conf import get_manifest
from assetpipe.manifest import AssetNotFound


class AssetpipeStorage(StaticFilesStorage):
    def url(self, name: str) -> str:
        """The versioned URL.  A name the manifest lacks is an AssetNotFound
        naming it, as ManifestStaticFilesStorage's strict mode does; with
        DEBUG on (no build yet, a file just added) it is the plain URL."""
        try:
            manifest = get_manifest()
        except ManifestUnavailable:
            if settings.DEBUG:
                return super().url(name)
            raise
        # "fonts/x.woff?v=4#iefix": the manifest knows the path; the rest is kept.
        cut = min((i for i in (name.find("?"), name.find("#")) if i >= 0), default=len(name))
        if name[:cut] in manifest:
            return manifest.url(name[:cut]) + name[cut:]
        if settings.DEBUG:
            return super().url(name)
        raise AssetNotFound(name, manifest.path)
