"""Flask integration: `Assetpipe(app)` or `ext.init_app(app)`.

    app = Flask(__name__, static_folder="build/static")   # the build output
    Assetpipe(app)

- `url_for("static", filename="js/site.js")` gives the versioned URL
  (`/static/js/site.v1a2b3c4d5e.js`) when the manifest has the name, and the
  plain one otherwise; Flask's static route then serves the versioned file.
- Templates get `asset_url()`, `script_tag()`, `stylesheet_tag()` (with SRI):
  assetpipe.jinja's helpers, installed in `app.jinja_env`.

Config keys: `ASSETPIPE_MANIFEST` (default: manifest.json in the static
folder), `ASSETPIPE_DEV` (one tag per bundle member; default: $ASSETPIPE_DEV).
"""
from __future__ import annotations

import os

from assetpipe.contrib import ManifestUnavailable, open_manifest
from assetpipe.jinja import AssetHelpers, install
from assetpipe.manifest import MANIFEST_NAME

SETTING = "ASSETPIPE_MANIFEST"


class Assetpipe:
    def __init__(self, app=None) -> None:
        self.helpers: AssetHelpers | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app) -> None:
        """Read the manifest (a clear error naming ASSETPIPE_MANIFEST if it
        cannot be), install the helpers and version `url_for("static")`."""
        if app.static_folder:
            app.config.setdefault(SETTING, os.path.join(app.static_folder, MANIFEST_NAME))
        app.config.setdefault("ASSETPIPE_DEV", None)
        path = app.config.get(SETTING)
        if not path:
            raise ManifestUnavailable(f"{SETTING}: not set, and the app has no static folder")
        manifest = open_manifest(os.fspath(path), SETTING)
        helpers = install(app.jinja_env, manifest, app.config["ASSETPIPE_DEV"])
        app.extensions["assetpipe"] = self.helpers = helpers
        app.url_defaults(_versioned_static(helpers))


def _versioned_static(helpers: AssetHelpers):
    """A url_defaults callback: the static endpoint's filename becomes the
    versioned path; `url_for` builds the rest (prefix, _external) as usual."""
    def callback(endpoint: str, values: dict) -> None:
        name = values.get("filename")
        if endpoint != "static" or not isinstance(name, str):
            return
        manifest = helpers.manifest
        manifest.reload_if_changed()
        if name in manifest:
            values["filename"] = manifest.path_of(name)
    return callback
