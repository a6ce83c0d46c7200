"""`manage.py check`: the manifest exists and parses, and WhiteNoise can use it.

A missing or unreadable manifest is an Error (a Warning with DEBUG on, so a
fresh checkout can still run `migrate` before its first build); each
message names the setting to fix.
"""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning

from assetpipe.contrib import ManifestUnavailable
from assetpipe.contrib.django.conf import SETTING, manifest_path
from assetpipe.contrib.whitenoise import BUILD_CONFIG, GZIP_SUFFIX
from assetpipe.manifest import Manifest

WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"


def check_manifest(app_configs=None, **kwargs) -> list:
    level = Warning if settings.DEBUG else Error
    try:
        path = manifest_path()
        manifest = Manifest.load(path)
    except ManifestUnavailable as exc:
        return [level(str(exc), id="assetpipe.E001")]
    except OSError as exc:
        return [level(f"{SETTING}: cannot read {path} ({exc.strerror})", id="assetpipe.E001",
                      hint=f"run `assetpipe build`, or point {SETTING} (default: STATIC_ROOT/"
                           "manifest.json) at the build output's manifest.json")]
    except ValueError as exc:
        return [level(f"{SETTING}: {path} is not a readable manifest ({exc})",
                      id="assetpipe.E002", hint="rebuild it with `assetpipe build`")]
    return _whitenoise_warnings(manifest)


def _whitenoise_warnings(manifest: Manifest) -> list:
    """WhiteNoise serves `.gz`/`.br` twins only: other twins are dead weight."""
    if WHITENOISE not in getattr(settings, "MIDDLEWARE", ()):
        return []
    suffixes = {twin[len(entry["path"]):] for entry in manifest.assets.values()
                for encoding, twin in entry.get("encodings", {}).items() if encoding == "gzip"}
    if suffixes and suffixes != {GZIP_SUFFIX}:
        return [Warning(f"{manifest.path}: gzip twins end in {', '.join(sorted(suffixes))}; "
                        f"WhiteNoise only serves {GZIP_SUFFIX}", id="assetpipe.W001",
                        hint="in assetpipe.toml set " + BUILD_CONFIG.replace("\n", " ").strip())]
    return []
