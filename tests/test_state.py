"""assetpipe.state: the no-op fingerprint over every source's stat."""
from __future__ import annotations

from assetpipe.sources import Run, Scan
from assetpipe.state import fingerprint, inputs_hash


def scanned(files: dict[str, tuple[int, int, int]]) -> Scan:
    """A Scan of one folder /s/ holding `files` (name -> size, mtime, inode)."""
    return Scan([Run("/s/", "", list(files), False)], [n for stat in files.values() for n in stat])


def sources(*stats) -> Scan:
    return scanned({f"f{n}": stat for n, stat in enumerate(stats)})


def value(found: Scan) -> str:
    return fingerprint(inputs_hash("config", found), (1, 2, 3))


def test_every_stat_field_and_name_moves_the_fingerprint():
    base = value(sources((10, 20, 30), (11, 21, 31)))
    assert value(sources((10, 20, 30), (11, 21, 31))) == base
    for changed in [((10, 20, 30), (12, 21, 31)), ((10, 20, 30), (11, 22, 31)),
                    ((10, 20, 30), (11, 21, 32)), ((10, 20, 30),)]:
        assert value(sources(*changed)) != base, changed
    assert value(scanned({"g": (10, 20, 30), "f1": (11, 21, 31)})) != base


def test_numbers_beyond_64_bit_signed_still_hash_exactly():
    """An inode above 2**63 (some network file systems) or a date before 1678."""
    huge = value(sources((10, 20, 2**64 - 1)))
    assert huge == value(sources((10, 20, 2**64 - 1)))
    assert huge != value(sources((10, 20, 2**64 - 2)))
    assert value(sources((10, -(2**63) - 5, 1))) != value(sources((10, -(2**63) - 6, 1)))
