"""nginx on the lb host: running, its configuration as the model renders it and valid, HTTPS for
the site (HTTP redirects to it), balancing /health over the web hosts."""

from __future__ import annotations

from infra_support import Site, Target, assert_active_and_enabled, assert_files_as_rendered

from mastofleet.deploys import nginx
from mastofleet.model import Fleet
from mastofleet.plan.files import SecretValues


def test_nginx_service(lb_host: Target) -> None:
    assert_active_and_enabled(lb_host, ["nginx.service"])


def test_nginx_listens_for_the_world(lb_host: Target) -> None:
    """The balancer is the public entry: 80 and 443 on every address (the firewall will allow them)."""
    for port in (80, 443):
        assert lb_host.addresses_on(port) & {"0.0.0.0", "::"}, f"{lb_host.name}: nothing listens on :{port}"


def test_nginx_configuration_as_rendered(lb_host: Target, fleet: Fleet) -> None:
    assert_files_as_rendered(lb_host, nginx.files_for(fleet, lb_host.model, SecretValues()))


def test_nginx_configuration_is_valid_and_alone(lb_host: Target) -> None:
    result = lb_host.run("nginx -t -q")
    assert result.rc == 0, f"{lb_host.name}: nginx -t: {result.stderr.strip()}"
    assert not lb_host.host.file("/etc/nginx/sites-enabled/default").exists, "nginx's default site is still enabled"


def test_nginx_upstreams_are_the_web_and_streaming_hosts(lb_host: Target, fleet: Fleet) -> None:
    text = lb_host.output(f"cat {nginx.CONFIGURATION}")
    servers = {line.split()[1] for line in text.splitlines() if line.strip().startswith("server ") and ":" in line}
    wanted = {f"{host.private_address}:{host.web.port}" for host in fleet.app_hosts if host.web}
    wanted |= {
        f"{host.private_address}:{port}" for host in fleet.app_hosts if host.streaming for port in host.streaming.ports
    }
    assert servers == wanted


def test_http_redirects_to_https(site: Site) -> None:
    answer = site.request("GET", f"http://{site.address}/about", allow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"https://{site.domain}/about"


def test_https_health_through_nginx(site: Site) -> None:
    answer = site.get("/health", fresh=False)
    assert (answer.status_code, answer.text.strip()) == (200, "OK")
    assert "max-age=" in answer.headers.get("Strict-Transport-Security", "")
