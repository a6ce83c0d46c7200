"""Shared fixtures: the public corpus, one corpus build, small source trees.

Every config written here sets `[images] png = "off"` unless a test says
otherwise: the PNG stage is not part of the core build under test.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NODE_CACHE = Path(os.environ.get("ASSETPIPE_NODE_PREFIX") or Path.home() / ".cache" / "assetpipe" / "node")
PNG_OFF = '[images]\npng = "off"\n'


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The public corpus: $ASSETPIPE_CORPUS, else ~/.cache/assetpipe/corpus.

    tests/corpus/fetch.py brings it to the pins of tests/corpus/packages.txt on
    first use; when every package is current it only reads their stamps."""
    target = Path(os.environ.get("ASSETPIPE_CORPUS")
                  or Path.home() / ".cache" / "assetpipe" / "corpus")
    command = [sys.executable, str(REPO / "tests" / "corpus" / "fetch.py"), str(target)]
    done = subprocess.run([*command, "--quiet"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{done.stderr.strip()}; fetch the corpus with: {' '.join(command)}")
    return target


@pytest.fixture(scope="session")
def corpus_build(corpus_dir, tmp_path_factory):
    """One build of the whole corpus (png off, brotli on): (config, report, output Path)."""
    from assetpipe.build import build
    from assetpipe.config import load_config
    root = tmp_path_factory.mktemp("corpus-build")
    cfg = write_config(root, source=corpus_dir, extra='[compress]\nbrotli = true\n')
    config = load_config(str(cfg))
    report = build(config)
    return config, report, Path(config.output)


@pytest.fixture(scope="session")
def acorn_dir() -> Path:
    """node_modules holding acorn 8 (installed into the cache once)."""
    modules = NODE_CACHE / "node_modules"
    if not (modules / "acorn" / "package.json").is_file():
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                        "--prefix", str(NODE_CACHE), "acorn@8"], check=True)
    return modules


def missing_tool(problem: str) -> None:
    """Integration tests never pass by skipping: fail, unless ASSETPIPE_ALLOW_SKIP=1."""
    if os.environ.get("ASSETPIPE_ALLOW_SKIP") == "1":
        pytest.skip(problem)
    pytest.fail(problem)


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create files under root; str content is written as UTF-8."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def write_config(folder: Path, source: Path | str = "static", output: str = "out",
                 extra: str = "", png_off: bool = True, name: str = "assetpipe.toml") -> Path:
    """A config file in `folder`; `extra` is appended TOML (sections, [[bundle]]s)."""
    text = f'source = "{source}"\noutput = "{output}"\n' + extra + "\n"
    if png_off:
        text += PNG_OFF
    path = folder / name
    path.write_text(text)
    return path


def build_dir(cfg: Path, **kwargs):
    """Build in-process from a config path; returns the BuildReport."""
    from assetpipe.build import build
    from assetpipe.config import load_config
    return build(load_config(str(cfg)), **kwargs)


def load_manifest(output: Path) -> dict:
    return json.loads((output / "manifest.json").read_bytes())


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def manifest_problems(output: Path) -> list[str]:
    """The published-output invariant: what manifest.json names exists, matches, decompresses."""
    path = output / "manifest.json"
    if not path.exists():
        return []
    problems = []
    for logical, entry in load_manifest(output)["assets"].items():
        file = output / entry["path"]
        if not file.is_file():
            problems.append(f"{logical}: {entry['path']} missing")
            continue
        data = file.read_bytes()
        if sri(data) != entry["integrity"] or len(data) != entry["size"]:
            problems.append(f"{logical}: {entry['path']} does not match its integrity/size")
        for encoding, twin in entry.get("encodings", {}).items():
            twin_file = output / twin
            if not twin_file.is_file():
                problems.append(f"{logical}: twin {twin} missing")
            elif decompress(encoding, twin_file.read_bytes()) != data:
                problems.append(f"{logical}: twin {twin} does not decompress to its file")
    return problems


def decompress(encoding: str, data: bytes) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        import brotli
        return brotli.decompress(data)
    raise AssertionError(f"unknown encoding {encoding}")


def published_files(output: Path) -> dict[str, bytes]:
    """Every file of the output folder (the build keeps its state elsewhere)."""
    found = {}
    for folder, _dirs, files in os.walk(output):
        for name in files:
            full = Path(folder, name)
            found[full.relative_to(output).as_posix()] = full.read_bytes()
    return found


def temp_litter(output: Path) -> list[str]:
    """`.assetpipe-tmp-*` files anywhere under `output` (or a state folder)."""
    return sorted(str(p.relative_to(output)) for p in output.rglob(".assetpipe-tmp-*"))


def state_dir(cfg: Path) -> Path:
    """The state folder a config resolves to (outside its output)."""
    from assetpipe.config import load_config
    return Path(load_config(str(cfg)).state_dir)


def run_cli(args: list[str], cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """`python -m assetpipe ARGS` in a subprocess, with this checkout importable."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "assetpipe", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, **kwargs)


def copy_example_site(tmp_path: Path) -> Path:
    """examples/site copied to tmp with png off; returns its config path."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "examples" / "site", site, ignore=shutil.ignore_patterns("build"))
    cfg = site / "assetpipe.toml"
    text = cfg.read_text()
    if "[images]" not in text:
        cfg.write_text(text + "\n" + PNG_OFF)
    return cfg
