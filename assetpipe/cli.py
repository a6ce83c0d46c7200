"""The command line: thin wrappers over the stage modules.

`main(argv) -> int` is the one place exceptions become exit codes:
UsageError/click usage -> 2, BuildError -> 1; tracebacks only with --debug.
"""
from __future__ import annotations

import json
import os
import sys
import traceback

import click

from assetpipe import cli_report as out
from assetpipe.cli_cache import cache as cache_group
from assetpipe.cli_options import CONFIG_OPTION, DEBUG_OPTION, JSON_OPTION
from assetpipe.errors import AssetpipeError, UsageError


def _load(config_file):
    from assetpipe.config import load_config
    return load_config(config_file)


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@DEBUG_OPTION
@click.version_option(package_name="assetpipe")
def cli():
    """Build, version, precompress and publish static assets."""


@cli.command()
@CONFIG_OPTION
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Worker processes (default: all cores).")
@JSON_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress and no summary.")
@click.option("--ref", metavar="REF", help="Build the sources as of a tag, branch or commit "
              "(with the working tree's config) without touching the working tree.")
@click.option("--watch", is_flag=True, help="Keep rebuilding when a source or the config changes.")
@click.option("--shard", metavar="K/N", help="Warm the remote cache: compute and push the "
              "expensive results of one N-th of the outputs; publish nothing.")
@DEBUG_OPTION
def build(config_file, jobs, as_json, quiet, ref, watch, shard):
    """One full build of the output folder (incremental when a cache is present)."""
    if shard:
        from assetpipe.cli_cache import warm_shard
        warm_shard(_load(config_file), shard, jobs, as_json, ref or watch)
        return
    if watch:
        if ref or as_json:
            raise UsageError("--watch cannot be combined with --ref or --json")
        _watch(config_file, jobs, quiet)
        return
    config = _load(config_file)
    if ref is None:
        _build_once(config, jobs, as_json, quiet)
        return
    import dataclasses

    from assetpipe.gitinfo import export
    with export(config.source, ref) as (folder, origin):
        _build_once(dataclasses.replace(config, source=folder), jobs, as_json, quiet, origin)


def _build_once(config, jobs, as_json: bool, quiet: bool, origin=None) -> None:
    from assetpipe.budgets import BudgetError
    from assetpipe.build import build as run_build
    failed = None
    try:
        report = out.with_progress(quiet or as_json, "building",
                                   lambda start: run_build(config, jobs, start, origin))
    except BudgetError as exc:  # still report what was built, then every breach
        report, failed = exc.report, exc
    for warning in report.warnings:
        _echo_err(f"warning: {warning}")
    if as_json:
        click.echo(json.dumps(dict(report.as_dict(), output=config.output,
                                   budget_breaches=failed.breaches if failed else []),
                              sort_keys=True))
    elif not quiet:
        out.echo_summary(report, config.output)
        out.echo_budgets(report.budgets)
    if failed:
        for breach in failed.breaches:
            _echo_err(f"error: {breach}")
        raise failed


def _watch(config_file, jobs, quiet: bool) -> None:
    """Rebuild on changes until SIGINT/SIGTERM; a second signal interrupts a running build."""
    from assetpipe.schedule import stop_on_signals
    from assetpipe.watch import watch
    if not quiet:
        click.echo("watching for changes (Ctrl-C to stop)")
    with stop_on_signals() as stop:
        watch(lambda: _load(config_file), lambda config: _build_once(config, jobs, False, quiet),
              lambda message: _echo_err(f"error: {message}"), stop)
    if not quiet:
        click.echo("stopped watching")


@cli.command()
@CONFIG_OPTION
@click.option("--keep", type=click.IntRange(min=0), default=3, show_default=True,
              help="Keep the files of the newest N builds (history entries).")
@click.option("--min-age", type=click.FloatRange(min=0), default=3600, show_default=True,
              metavar="SECONDS",
              help="Keep files written, or builds replaced, less than this long ago.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@DEBUG_OPTION
def clean(config_file, keep, min_age, dry_run):
    """Remove versioned files (and twins) no recent build refers to."""
    from assetpipe.clean import clean as run_clean
    config = _load(config_file)
    plan = run_clean(config.output, config.state_dir, keep, min_age, dry_run,
                     config.versioning.prehashed)
    verb = "would remove" if dry_run else "removed"
    for rel in plan.files:
        click.echo(f"{verb} {rel}")
    click.echo(f"{config.output}: {verb} {len(plan.files)} file(s) ({plan.bytes / 1e6:.2f} MB) "
               f"and {len(plan.entries)} old history entries")


OUT_OPTION = click.option("-o", "out_file", metavar="FILE",
                          help="Write the rules to FILE instead of stdout.")
CHECK_OPTION = click.option(
    "--check", "check_url", metavar="URL",
    help="Instead of writing rules, check the server that serves the output folder at URL "
         "(e.g. https://example.com/static/); exit 1 on any failure.")


@cli.command()
@CONFIG_OPTION
@OUT_OPTION
@click.option("--htaccess", is_flag=True,
              help="Per-directory variant, to save as .htaccess in the output folder.")
@CHECK_OPTION
@DEBUG_OPTION
def apache(config_file, out_file, htaccess, check_url):
    """Write the Apache 2.4 rules for the output folder (stdout without -o)."""
    config = _load(config_file)
    if check_url:
        out.check_server(check_url, config)
        return
    from assetpipe.apache_rules import render
    out.write_rules(render(config, htaccess), out_file)


def _server_command(server: str, summary: str) -> None:
    """`assetpipe nginx` / `assetpipe caddy`: rules from one shared context, or --check."""
    @cli.command(name=server, help=summary)
    @CONFIG_OPTION
    @OUT_OPTION
    @CHECK_OPTION
    @DEBUG_OPTION
    def command(config_file, out_file, check_url):
        config = _load(config_file)
        if check_url:
            out.check_server(check_url, config)
            return
        from assetpipe.server_rules import render
        out.write_rules(render(config, server), out_file)


_server_command("nginx", "Write the nginx rules (maps + a server block, for the http "
                         "context) for the output folder (stdout without -o).")
_server_command("caddy", "Write the Caddy rules (to import inside a site block) for the "
                         "output folder (stdout without -o).")


@cli.command()
@CONFIG_OPTION
@click.option("--every", metavar="SECONDS", is_flag=False, flag_value="config",
              help="Keep re-rendering every SECONDS (default: [pages] every) until "
                   "SIGTERM/SIGINT.")
@click.option("--once", is_flag=True, help="Render every page once (the default).")
@click.option("--systemd", "unit_name", metavar="NAME",
              help="Print a NAME.service + NAME.timer pair that runs `pages --once`.")
@click.option("--cron", is_flag=True, help="Print a crontab line that runs `pages --once`.")
@click.option("--dev", is_flag=True,
              help="Development: one tag per bundle member, at its own versioned URL.")
@DEBUG_OPTION
def pages(config_file, every, once, unit_name, cron, dev):
    """Render the static pages (templates and URL snapshots) into the output folder."""
    config = _load(config_file)
    if config.pages is None:
        raise UsageError(f"{config.config_path}: no [pages] section; add one with "
                         "[[pages.page]] entries (template = ... or url = ..., and path = ...)")
    if sum(map(bool, (once, unit_name, cron))) > 1 or (once and every):
        raise UsageError("pages: use only one of --once, --every, --systemd, --cron "
                         "(--every may set the period of --systemd/--cron)")
    from assetpipe import pages_run
    period = pages_run.period(every, config.pages.every)
    if unit_name or cron:
        pages_run.echo_schedule(config, unit_name, period)
    elif every:
        pages_run.render_every(config, period, dev)
    else:
        pages_run.render_once(config, dev)


@cli.command()
@click.argument("dest")
@click.option("--source", metavar="DIR",
              help="Folder to publish (default: the config's output; no config needed).")
@CONFIG_OPTION
@click.option("--endpoint-url", metavar="URL",
              help="S3-compatible endpoint (default: AWS, or AWS_ENDPOINT_URL).")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=8, show_default=True,
              help="Parallel uploads.")
@click.option("--prune", is_flag=True,
              help="Delete versioned objects no longer named by the newest --keep manifests.")
@click.option("--keep", type=click.IntRange(min=1), metavar="N",
              help="With --prune: how many synced manifests to keep objects for.")
@click.option("--max-delete", type=click.IntRange(min=0), metavar="N",
              help="Refuse (exit 1, nothing changed) when pruning would delete more.")
@click.option("--cors", is_flag=True,
              help="Add a CORS rule (GET/HEAD from [serve] cors's origin, or *) to the "
                   "bucket; done anyway when [serve] cors names an origin.")
@JSON_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress and no summary.")
@DEBUG_OPTION
def sync(dest, source, config_file, endpoint_url, dry_run, jobs, prune, keep, max_delete,
         cors, as_json, quiet):
    """Publish the output folder to DEST: s3://bucket/prefix or a local folder."""
    from assetpipe.config import Sync
    from assetpipe.sync import SyncOptions, bucket_cors_origin, run_sync
    if prune != (keep is not None):
        raise UsageError("--prune and --keep N go together")
    if max_delete is not None and not prune:
        raise UsageError("--max-delete only applies with --prune")
    config = _load(config_file) if config_file or not source else None
    options = SyncOptions(source=os.path.abspath(source) if source else config.output, dest=dest,
                          settings=config.sync if config else Sync(), endpoint_url=endpoint_url,
                          dry_run=dry_run, jobs=jobs, keep=keep, max_delete=max_delete,
                          cors=bucket_cors_origin(dest, config, cors),
                          protected=(config.source,) if config else (),
                          state_dir=config.state_dir if config and not source else None)
    report = out.with_progress(quiet or as_json or dry_run, "uploading",
                               lambda start: run_sync(options, start))
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True))
    elif dry_run:
        out.echo_plan(report)
    elif not quiet:
        out.echo_sync(report)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status instead of exiting."""
    argv = list(sys.argv[1:] if argv is None else argv)
    state = {"debug": False}
    try:
        cli.main(args=argv, prog_name="assetpipe", standalone_mode=False, obj=state)
    except click.exceptions.Abort:
        _echo_err("aborted")
        return 1
    except click.UsageError as exc:
        # One line, like every other error (click's own format spans four).
        where = exc.ctx.command_path if exc.ctx else "assetpipe"
        _echo_err(f"error: {exc.format_message()} (see '{where} --help')")
        return 2
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except AssetpipeError as exc:
        if state["debug"]:  # the traceback, then the same one-line error and exit status
            traceback.print_exc()
        _echo_err(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _echo_err("interrupted")
        return 130
    except OSError as exc:  # the file system at the edges: name the path, not a traceback
        if state["debug"]:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        _echo_err(f"error: {where}{exc.strerror or exc}")
        return 1
    except Exception as exc:
        if state["debug"]:
            raise
        _echo_err(f"internal error: {type(exc).__name__}: {exc} "
                  "(rerun with --debug for a traceback)")
        return 1
    return 0


cli.add_command(cache_group)

if __name__ == "__main__":
    sys.exit(main())
