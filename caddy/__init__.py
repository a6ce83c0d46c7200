"""Jinja2 templates for `assetpipe caddy`, shipped in the wheel as `assetpipe.caddy`."""
