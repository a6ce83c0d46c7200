"""The Django app: registers the manifest system check."""
from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class AssetpipeConfig(AppConfig):
    name = "assetpipe.contrib.django"
    label = "assetpipe"
    verbose_name = "assetpipe"

    def ready(self) -> None:
        from assetpipe.contrib.django.checks import check_manifest
        # A tag of its own, not Tags.staticfiles: `collectstatic` runs only
        # staticfiles checks, and gathering apps' files into the source
        # folder comes before the first build, so before any manifest.
        checks.register(check_manifest, "assetpipe")
