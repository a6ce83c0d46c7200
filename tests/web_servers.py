"""Throw-away nginx and Caddy processes for integration tests and benchmarks.

Like apache_httpd.Httpd: Debian's own binaries, each with its own config,
pid file and logs in a world-readable temp folder, on a free loopback port,
run in the foreground as children of the test process.  nginx loads Debian's
mime.types, `gzip on` and the installed modules (brotli static), so the
generated rules meet what they meet on a real Debian server.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from apache_httpd import Httpd, free_port, world_readable_tmpdir

NGINX = "/usr/sbin/nginx"
CADDY = "/usr/bin/caddy"
# Needed by rules for a `.gz` + brotli build (brotli_static); Debian loads it
# through /etc/nginx/modules-enabled/, which the test config includes.
BROTLI_STATIC = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so"


def missing_message(path: str, package: str) -> str | None:
    if not os.path.exists(path):
        return f"{path} not found: apt-get install {package} (or set ASSETPIPE_ALLOW_SKIP=1)"
    return None


def nginx_conf(workdir: Path, http_body: str) -> str:
    """Debian's main context and http defaults, then `http_body` (the generated file)."""
    return f"""\
daemon off;
master_process on;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
user www-data;
include /etc/nginx/modules-enabled/*.conf;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    gzip on;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
{http_body}
}}
"""


def caddy_conf(port: int, site_body: str) -> str:
    """A Caddyfile: no admin endpoint, no HTTPS, one site on 127.0.0.1:port."""
    return f"""\
{{
    admin off
    auto_https off
}}
http://127.0.0.1:{port} {{
{site_body}
}}
"""


class Server(Httpd):
    """Another server, started, awaited and stopped the way Httpd runs apache2."""

    conf_name = ""

    def __init__(self, body: str, workdir: Path | None = None, port: int | None = None):
        self.workdir = workdir or world_readable_tmpdir(f"assetpipe-{self.name}-")
        self.port = port or free_port()
        self.conf = self.workdir / self.conf_name
        self.conf.write_text(self.config_text(body))
        self.process: subprocess.Popen | None = None

    def config_text(self, body: str) -> str:
        raise NotImplementedError


class Nginx(Server):
    """nginx with `body` (the generated http-level file, included) inside http {}."""

    name, conf_name = "nginx", "nginx.conf"

    def config_text(self, body: str) -> str:
        return nginx_conf(self.workdir, body)

    def command(self) -> list[str]:
        # Debian's prefix: modules-enabled/ names modules relative to it.
        return [NGINX, "-p", "/usr/share/nginx/", "-c", str(self.conf)]

    def config_test(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command() + ["-t", "-q"], capture_output=True, text=True)


class Caddy(Server):
    """caddy run with a Caddyfile whose one site holds `body` (an import of the rules)."""

    name, conf_name = "caddy", "Caddyfile"

    def config_text(self, body: str) -> str:
        return caddy_conf(self.port, body)

    def env(self) -> dict[str, str]:
        # Caddy keeps its state under $HOME / XDG folders: keep them in the workdir.
        return dict(os.environ, HOME=str(self.workdir), XDG_DATA_HOME=str(self.workdir / "data"),
                    XDG_CONFIG_HOME=str(self.workdir / "config"))

    def command(self) -> list[str]:
        return [CADDY, "run", "--config", str(self.conf), "--adapter", "caddyfile"]

    def config_test(self) -> subprocess.CompletedProcess:
        return subprocess.run([CADDY, "validate", "--config", str(self.conf), "--adapter",
                               "caddyfile"], capture_output=True, text=True, env=self.env())


def serve_rules(kind: str, rules: Path, workdir: Path, port: int):
    """Start `kind` (apache, nginx, caddy) with the generated rules file, as a user would.

    nginx's rules bring their own server block (listening where the config's
    [nginx] listen says, which must be 127.0.0.1:`port`); Apache and Caddy
    get a minimal server that includes or imports the file.
    """
    if kind == "apache":
        server = Httpd(f'Include "{rules}"\n', workdir, port)
    elif kind == "nginx":
        server = Nginx(f"include {rules};", workdir, port)
    else:
        server = Caddy(f"import {rules}", workdir, port)
    try:
        server.start()
    except Exception:
        server.cleanup()
        raise
    return server
