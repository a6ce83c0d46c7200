"""WhiteNoise preset: the build's caching-by-name rule, and the twins it serves.

WhiteNoise decides "immutable" per file with a test of its own (by default
Django's 12-hex `.hash.` names), so `.v<hex>` names would be cached for only
`max_age`; this test is `policy.is_versioned`, the rule every server and
`sync` use.  WhiteNoise looks for `<file>.gz` and `<file>.br` only: build with
`BUILD_CONFIG` (gzip_suffix ".gz", brotli on), or it sends no compressed
response at all.

Django settings::

    from assetpipe.contrib.whitenoise import DJANGO_SETTINGS
    globals().update(DJANGO_SETTINGS)

Plain WSGI (Flask, …)::

    app.wsgi_app = WhiteNoise(app.wsgi_app, root="build/static", prefix="static/",
                              **WSGI_OPTIONS)
"""
from __future__ import annotations

from assetpipe.policy import DEFAULT_SHORT_MAX_AGE, is_versioned


def immutable_file_test(path: str, url: str) -> bool:
    """WhiteNoise's hook: a versioned name (or its twin) never changes its bytes."""
    return is_versioned(url)


# Plain names (unversioned copies, manifest.json, pages) get the short policy
# the other servers use, instead of WhiteNoise's 60 s.
WSGI_OPTIONS = {"immutable_file_test": immutable_file_test, "max_age": DEFAULT_SHORT_MAX_AGE}
DJANGO_SETTINGS = {"WHITENOISE_IMMUTABLE_FILE_TEST": immutable_file_test,
                   "WHITENOISE_MAX_AGE": DEFAULT_SHORT_MAX_AGE}
# The [compress] settings whose twins WhiteNoise can serve.
GZIP_SUFFIX = ".gz"
BUILD_CONFIG = f'[compress]\ngzip_suffix = "{GZIP_SUFFIX}"\nbrotli = true\n'
