"""nginx on lb hosts: TLS, and balancing over every app host's web and streaming processes."""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.api import FactBase
from pyinfra.facts.files import File, FindFiles, Link
from pyinfra.operations import apt, files, server

from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import changed, put_files, restart_command, role_deploy, service_running
from mastofleet.model import Fleet, Host, Role
from mastofleet.quoting import shell, shell_words
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import nginx_endpoints
from mastofleet.views.openings import ANYWHERE, Opening
from mastofleet.views.templating import render

CONFIGURATION = "/etc/nginx/conf.d/mastodon.conf"  # a link to one of the variants below
VARIANTS_DIRECTORY = "/etc/nginx/mastofleet"
SERVING = f"{VARIANTS_DIRECTORY}/serving.conf"
MAINTENANCE = f"{VARIANTS_DIRECTORY}/maintenance.conf"  # 503 and Retry-After for everything (a cutover)
MAINTENANCE_RETRY_AFTER = 120  # seconds
CACHE_DIRECTORY = "/var/cache/nginx/mastodon"


def drained_variant(host_name: str) -> str:
    return f"{VARIANTS_DIRECTORY}/drained-{host_name}.conf"


def certificate_paths(fleet: Fleet, domain: str | None = None) -> tuple[str, str]:
    """Certificate and key for `domain` (default: the site's); the edge's certificate is named after the media host."""
    tls = fleet.tls
    domain = domain or fleet.instance.site_domain
    if tls.mode == "files" and tls.certificate and tls.key:
        return tls.certificate, tls.key
    if tls.mode == "certbot":
        return f"/etc/letsencrypt/live/{domain}/fullchain.pem", f"/etc/letsencrypt/live/{domain}/privkey.pem"
    return f"/etc/ssl/mastofleet/{domain}.crt", f"/etc/ssl/mastofleet/{domain}.key"


def balanced_hosts(fleet: Fleet) -> list[Host]:
    """App hosts behind the balancer: those running web or streaming."""
    return [app for app in fleet.with_role(Role.app) if app.web or app.streaming]


def site(fleet: Fleet, host: Host, drained: frozenset[str] = frozenset(), joining: frozenset[str] = frozenset()) -> str:
    """The site as nginx on `host` serves it, with the app hosts in `drained` and `joining` marked down."""
    certificate, key = certificate_paths(fleet)
    app_hosts = balanced_hosts(fleet)
    return render(
        "nginx/mastodon.conf.j2",
        fleet=fleet,
        host=host,
        site_domain=fleet.instance.site_domain,
        web_hosts=[app for app in app_hosts if app.web],
        streaming_hosts=[app for app in app_hosts if app.streaming],
        drained=drained,
        joining=joining,
        certificate=certificate,
        certificate_key=key,
    )


def files_for(
    fleet: Fleet, host: Host, secrets: SecretValues, joining: frozenset[str] = frozenset()
) -> list[ConfigFile]:
    """The serving site, and one variant per app host with that host drained: taking a host out
    of the balancer is then switching a link and reloading, with nothing rendered mid-rollout.
    App hosts `joining` the fleet are down in every variant until their first turn ends healthy."""
    variants = [ConfigFile(SERVING, site(fleet, host, joining=joining))]
    for app in balanced_hosts(fleet):
        variants.append(ConfigFile(drained_variant(app.name), site(fleet, host, frozenset({app.name}), joining)))
    variants.append(ConfigFile(MAINTENANCE, maintenance_site(fleet, host)))
    return variants


def maintenance_site(fleet: Fleet, host: Host) -> str:
    certificate, key = certificate_paths(fleet)
    return render(
        "nginx/maintenance.conf.j2",
        host=host,
        site_domain=fleet.instance.site_domain,
        certificate=certificate,
        certificate_key=key,
        retry_after=MAINTENANCE_RETRY_AFTER,
    )


class ServingHosts(FactBase[dict[str, bool]]):
    """App hosts in a site file, and whether each serves (is not marked down anywhere)."""

    def command(self, path: str) -> str:
        return f"grep -E 'max_fails=.*;  # [a-z0-9-]+$' {path} 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, bool]:
        serving: dict[str, bool] = {}
        for line in output:
            name = line.rsplit("# ", 1)[-1].strip()
            serving[name] = serving.get(name, True) and " down;" not in line
        return serving


def joining_hosts(fleet: Fleet) -> frozenset[str]:
    """App hosts the balancer does not serve from yet (new, or whose first turn never finished)."""
    serving = current_host.get_fact(ServingHosts, path=SERVING)
    if not serving:
        return frozenset()  # a new balancer: the first deploy starts everything before the site opens
    return frozenset(app.name for app in balanced_hosts(fleet) if not serving.get(app.name, False))


def admit_command(name: str) -> str:
    """Mark a joining host up in every variant except its own drained one."""
    own = drained_variant(name)
    marked_up = f"s/ down;(  # {name})$/;\\1/"
    return (
        f'for variant in {VARIANTS_DIRECTORY}/*.conf; do [ "$variant" = {shell(own)} ] ||'
        f' sed -i -E {shell(marked_up)} "$variant"; done'
    )


def ensure_certificate(fleet: Fleet, domains: list[str] | None = None) -> None:
    """A certificate before nginx starts: self-signed, given files, or Let's Encrypt via certbot.
    It names every one of `domains` (default: the site's), and its files are named after the first."""
    names = domains or [fleet.instance.site_domain]
    domain = names[0]
    certificate, key = certificate_paths(fleet, domain)
    if current_host.get_fact(File, path=certificate):
        return
    if fleet.tls.mode == "self-signed":
        alternative_names = ",".join(f"DNS:{name}" for name in names)
        files.directory(name="Create the certificate directory", path="/etc/ssl/mastofleet", mode="755")
        server.shell(
            name=f"Create a self-signed certificate for {', '.join(names)}",
            commands=[
                f"openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj {shell('/CN=' + domain)}"
                f" -addext {shell('subjectAltName=' + alternative_names)} -keyout {shell(key)} -out {shell(certificate)}"
                f" && chmod 600 {shell(key)}"
            ],
        )
    elif fleet.tls.mode == "certbot":
        apt.packages(name="Install certbot", packages=["certbot"])
        requested_arguments = [word for name in names for word in ("-d", name)]
        server.shell(
            name=f"Obtain a Let's Encrypt certificate for {', '.join(names)}",
            commands=[
                f"certbot certonly --standalone --non-interactive --agree-tos -m {shell(fleet.tls.email)}"
                f" {shell_words(*requested_arguments)}"
                " --pre-hook 'systemctl stop nginx' --post-hook 'systemctl start nginx'"
            ],
        )


def switch_variant_command(variant: str) -> str:
    """Point the site at `variant`, check and reload; on a failed check, put the old link back."""
    return (
        f"old=$(readlink {CONFIGURATION} || true)"
        f" && ln -sfn {shell(variant)} {CONFIGURATION}.switching && mv -T {CONFIGURATION}.switching {CONFIGURATION}"
        f' && {{ nginx -t -q || {{ [ -n "$old" ] && ln -sfn "$old" {CONFIGURATION}; exit 1; }}; }}'
        # the applied-marker too: a reload keeps nginx's start time, and the next deploy must not owe one
        f" && {restart_command('nginx', 'reload')}"
    )


def wait_until_no_requests_to(address: str, port: int, seconds: int = 15) -> str:
    """Wait (at most `seconds`, never failing) until nginx holds no connection to address:port.

    A reload returns while the old workers still finish what they had, with the old upstreams: a
    request they send to a host restarting right after would fail (nginx does not retry a POST)."""
    return (
        f"for i in $(seq 1 {seconds * 5}); do"
        f' [ -z "$(ss -Htn state established dst {address} dport = :{port})" ] && break; sleep 0.2; done; true'
    )


def active_variant() -> str | None:
    """The variant the site's link points at now (read before the run)."""
    link = current_host.get_fact(Link, path=CONFIGURATION)
    return link.get("link_target") if link else None


def in_maintenance() -> bool:
    """A cutover has the site in maintenance: deploys keep it so until the cutover lifts it."""
    return active_variant() == MAINTENANCE


def drained_host(fleet: Fleet) -> str | None:
    """The app host the balancer has out of rotation now (read before the run), if any."""
    active = active_variant()
    for app in balanced_hosts(fleet):
        if active == drained_variant(app.name):
            return app.name
    return None


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    return [Opening("nginx http", 80, ANYWHERE), Opening("nginx https", 443, ANYWHERE)]


@role_deploy("nginx load balancer")
def load_balancer(fleet: Fleet, host: Host) -> None:
    """
    Serve the site over TLS and balance it over every app host: web with passive health checks and
    retries on the next host, streaming with least_conn and WebSocket upgrades, static files cached.
    The site is a link to the serving variant; the rollout switches it to a variant with one host
    drained while that host restarts, and back.
    """
    apt.packages(name="Install nginx", packages=["nginx", "openssl"])
    ensure_certificate(fleet)
    default_site = files.link(
        name="Remove nginx's default site", path="/etc/nginx/sites-enabled/default", present=False
    )
    files.directory(name="Create nginx's cache directory", path=CACHE_DIRECTORY, user="www-data", group="www-data")
    rendered = files_for(fleet, host, SecretValues(), joining_hosts(fleet))
    variants = put_files(rendered)
    # A host drained by a rollout that stopped stays drained until the rollout finishes it; a site
    # in maintenance stays so until the cutover lifts it.
    active = drained_host(fleet)
    target = MAINTENANCE if in_maintenance() else drained_variant(active) if active else SERVING
    link = files.link(
        name="Serve the site from its variant",
        path=CONFIGURATION,
        target=target,
        force=True,  # the site was a plain file before variants existed
    )
    remove_stale_variants(fleet)
    server.shell(
        name="Check the nginx configuration", commands=["nginx -t -q"], _if=changed(variants, link, default_site)
    )
    service_running(
        "nginx",
        restart_when=changed(variants, link, default_site),
        reload_instead=True,
        inputs=[CONFIGURATION, *(item.path for item in rendered)],
    )


def remove_stale_variants(fleet: Fleet) -> None:
    """Variants of app hosts the model no longer has are deleted (never the active one: it is relinked first)."""
    wanted = {SERVING, MAINTENANCE, *(drained_variant(app.name) for app in balanced_hosts(fleet))}
    present = current_host.get_fact(FindFiles, path=VARIANTS_DIRECTORY, fname="*.conf") or []
    for path in sorted(set(present) - wanted):
        files.file(name=f"Remove {path} (no longer in the model)", path=path, present=False)


def _balance(run: Run) -> None:
    load_balancer(run.fleet, run.host)


COMPONENT = Component(
    name="nginx",
    applies=with_role(Role.lb),
    files=files_for,
    openings=firewall_rules,
    services=lambda fleet, host: ["nginx.service"],
    steps={Stage.BALANCE: _balance},
    metrics=nginx_endpoints,
)
