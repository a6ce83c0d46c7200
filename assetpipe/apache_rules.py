"""`assetpipe apache`: Apache 2.4 rules for the output folder, from templates.

The templates live in the top-level `apache/` folder (shipped in the wheel as
the package `assetpipe.apache`) and render from the context every server
shares (`server_rules.template_context`); this module only adds what is
Apache's own: the modules to enable and the per-directory variant.
"""
from __future__ import annotations

from assetpipe.config import Config
from assetpipe.server_rules import environment, template_context

BASE_MODULES = ("rewrite", "headers", "expires")
PROXY_MODULES = ("proxy", "proxy_http")


def render(config: Config, htaccess: bool = False) -> str:
    """The server/<VirtualHost> snippet, or with `htaccess` the per-directory file."""
    env = environment("apache")
    context = template_context(config)
    context["htaccess"] = htaccess
    context["modules"] = BASE_MODULES + (PROXY_MODULES if context["fallback_url"] else ())
    rules = env.get_template("rules.conf.j2").render(context).rstrip("\n")
    page = "htaccess.conf.j2" if htaccess else "server.conf.j2"
    return env.get_template(page).render(context, rules=rules)
