"""Jinja2 templates for `assetpipe apache`, shipped in the wheel as `assetpipe.apache`."""
