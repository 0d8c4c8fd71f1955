"""nginx on edge hosts: a caching proxy for the site and for the media host (S3_ALIAS_HOST).

Follows Mastodon's object-storage proxy guidance: a variable upstream resolved at request time,
only GET and HEAD, Authorization/Cookie never forwarded, Set-Cookie and x-amz-* never returned,
one year immutable caching with proxy_cache_lock and stale answers while the store fails, CORS for
any origin and an X-Cache-Status header. In migration mode a file missing from the bucket is asked
of the old server (see `media_migration`). An edge host holds no data and can be replaced at will.
"""

from __future__ import annotations

from pyinfra.operations import apt, files, server

from mastofleet.deploys import media_migration
from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.exporters import NGINX_METRICS_LOG
from mastofleet.deploys.nginx import certificate_paths, ensure_certificate
from mastofleet.deploys.operations import changed, put_files, role_deploy, service_running
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import nginx_endpoints
from mastofleet.views.openings import ANYWHERE, Opening
from mastofleet.views.templating import render

CONFIGURATION = "/etc/nginx/conf.d/mastofleet-edge.conf"
TLS_INCLUDE = "/etc/nginx/mastofleet-edge-tls.conf"
SITE_CACHE = "/var/cache/nginx/edge-site"
MEDIA_CACHE = "/var/cache/nginx/edge-media"
PACKAGES = ["nginx", "libnginx-mod-http-headers-more-filter", "openssl"]


def certificate_domains(fleet: Fleet) -> list[str]:
    """The names the edge answers for: the media host (first: it names the files) and the site."""
    storage = fleet.object_storage
    site = fleet.instance.site_domain
    if storage is not None and storage.enabled and storage.alias_host:
        return [storage.alias_host, site]
    return [site]


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    storage = fleet.object_storage
    media = storage if storage is not None and storage.enabled and storage.alias_host else None
    certificate, key = certificate_paths(fleet, certificate_domains(fleet)[0])
    bucket_host = media.bucket_url.split("://", 1)[1].split("/", 1)[0] if media else ""
    site = render(
        "edge/edge.conf.j2",
        fleet=fleet,
        host=host,
        site_domain=fleet.instance.site_domain,
        balancers=fleet.with_role(Role.lb),
        storage=media,
        bucket_host=bucket_host,
        migration=fleet.media_migration if fleet.migrating_media else None,
        origin_log=media_migration.ORIGIN_LOG,
        # where a location with its own access_log also logs for the exporters (mastofleet.deploys.exporters)
        metrics_log=NGINX_METRICS_LOG if fleet.monitor_host else None,
        tls_include=TLS_INCLUDE,
        site_cache=SITE_CACHE,
        media_cache=MEDIA_CACHE,
        verify_core=fleet.tls.mode == "certbot",
    )
    return [
        ConfigFile(TLS_INCLUDE, render("edge/tls.conf.j2", certificate=certificate, certificate_key=key)),
        ConfigFile(CONFIGURATION, site),
    ]


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    return [Opening("edge http", 80, ANYWHERE), Opening("edge https", 443, ANYWHERE)]


@role_deploy("Edge caching proxy")
def edge(fleet: Fleet, host: Host, secrets: SecretValues) -> None:
    """
    Serve the site and the media host over TLS from caches on this host: the site from the lb
    hosts, media from object storage (and, in migration mode, from the old server, with every file
    it serves written back to the bucket and the rest copied in the background).
    """
    apt.packages(name="Install nginx with the headers-more module", packages=PACKAGES)
    ensure_certificate(fleet, certificate_domains(fleet))
    default_site = files.link(
        name="Remove nginx's default site", path="/etc/nginx/sites-enabled/default", present=False
    )
    for directory in (SITE_CACHE, MEDIA_CACHE):
        files.directory(name=f"Create {directory}", path=directory, user="www-data", group="www-data")
    configuration = put_files(files_for(fleet, host, secrets))
    server.shell(
        name="Check the nginx configuration", commands=["nginx -t -q"], _if=changed(configuration, default_site)
    )
    service_running(
        "nginx",
        restart_when=changed(configuration, default_site),
        reload_instead=True,
        inputs=[CONFIGURATION, TLS_INCLUDE],
    )
    if fleet.migrating_media:
        media_migration.media_migration(fleet, host, secrets)
    else:
        media_migration.no_media_migration()


def _periphery(run: Run) -> None:
    edge(run.fleet, run.host, run.secrets)


COMPONENT = Component(
    name="edge",
    applies=with_role(Role.edge),
    files=files_for,
    openings=firewall_rules,
    services=lambda fleet, host: ["nginx.service"],
    steps={Stage.PERIPHERY: _periphery},
    metrics=nginx_endpoints,
)
