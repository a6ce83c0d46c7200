"""Shared fixtures: the public benchmark corpus of real front-end packages."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path.home() / ".cache" / "assetpipe" / "corpus"


def _fetch_script() -> Path | None:
    """`<repo root>/../shared/corpus/fetch-corpus.sh`; from a git worktree the
    repo root that matters is the main checkout's, so try that too."""
    roots = [REPO]
    common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                            cwd=REPO, capture_output=True, text=True)
    if common.returncode == 0:
        roots.append(Path(common.stdout.strip()).parent)
    for root in roots:
        script = root.parent / "shared" / "corpus" / "fetch-corpus.sh"
        if script.is_file():
            return script
    return None


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The corpus folder: $ASSETPIPE_CORPUS, else ~/.cache/assetpipe/corpus,
    downloaded by fetch-corpus.sh when missing."""
    path = Path(os.environ.get("ASSETPIPE_CORPUS") or DEFAULT_CORPUS)
    if not (path / "bootstrap").is_dir():
        script = _fetch_script()
        if script is None:
            pytest.fail(f"corpus missing at {path} and fetch-corpus.sh not found; "
                        "set ASSETPIPE_CORPUS to a fetched corpus")
        subprocess.run(["bash", str(script), str(path)], check=True)
    return path
