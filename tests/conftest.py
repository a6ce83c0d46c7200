"""Shared fixtures: the public benchmark corpus (see ../shared/corpus/README.md)."""
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path.home() / ".cache" / "assetpipe" / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The corpus folder: $ASSETPIPE_CORPUS, else ~/.cache/assetpipe/corpus,
    fetched with the shared script when missing."""
    target = Path(os.environ.get("ASSETPIPE_CORPUS") or DEFAULT_CORPUS)
    if not any(target.glob("*/package.json")):
        script = REPO_ROOT.parent / "shared" / "corpus" / "fetch-corpus.sh"
        subprocess.run([str(script), str(target)], check=True)
    return target
