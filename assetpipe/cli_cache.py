"""`assetpipe build --shard K/N` and `assetpipe cache prune` (docs/cache.md)."""
from __future__ import annotations

import json

import click

from assetpipe.cli_options import CONFIG_OPTION, DEBUG_OPTION
from assetpipe.errors import BuildError, UsageError


def warm_shard(config, text: str, jobs, as_json: bool, combined: bool) -> None:
    from assetpipe.build import warm
    from assetpipe.cache_build import parse_shard
    shard = parse_shard(text)
    if shard is None:
        raise UsageError(f"--shard: {text!r} is not K/N with 1 <= K <= N, e.g. 1/4")
    if combined:
        raise UsageError("--shard cannot be combined with --ref or --watch")
    if not config.cache.remote:
        raise UsageError("--shard warms the remote cache: set cache.remote = \"s3://bucket/prefix\"")
    report = warm(config, shard, jobs)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(dict(report.as_dict(), shard=text), sort_keys=True))
        return
    computed = sum(kind["computed"] for name, kind in report.cache.items() if name != "remote")
    remote = report.cache.get("remote", {})
    click.echo(f"shard {text}: {report.files} outputs, {computed} results computed, "
               f"{remote.get('entries_pushed', 0)} pushed "
               f"({remote.get('pushed_bytes', 0) / 1e6:.2f} MB) in {report.seconds:.2f} s")


@click.group()
@DEBUG_OPTION
def cache():
    """The shared remote cache of expensive results ([cache] remote)."""


@cache.command()
@CONFIG_OPTION
@click.option("--older-than", "days", type=click.FloatRange(min=0), required=True,
              metavar="DAYS", help="Delete packs last written more than DAYS days ago.")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@DEBUG_OPTION
def prune(config_file, days, dry_run):
    """Delete old packs from the remote cache (builds re-push what they miss)."""
    from assetpipe.cache_remote import prune as run_prune
    from assetpipe.config import load_config
    config = load_config(config_file)
    if not config.cache.remote:
        raise UsageError("cache prune: set cache.remote = \"s3://bucket/prefix\"")
    try:
        packs, nbytes = run_prune(config.cache, days, dry_run)
    except Exception as exc:  # botocore's errors are not OSErrors: one line, exit 1
        raise BuildError(f"cannot prune: {type(exc).__name__}: {exc}",
                         config.cache.remote) from None
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{config.cache.remote}: {verb} {packs} pack(s) ({nbytes / 1e6:.2f} MB) "
               f"older than {days:g} days")
