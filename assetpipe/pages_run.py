"""Running `assetpipe pages`: once, on a timer, or as a systemd/cron schedule.

Output goes through click: one summary line per tick on stdout, one line per
failed page (naming it) on stderr.
"""
from __future__ import annotations

import os
import sys
import time

import click

from assetpipe.errors import BuildError, UsageError


def period(every: str | None, default: float) -> float:
    if every in (None, "config"):
        return default
    try:
        seconds = float(every)
    except ValueError:
        seconds = 0.0
    from assetpipe.config_pages import MIN_EVERY
    if not MIN_EVERY <= seconds < float("inf"):
        raise UsageError(f"--every: {every!r} is not a number of seconds of at least "
                         f"{MIN_EVERY:g}")
    return seconds


def echo_schedule(config, unit_name: str | None, period: float) -> None:
    import shutil

    from assetpipe import schedule
    # An absolute program path: systemd and cron run with a minimal PATH.
    program = shutil.which("assetpipe")
    command = ([os.path.abspath(program)] if program else [sys.executable, "-m", "assetpipe"]) \
        + ["pages", "--once", "--config", config.config_path]
    if unit_name:
        try:
            click.echo(schedule.systemd_units(unit_name, command, period, config.root), nl=False)
        except ValueError as exc:
            raise UsageError(f"--systemd: {exc}") from None
    else:
        click.echo(schedule.cron_line(command, period), nl=False)


def render_once(config, dev: bool = False) -> None:
    from assetpipe.pages import PageRenderer
    results = _render_tick(PageRenderer(config, dev), stamped=False)
    failed = [r for r in results if r.error]
    if failed:
        raise BuildError(f"{len(failed)} of {len(results)} pages failed "
                         "(their last good versions were kept)")


def render_every(config, period: float, dev: bool = False) -> None:
    from assetpipe.pages import PageRenderer
    from assetpipe.schedule import run_every, stop_on_signals
    renderer = PageRenderer(config, dev)
    click.echo(f"rendering {len(config.pages.pages)} pages every {period:g} s "
               "until SIGTERM/SIGINT")
    with stop_on_signals() as stop:
        run_every(period, lambda: _render_tick(renderer, stamped=True), stop)
    click.echo("stopped")


def _render_tick(renderer, stamped: bool) -> list:
    """Render all pages; one stderr line per failure (naming the page), one summary line."""
    from assetpipe.pages import summarize
    started = time.perf_counter()
    results = renderer.render_all()
    prefix = time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime()) if stamped else ""
    for result in results:
        if result.error:
            click.echo(f"{prefix}error: page {result.path}: {result.error}", err=True)
    click.echo(prefix + summarize(results, time.perf_counter() - started))
    return results
