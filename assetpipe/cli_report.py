"""What the commands print besides errors: progress bars, summaries, rules
and check results."""
from __future__ import annotations

import os
import sys

import click


def with_progress(quiet: bool, label: str, run):
    """`run(start)` with a progress bar on a terminal, `run(None)` otherwise;
    `start(total)` shows the bar and returns the callable that advances it.
    The bar (rich, and its refresh thread) starts only then: a no-op build
    never shows one, and stats its sources from a process with no other
    thread (assetpipe/stat_split.py forks only from such a process)."""
    if quiet or not sys.stdout.isatty():   # CI logs stay clean
        return run(None)
    shown: list = []   # the bar, once started (a retried build adds a task to it)

    def start(total: int):
        if not shown:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
            shown.append(Progress("[progress.description]{task.description}", BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), transient=True))
            shown[0].start()
        bar = shown[0]
        task = bar.add_task(label, total=total)
        return lambda n: bar.advance(task, n)
    try:
        return run(start)
    finally:
        if shown:
            shown[0].stop()


def echo_summary(report, output: str) -> None:
    if report.noop:
        click.echo(f"{output}: up to date ({report.files} files, {report.seconds:.2f} s)")
        return
    def mb(n):
        return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"
    click.echo(f"{output}: {report.files} files ({report.processed} processed, "
               f"{report.written} written) in {report.seconds:.2f} s")
    click.echo(f"  bytes: {mb(report.bytes_in)} in -> {mb(report.bytes_out)} out "
               f"-> {mb(report.bytes_gzip)} with gzip twins"
               + (f" -> {mb(report.bytes_br)} with brotli twins"
                  if report.bytes_br != report.bytes_out else ""))
    if not report.manifest_changed:
        click.echo("  manifest.json unchanged")


def echo_plan(report) -> None:
    for verb, keys in (("upload", report.uploads), ("skip", report.skips),
                       ("delete", report.deletes)):
        for key in keys:
            click.echo(f"{verb} {key}")
    click.echo(f"{report.dest}: dry run: would upload {len(report.uploads)}, skip "
               f"{report.skipped}, delete {len(report.deletes)}; nothing was changed")


def echo_sync(report) -> None:
    click.echo(f"{report.dest}: {report.uploaded} uploaded "
               f"({report.bytes_uploaded / 1e6:.2f} MB), {report.skipped} skipped, "
               f"{report.deleted} deleted in {report.seconds:.2f} s"
               + ("; bucket CORS rule added" if report.cors_changed else ""))


def write_rules(text: str, out_file) -> None:
    if out_file:
        from assetpipe.writer import write_atomic
        write_atomic(os.path.abspath(out_file), text.encode())
    else:
        click.echo(text, nl=False)


def check_server(url: str, config) -> None:
    """The one check battery, whichever server the rules were written for."""
    from assetpipe.policy import cors_origin
    from assetpipe.server_check import run_checks
    run_checks(url, config.output, cors_origin(config.serve.cors, config.url_prefix), click.echo)


def echo_budgets(rows: list[dict]) -> None:
    """The budget table: rich on a terminal, plain columns in a log."""
    if not rows:
        return
    from rich.console import Console
    from rich.table import Table
    table = Table("asset", "budget", "kind", "size", "limit", "over", title="size budgets")
    for row in rows:
        over = f"[red]+{row['over']:,}[/red]" if row["over"] else "ok"
        table.add_row(row["asset"], row["budget"], row["kind"], f"{row['size']:,}",
                      f"{row['limit']:,}", over)
    Console(highlight=False).print(table)
