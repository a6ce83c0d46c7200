"""Framework adapters over the runtime Manifest: Django, Flask, WhiteNoise.

They import the standard library, markupsafe (via assetpipe.jinja) and the
framework they adapt — never a build dependency (boto3, Pillow, rjsmin,
oxipng): apps import them at start-up.
"""
from __future__ import annotations

from assetpipe.errors import AssetpipeError
from assetpipe.manifest import Manifest


class ManifestUnavailable(AssetpipeError):
    """The manifest a setting points at cannot be read; the message names the setting."""


def open_manifest(path: str, setting: str) -> Manifest:
    """Manifest.load with an error that says which setting to fix."""
    try:
        return Manifest.load(path)
    except OSError as exc:
        raise ManifestUnavailable(
            f"{setting}: cannot read {path} ({exc.strerror}); run `assetpipe build`, "
            f"or point {setting} at the build output's manifest.json") from None
    except ValueError as exc:
        raise ManifestUnavailable(f"{setting}: {path} is not a readable manifest ({exc})") from None
