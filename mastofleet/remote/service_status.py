"""`mastofleet status INVENTORY`: each host's services, and whether the site answers through nginx."""

from __future__ import annotations

import ssl
import urllib.request
from typing import Any

import paramiko

from mastofleet.model import Fleet, Role
from mastofleet.plan.services import expected_services
from mastofleet.project.fleet import fleet_host_name
from mastofleet.remote.ssh_client import ssh_client
from mastofleet.views.report import table


def service_states(client: paramiko.SSHClient, services: list[str]) -> dict[str, str]:
    if not services:
        return {}
    _, stdout, _ = client.exec_command("systemctl is-active " + " ".join(services), timeout=20)
    states = stdout.read().decode().split()
    return dict(zip(services, states, strict=False))


def probe(url: str, host_header: str) -> str:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the local fleet uses a self-signed certificate
    request = urllib.request.Request(url, headers={"Host": host_header})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return f"{response.status} {response.read(64).decode(errors='replace').strip()}"
    except Exception as error:  # reported, not raised: status shows what is broken
        return f"failed: {error}"


def fleet_status(fleet: Fleet, inventory: Any) -> tuple[str, bool]:
    rows = []
    healthy = True
    by_name = {fleet_host_name(item.name): item for item in inventory}  # @vagrant/nixie is nixie
    for host in fleet.hosts:
        services = expected_services(fleet, host)
        try:
            client = ssh_client(by_name[host.name].data.dict())
            with client:
                states = service_states(client, services)
        except Exception as error:
            rows.append([host.name, ",".join(role.value for role in host.roles), f"unreachable: {error}"])
            healthy = False
            continue
        down = [name for name in services if states.get(name) != "active"]
        healthy = healthy and not down
        summary = f"{len(services) - len(down)}/{len(services)} active" + (f"; down: {', '.join(down)}" if down else "")
        rows.append([host.name, ",".join(role.value for role in host.roles) or "-", summary])
    lines = [table(["host", "roles", "services"], rows)]
    domain = fleet.instance.site_domain
    for balancer in fleet.with_role(Role.lb):
        address = by_name[balancer.name].data.get("ssh_hostname") or str(balancer.private_address)
        for path in ("/health", "/api/v1/streaming/health"):
            answer = probe(f"https://{address}{path}", domain)
            healthy = healthy and answer.startswith("200")
            lines.append(f"https://{domain}{path} via {balancer.name} ({address}): {answer}")
    return "\n".join(lines), healthy
