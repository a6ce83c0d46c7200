"""A throw-away Apache for integration tests and benchmarks (no mocks).

Starts Debian's /usr/sbin/apache2 with its own httpd.conf, pid file and error
log on a free loopback port, loading the stock modules and Debian's own
mime.conf and deflate.conf, so the generated rules meet the same surprises
they meet on a real Debian server (AddLanguage br, .gz as x-gzip, mod_deflate).
"""
from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
DEBIAN_MODS = "/etc/apache2/mods-available"
# Enough for the rules plus what Debian enables by default that can interfere.
LOAD = ("mpm_event", "authz_core", "authz_host", "alias", "dir", "autoindex", "mime", "env",
        "setenvif", "filter", "deflate", "headers", "expires", "rewrite", "proxy",
        "proxy_http")
STARTUP_SECONDS = 15


def apache_missing_message() -> str | None:
    """None when Apache is usable; else why (tests fail on it unless allowed to skip)."""
    if not os.access(APACHE, os.X_OK):
        return f"{APACHE} not found: apt-get install apache2 (or set ASSETPIPE_ALLOW_SKIP=1)"
    return None


def world_readable_tmpdir(prefix: str) -> Path:
    """A temp folder the unprivileged httpd children (www-data) can read.

    pytest's tmp_path lives under a 0700 folder, which the children cannot
    traverse when the tests run as root.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def httpd_conf(workdir: Path, port: int, body: str) -> str:
    """A minimal server config: stock modules, Debian's mime/deflate, then `body`."""
    loads = "\n".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in LOAD)
    return f"""\
ServerRoot "{workdir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{workdir}/httpd.pid"
ErrorLog "{workdir}/error.log"
LogLevel warn
DefaultRuntimeDir "{workdir}"
Mutex file:{workdir} default
User www-data
Group www-data
{loads}
Include {DEBIAN_MODS}/mime.conf
Include {DEBIAN_MODS}/deflate.conf
<Directory />
    AllowOverride None
    Require all denied
</Directory>
AccessFileName .htaccess
<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>
{body}
"""


def config_test(conf_path: Path) -> subprocess.CompletedProcess:
    """`apache2 -t` on a config file."""
    return subprocess.run([APACHE, "-t", "-f", str(conf_path)], capture_output=True, text=True)


class Httpd:
    """One running apache2 (foreground child process) on 127.0.0.1:port."""

    def __init__(self, body: str, workdir: Path | None = None, port: int | None = None):
        self.workdir = workdir or world_readable_tmpdir("assetpipe-httpd-")
        self.port = port or free_port()
        self.conf = self.workdir / "httpd.conf"
        self.conf.write_text(httpd_conf(self.workdir, self.port, body))
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # What a subclass for another server (tests/web_servers.py) replaces.
    name = "apache2"

    def command(self) -> list[str]:
        return [APACHE, "-f", str(self.conf), "-DFOREGROUND"]

    def config_test(self) -> subprocess.CompletedProcess:
        return config_test(self.conf)

    def env(self) -> dict[str, str] | None:
        return None  # inherit ours

    def start(self) -> Httpd:
        checked = self.config_test()
        if checked.returncode != 0:
            raise RuntimeError(f"{self.name} config test failed for {self.conf}:\n"
                               f"{checked.stdout}{checked.stderr}")
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, env=self.env())
        self._wait_until_listening()
        return self

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}): "
                                   f"{self.process.stderr.read().decode()}{self.error_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)  # poll interval, not synchronisation
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on port {self.port} within "
                           f"{STARTUP_SECONDS} s\n{self.error_log()}")

    def error_log(self) -> str:
        log = self.workdir / "error.log"
        return log.read_text() if log.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: the parent stops its children
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stderr:
            self.process.stderr.close()

    def __enter__(self) -> Httpd:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
