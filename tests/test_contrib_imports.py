"""The framework adapters stay light: importing them pulls in no build dependency."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

BUILD_ONLY = {"boto3", "botocore", "PIL", "rjsmin", "rcssmin", "oxipng", "brotli", "click", "rich"}


def imported_modules(statement: str) -> set[str]:
    """Every module `python -X importtime -c STATEMENT` reports importing."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", statement], cwd=REPO,
                            capture_output=True, text=True, check=True)
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


@pytest.mark.parametrize("statement, adapter", [
    ("import assetpipe.contrib.django", "assetpipe.contrib.django"),
    ("import assetpipe.contrib.django.apps, assetpipe.contrib.django.storage, "
     "assetpipe.contrib.django.checks, assetpipe.contrib.django.templatetags.assetpipe",
     "django.contrib.staticfiles.storage"),
    ("import assetpipe.contrib.flask", "assetpipe.jinja"),
    ("import assetpipe.contrib.whitenoise", "assetpipe.policy"),
])
def test_adapters_import_no_build_dependency(statement, adapter):
    modules = imported_modules(statement)
    assert adapter in modules            # the report was read: the adapter is in it
    assert {m.split(".")[0] for m in modules} & BUILD_ONLY == set()


def test_the_check_can_fail():
    """Negative control: the build's job module does import build dependencies."""
    modules = imported_modules("import assetpipe.jobs")
    assert {m.split(".")[0] for m in modules} & BUILD_ONLY
