"""nginx on lb hosts: TLS, and balancing over every app host's web and streaming processes."""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server

from mastofleet.files import ConfigFile, SecretValues
from mastofleet.model import Fleet, Host, Role
from mastofleet.operations import changed, put_files, service_running
from mastofleet.templating import render

CONFIGURATION = "/etc/nginx/conf.d/mastodon.conf"
CACHE_DIRECTORY = "/var/cache/nginx/mastodon"


def certificate_paths(fleet: Fleet) -> tuple[str, str]:
    tls = fleet.tls
    domain = fleet.instance.site_domain
    if tls.mode == "files" and tls.certificate and tls.key:
        return tls.certificate, tls.key
    if tls.mode == "certbot":
        return f"/etc/letsencrypt/live/{domain}/fullchain.pem", f"/etc/letsencrypt/live/{domain}/privkey.pem"
    return f"/etc/ssl/mastofleet/{domain}.crt", f"/etc/ssl/mastofleet/{domain}.key"


def files_for(
    fleet: Fleet, host: Host, secrets: SecretValues, drained: frozenset[str] = frozenset()
) -> list[ConfigFile]:
    certificate, key = certificate_paths(fleet)
    app_hosts = fleet.with_role(Role.app)
    return [
        ConfigFile(
            CONFIGURATION,
            render(
                "nginx/mastodon.conf.j2",
                fleet=fleet,
                host=host,
                site_domain=fleet.instance.site_domain,
                web_hosts=[app for app in app_hosts if app.web],
                streaming_hosts=[app for app in app_hosts if app.streaming],
                drained=drained,
                certificate=certificate,
                certificate_key=key,
            ),
        )
    ]


def ensure_certificate(fleet: Fleet) -> None:
    """A certificate before nginx starts: self-signed, given files, or Let's Encrypt via certbot."""
    certificate, key = certificate_paths(fleet)
    if current_host.get_fact(File, path=certificate):
        return
    domain = fleet.instance.site_domain
    if fleet.tls.mode == "self-signed":
        files.directory(name="Create the certificate directory", path="/etc/ssl/mastofleet", mode="755")
        server.shell(
            name=f"Create a self-signed certificate for {domain}",
            commands=[
                f"openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj /CN={domain}"
                f" -addext subjectAltName=DNS:{domain} -keyout {key} -out {certificate} && chmod 600 {key}"
            ],
        )
    elif fleet.tls.mode == "certbot":
        apt.packages(name="Install certbot", packages=["certbot"])
        server.shell(
            name=f"Obtain a Let's Encrypt certificate for {domain}",
            commands=[
                f"certbot certonly --standalone --non-interactive --agree-tos -m {fleet.tls.email} -d {domain}"
                " --pre-hook 'systemctl stop nginx' --post-hook 'systemctl start nginx'"
            ],
        )


@deploy("nginx load balancer")
def load_balancer(fleet: Fleet, host: Host, drained: frozenset[str] = frozenset()) -> None:
    """
    Serve the site over TLS and balance it over every app host: web with passive health checks and
    retries on the next host, streaming with least_conn and WebSocket upgrades, static files cached.
    An app host named in `drained` is marked down, so it can be restarted without a failed request.
    """
    apt.packages(name="Install nginx", packages=["nginx", "openssl"])
    ensure_certificate(fleet)
    default_site = files.link(
        name="Remove nginx's default site", path="/etc/nginx/sites-enabled/default", present=False
    )
    files.directory(name="Create nginx's cache directory", path=CACHE_DIRECTORY, user="www-data", group="www-data")
    configuration = put_files(files_for(fleet, host, SecretValues(), drained))
    server.shell(
        name="Check the nginx configuration", commands=["nginx -t -q"], _if=changed(configuration, default_site)
    )
    service_running(
        "nginx", restart_when=changed(configuration, default_site), reload_instead=True, inputs=[CONFIGURATION]
    )
