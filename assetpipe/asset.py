"""The one record every stage passes along."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Asset:
    logical_path: str                 # what the app asks for: "css/site.css"
    source_paths: list[str]           # logical paths of the inputs ("sources" in the manifest)
    content: bytes                    # final bytes
    content_type: str
    versioned_path: str = ""          # "css/site.v1a2b3c4d5e.css"
    is_bundle: bool = False
    encodings: dict[str, bytes] = field(default_factory=dict)  # "gzip" -> twin bytes
