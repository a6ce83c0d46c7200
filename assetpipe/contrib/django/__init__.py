"""Django integration: versioned `{% static %}`, asset tags with SRI, a system check.

settings.py::

    INSTALLED_APPS = [..., "django.contrib.staticfiles", "assetpipe.contrib.django"]
    STATIC_URL = "/static/"                 # = url_prefix in assetpipe.toml
    STATIC_ROOT = BASE_DIR / "build/static" # = output in assetpipe.toml
    STORAGES = {"staticfiles": {"BACKEND": "assetpipe.contrib.django.storage.AssetpipeStorage"},
                "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    # ASSETPIPE_MANIFEST = ...              # default: STATIC_ROOT / "manifest.json"
    # ASSETPIPE_DEV = True                  # one tag per bundle member (default: $ASSETPIPE_DEV)

Templates: `{% static "js/site.js" %}` unchanged, or `{% load assetpipe %}` and
`{% asset_script "js/site.js" defer=True %}`, `{% asset_stylesheet … %}`,
`{% asset_url … %}`.  See docs/frameworks.md.  This module imports nothing.
"""
