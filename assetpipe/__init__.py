"""assetpipe: static assets built once, versioned by content, cached forever.

Only the runtime reader is imported here, so `from assetpipe import Manifest`
costs the standard library alone.
"""
from assetpipe.manifest import AssetNotFound, Manifest

__version__ = "0.1.0"
__all__ = ["AssetNotFound", "Manifest", "__version__"]
