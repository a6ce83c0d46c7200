"""Jinja2 templates for `assetpipe nginx`, shipped in the wheel as `assetpipe.nginx`."""
