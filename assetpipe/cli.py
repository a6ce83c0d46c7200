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
@click.option("--debug", is_flag=True, hidden=True)
@click.pass_context
def build(ctx, config_file, jobs, as_json, quiet, debug):
    """One full build of the output folder (incremental when a cache is present)."""
    ctx.obj["debug"] |= debug
    from assetpipe.build import build as run_build
    config = _load(config_file)
    bar, start = _progress_factory(quiet or as_json)
    if bar:
        with bar:
            report = run_build(config, jobs, start)
    else:
        report = run_build(config, jobs, None)
    for warning in report.warnings:
        _echo_err(f"warning: {warning}")
    if as_json:
        click.echo(json.dumps(dict(report.as_dict(), output=config.output), sort_keys=True))
    elif not quiet:
        _echo_summary(report, config.output)


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
    except click.UsageError as exc:
        # One line, like every other error (click's own format spans four).
        where = exc.ctx.command_path if exc.ctx else "assetpipe"
        _echo_err(f"error: {exc.format_message()} (see '{where} --help')")
        return 2
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except AssetpipeError as exc:
        if debug:  # the traceback, then the same one-line error and exit status
            traceback.print_exc()
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
