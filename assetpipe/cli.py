"""The command line: thin wrappers over the stage modules.

`main(argv) -> int` is the one place exceptions become exit codes:
UsageError/click usage -> 2, BuildError -> 1; tracebacks only with --debug.
"""
from __future__ import annotations

import json
import os
import sys

import click

from assetpipe.errors import AssetpipeError, UsageError

CONFIG_OPTION = click.option("--config", "config_file", metavar="FILE",
                             help="Config file (default: ./assetpipe.toml or [tool.assetpipe] "
                                  "in ./pyproject.toml).")


def _load(config_file):
    from assetpipe.config import load_config
    return load_config(config_file)


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _progress_factory(quiet: bool):
    """A rich progress bar on a terminal, nothing otherwise (CI logs stay clean)."""
    if quiet or not sys.stdout.isatty():
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    bar = Progress("[progress.description]{task.description}", BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), transient=True)

    def start(total: int):
        task = bar.add_task("building", total=total)
        return lambda n: bar.advance(task, n)
    return bar, start


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="assetpipe")
@click.pass_context
def cli(ctx, debug):
    """Build, version, precompress and publish static assets."""
    ctx.obj = {"debug": debug}


@cli.command()
@CONFIG_OPTION
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report on stdout, nothing else.")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no summary.")
@click.option("--ref", metavar="REF", help="Build the sources as of a tag, branch or commit "
              "(with the working tree's config) without touching the working tree.")
@click.option("--watch", is_flag=True, help="Keep rebuilding when a source or the config changes.")
@click.option("--debug", is_flag=True, hidden=True)
@click.pass_context
def build(ctx, config_file, jobs, as_json, quiet, ref, watch, debug):
    """One full build of the output folder (incremental when a cache is present)."""
    ctx.obj["debug"] |= debug
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
    from assetpipe.build import build as run_build
    bar, start = _progress_factory(quiet or as_json)
    if bar:
        with bar:
            report = run_build(config, jobs, start, origin)
    else:
        report = run_build(config, jobs, None, origin)
    for warning in report.warnings:
        _echo_err(f"warning: {warning}")
    if as_json:
        click.echo(json.dumps(dict(report.as_dict(), output=config.output), sort_keys=True))
    elif not quiet:
        _echo_summary(report, config.output)


def _watch(config_file, jobs, quiet: bool) -> None:
    """Rebuild on changes until SIGINT/SIGTERM; a second signal interrupts a running build."""
    import signal
    import threading
    from assetpipe.watch import watch
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    if not quiet:
        click.echo("watching for changes (Ctrl-C to stop)")
    watch(lambda: _load(config_file), lambda config: _build_once(config, jobs, False, quiet),
          lambda message: _echo_err(f"error: {message}"), stop)
    if not quiet:
        click.echo("stopped watching")


@cli.command()
@CONFIG_OPTION
@click.option("--keep", type=click.IntRange(min=0), default=3, show_default=True,
              help="Keep the files of the newest N builds (history entries).")
@click.option("--min-age", type=click.FloatRange(min=0), default=3600, show_default=True,
              metavar="SECONDS", help="Keep files written, or builds replaced, less than this long ago.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
def clean(config_file, keep, min_age, dry_run):
    """Remove versioned files (and twins) no recent build refers to."""
    from assetpipe.clean import clean as run_clean
    config = _load(config_file)
    plan = run_clean(config.output, keep, min_age, dry_run)
    verb = "would remove" if dry_run else "removed"
    for rel in plan.files:
        click.echo(f"{verb} {rel}")
    click.echo(f"{config.output}: {verb} {len(plan.files)} file(s) ({plan.bytes / 1e6:.2f} MB) "
               f"and {len(plan.entries)} old history entries")


def _echo_summary(report, output: str) -> None:
    if report.noop:
        click.echo(f"{output}: up to date ({report.files} files, {report.seconds:.2f} s)")
        return
    def mb(n):
        return f"{n / 1e6:.2f} MB"
    click.echo(f"{output}: {report.files} files ({report.processed} processed, "
               f"{report.written} written) in {report.seconds:.2f} s")
    click.echo(f"  bytes: {mb(report.bytes_in)} in -> {mb(report.bytes_out)} out "
               f"-> {mb(report.bytes_gzip)} with gzip twins"
               + (f" -> {mb(report.bytes_br)} with brotli twins" if report.bytes_br != report.bytes_out else ""))
    if not report.manifest_changed:
        click.echo("  manifest.json unchanged")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status instead of exiting."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        cli.main(args=argv, prog_name="assetpipe", standalone_mode=False)
    except click.exceptions.Abort:
        _echo_err("aborted")
        return 1
    except click.exceptions.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except AssetpipeError as exc:
        if debug:
            raise
        _echo_err(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _echo_err("interrupted")
        return 130
    except Exception as exc:
        if debug:
            raise
        _echo_err(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
