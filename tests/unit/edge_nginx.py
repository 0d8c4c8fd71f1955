"""A real nginx on loopback running the edge's rendered configuration, for the unit tests.

Only what ties the file to a host is changed: ports (443 -> a free loopback port, the port-80
redirect server dropped), certificate paths (a key made here), cache and log paths (under the test's
directory). Debian 12's nginx 1.22 lacks `http2 on;` (the fleet's Debian 13 runs 1.26): dropped there.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from media_servers import free_port

from mastofleet.deploys import edge, exporters, media_migration
from mastofleet.deploys.nginx import certificate_paths
from mastofleet.model import Fleet, Role
from mastofleet.plan.files import SecretValues

HEADERS_MORE = Path("/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so")


@dataclass
class RunningEdge:
    port: int
    directory: Path

    @property
    def origin_log(self) -> Path:
        return self.directory / "media-origin.log"


def local_configuration(fleet: Fleet, directory: Path, port: int) -> str:
    """The rendered edge site with host paths and ports moved into `directory` and onto loopback."""
    tls, site = edge.files_for(fleet, fleet.with_role(Role.edge)[0], SecretValues())
    certificate, key = certificate_paths(fleet, edge.certificate_domains(fleet)[0])
    tls_text = tls.content.replace(certificate, str(directory / "site.crt")).replace(key, str(directory / "site.key"))
    tls_text = tls_text.replace("shared:EDGE_SSL:10m", "shared:EDGE_SSL:1m")
    (directory / "tls.conf").write_text(tls_text)
    text = site.content.replace(edge.TLS_INCLUDE, str(directory / "tls.conf"))
    for path in (edge.SITE_CACHE, edge.MEDIA_CACHE):
        text = text.replace(path, str(directory / Path(path).name))
    text = text.replace(media_migration.ORIGIN_LOG, str(directory / "media-origin.log"))
    text = text.replace("/var/log/nginx/access.log", str(directory / "access.log"))
    if fleet.monitor_host:  # the site also logs for the exporters, in the format their file defines
        metrics = exporters.nginx_metrics_file(fleet.with_role(Role.edge)[0]).content
        log_format = next(line for line in metrics.splitlines() if line.startswith("log_format "))
        text = log_format + "\n" + text.replace(exporters.NGINX_METRICS_LOG, str(directory / "metrics.log"))
    # the plain-HTTP redirect server is the first server block: not needed on loopback
    text = re.sub(r"server \{\n  listen 80;.*?\n\}\n", "", text, count=1, flags=re.S)
    text = text.replace("  listen 443 ssl;\n", f"  listen 127.0.0.1:{port} ssl;\n").replace(
        "  listen [::]:443 ssl;\n", ""
    )
    return text


def main_configuration(directory: Path, site: str, nginx_binary: str) -> Path:
    version = subprocess.run([nginx_binary, "-v"], capture_output=True, text=True, check=True).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version)
    if match and tuple(int(part) for part in match.groups()) < (1, 25, 1):
        site = site.replace("  http2 on;\n", "")
    (directory / "edge.conf").write_text(site)
    (directory / "temp").mkdir(exist_ok=True)
    temporary = "\n".join(
        f"  {kind}_temp_path {directory}/temp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = directory / "nginx.conf"
    main.write_text(
        f"load_module {HEADERS_MORE};\n{worker_user()}pid {directory}/nginx.pid;\nerror_log {directory}/error.log;\n"
        "daemon off;\nevents {}\n"
        f"http {{\n  types {{ image/png png; video/mp4 mp4; }}\n  access_log {directory}/access.log;\n{temporary}\n"
        f"  include {directory}/edge.conf;\n}}\n"
    )
    return main


def worker_user() -> str:
    """As root, workers would run as `nobody` and could not write the test's cache: keep them root."""
    return "user root;\n" if os.geteuid() == 0 else ""


def make_certificate(directory: Path, openssl: str) -> None:
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=edge.test"]
        + ["-keyout", str(directory / "site.key"), "-out", str(directory / "site.crt")],
        check=True,
        capture_output=True,
    )


def nginx_check(fleet: Fleet, directory: Path, nginx_binary: str, openssl: str) -> subprocess.CompletedProcess[str]:
    make_certificate(directory, openssl)
    main = main_configuration(directory, local_configuration(fleet, directory, free_port()), nginx_binary)
    return subprocess.run(
        [nginx_binary, "-t", "-p", str(directory), "-c", str(main)], capture_output=True, text=True, check=False
    )


@contextmanager
def running_edge(fleet: Fleet, directory: Path, nginx_binary: str, openssl: str) -> Iterator[RunningEdge]:
    make_certificate(directory, openssl)
    port = free_port()
    main = main_configuration(directory, local_configuration(fleet, directory, port), nginx_binary)
    process = subprocess.Popen([nginx_binary, "-p", str(directory), "-c", str(main)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (directory / "nginx.pid").exists():
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "nginx exited")
            time.sleep(0.05)
        yield RunningEdge(port, directory)
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(directory / "temp", ignore_errors=True)
