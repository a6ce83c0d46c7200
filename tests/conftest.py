"""Shared fixtures."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path("/root/.cache/assetpipe/corpus")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The public corpus: $ASSETPIPE_CORPUS, else the default cache, else fetched there."""
    if os.environ.get("ASSETPIPE_CORPUS"):
        return Path(os.environ["ASSETPIPE_CORPUS"])
    if not DEFAULT_CORPUS.is_dir():
        script = REPO.parent / "shared" / "corpus" / "fetch-corpus.sh"
        subprocess.run([str(script), str(DEFAULT_CORPUS)], check=True)
    return DEFAULT_CORPUS
