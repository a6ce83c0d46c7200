"""`assetpipe build --watch`: rebuild whenever a source or the config changes.

Polling the stat of every source (what the no-op build checks anyway) is
simpler and more robust than file-system events: it sees editors' save-by-
rename, network mounts and folders created later alike, and costs a few
milliseconds per poll.  The config is re-read on every poll, so a syntax
error is reported and the next good save picks up where it left off; a
failing build is reported and the watch goes on.
"""
from __future__ import annotations

import threading

from assetpipe.errors import AssetpipeError

POLL_SECONDS = 0.25
# An editor's save or a `git checkout` touches several files: wait until the
# tree has been quiet this long before building.
SETTLE_SECONDS = 0.2


def watch(load_config, rebuild, report_error, stop: threading.Event,
          interval: float = POLL_SECONDS, settle: float = SETTLE_SECONDS) -> None:
    """Call rebuild(config) now and after each settled change, until `stop`
    is set; errors go to report_error(message) and the watch continues."""
    last = None
    while not stop.is_set():
        config, error, stamp = _poll(load_config)
        if stamp != last:
            if stop.wait(settle) or _poll(load_config)[2] != stamp:
                continue   # stopped, or still changing: look again
            last = stamp
            if error is None:
                error = _attempt(rebuild, config)
            if error is not None:
                report_error(error)
        stop.wait(interval)


def _poll(load_config):
    """(config or None, error message or None, stamp): the stamp changes
    when the config's meaning or any source's stat does."""
    from assetpipe.sources import scan
    try:
        config = load_config()
        found = scan(config.source)   # every path and stat, compared as they are
    except AssetpipeError as exc:
        return None, str(exc), ("error", str(exc))
    return config, None, (repr(config), found)


def _attempt(rebuild, config) -> str | None:
    try:
        rebuild(config)
    except AssetpipeError as exc:
        return str(exc)
    except Exception as exc:  # a bug must not end the developer's session
        return f"internal error: {type(exc).__name__}: {exc}"
    return None
