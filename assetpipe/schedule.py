"""Running work periodically: in this process (`pages --every`) or by the server's
scheduler (`pages --systemd NAME` / `--cron` print the units or crontab line).

The in-process loop waits on a threading.Event rather than sleeping, so a
SIGTERM/SIGINT handler that sets the event ends the wait at once and the
process exits cleanly between ticks.
"""
from __future__ import annotations

import re
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# systemd's own rule for unit name characters (before the ".service" suffix).
UNIT_NAME = re.compile(r"[A-Za-z0-9:_.-]+")


def run_every(period: float, tick: Callable[[], object], stop: threading.Event) -> None:
    """Call `tick()` every `period` seconds, start to start, until `stop` is set.

    Measuring start to start keeps the schedule from drifting by the tick's
    own duration; a tick longer than the period is followed immediately.
    """
    while not stop.is_set():
        started = time.monotonic()
        tick()
        stop.wait(max(0.0, period - (time.monotonic() - started)))


@contextmanager
def stop_on_signals(signals=(signal.SIGTERM, signal.SIGINT)) -> Iterator[threading.Event]:
    """An Event set by the given signals (main thread only); a second signal
    interrupts whatever is running (KeyboardInterrupt).  Handlers restored after."""
    stop = threading.Event()

    def on_signal(*_) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
    previous = {sig: signal.signal(sig, on_signal) for sig in signals}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def systemd_units(name: str, command: list[str], every: float, workdir: str) -> str:
    """A `<name>.service` (oneshot) + `<name>.timer` pair running `command` every `every` s."""
    if not UNIT_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid systemd unit name "
                         "(use letters, digits, ':', '_', '.', '-')")
    exec_start = " ".join(_systemd_quote(arg) for arg in command)
    return f"""\
# Save the two units below as /etc/systemd/system/{name}.service and
# /etc/systemd/system/{name}.timer, then:
#   systemctl daemon-reload && systemctl enable --now {name}.timer

# ---- {name}.service ----
[Unit]
Description=Render assetpipe pages ({_systemd_escape(command[-1])})
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
# User=www-data  (a user that may write the output folder)
WorkingDirectory={_systemd_quote(workdir)}
ExecStart={exec_start}

# ---- {name}.timer ----
[Unit]
Description=Render assetpipe pages every {every:g} s

[Timer]
# Fire when the timer starts, then {every:g} s after each run began.
OnActiveSec=0
OnUnitActiveSec={every:g}s
# The default accuracy (1 min) would blur short periods.
AccuracySec=1s
Unit={name}.service

[Install]
WantedBy=timers.target
"""


def cron_line(command: list[str], every: float) -> str:
    """A crontab entry (with a comment) running `command` about every `every` s.

    cron counts whole minutes, so the period is rounded to a step it can
    repeat evenly; stdout is discarded so that only failures (stderr) are mailed.
    """
    schedule, period = cron_schedule(every)
    note = "" if period == every else f" ({every:g} s rounded to an even cron step)"
    line = " ".join(_cron_quote(arg) for arg in command)
    return (f"# assetpipe pages, every {_minutes(period)}{note}; add with `crontab -e`\n"
            f"{schedule} {line} >/dev/null\n")


def cron_schedule(every: float) -> tuple[str, float]:
    """(the five cron fields, the period in seconds they give) for a period of `every` s.

    Only steps that divide the hour (or the day) repeat evenly: `*/7` would
    also fire at :00, 7 minutes after :56.
    """
    for minutes in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30):
        if every <= minutes * 60:
            return f"{_step(minutes)} * * * *", minutes * 60.0
    for hours in (1, 2, 3, 4, 6, 8, 12):
        if every <= hours * 3600:
            return f"0 {_step(hours)} * * *", hours * 3600.0
    return "0 0 * * *", 86400.0


def _step(n: int) -> str:
    return "*" if n == 1 else f"*/{n}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


def _systemd_quote(arg: str) -> str:
    if re.fullmatch(r"[\w@%+=:,./-]+", arg):
        return _systemd_escape(arg)
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{_systemd_escape(escaped)}"'


def _systemd_escape(text: str) -> str:
    # "%" starts a specifier (%n, %h, ...) everywhere in a unit file.
    return text.replace("%", "%%")


def _cron_quote(arg: str) -> str:
    # An unescaped "%" in a crontab command line means newline (stdin data).
    return shlex.quote(arg).replace("%", "\\%")
