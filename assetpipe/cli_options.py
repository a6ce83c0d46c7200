"""Options shared by the commands (assetpipe.cli and its command groups)."""
from __future__ import annotations

import click

CONFIG_OPTION = click.option("--config", "config_file", metavar="FILE",
                             help="Config file (default: ./assetpipe.toml or [tool.assetpipe] "
                                  "in ./pyproject.toml).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON report on stdout, nothing else.")


def _remember_debug(ctx, _param, value: bool) -> None:
    # The one place the flag is recorded; main() reads it when an error ends the run.
    if value:
        ctx.find_root().ensure_object(dict)["debug"] = True


# On the group and every command: `assetpipe --debug clean`, `assetpipe clean --debug`.
DEBUG_OPTION = click.option("--debug", is_flag=True, expose_value=False, callback=_remember_debug,
                            help="Show tracebacks on errors.")
