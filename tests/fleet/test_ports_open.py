"""The firewall on the local fleet, measured: from `outsider` (the internet) every TCP port of every
fleet host is closed except those the model opens to anyone; from each fleet host only what its
roles need answers on the others; after a reboot of every host the services and the firewall are
back and the outside scan is the same. Prints the ports-open matrix (host x port x from where).

Real parts: nftables in each host's own network namespace (systemd-nspawn), the real deploy, nmap
on outsider (a SYN scan of all 65,535 ports), plain TCP connects from the fleet hosts.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from fleet_support import INVENTORY, mastofleet

from mastofleet.local.machines import GATEWAY, MACHINES, ssh_config_path
from mastofleet.model import Fleet
from mastofleet.plan import firewall
from mastofleet.project.fleet import load_fleet
from support.deploy_run import DeployResult
from support.media_fleet import ssh
from support.ports import listening_ports, probe_ports, scan_all_ports

OUTSIDER = "outsider"
REBOOT_TIMEOUT_SECONDS = 300.0


def run(host: str, command: str, stdin: str | None = None) -> str:
    return ssh(host, command, stdin=stdin)


@pytest.fixture(scope="module")
def fleet(first_deploy: DeployResult) -> Fleet:
    model, _ = load_fleet(INVENTORY)
    assert model.firewall.enabled
    return model


def public_ports(fleet: Fleet) -> dict[str, set[int]]:
    return {
        str(host.private_address): {o.port for o in firewall.openings(fleet, host) if o.public} for host in fleet.hosts
    }


def outside_scan(fleet: Fleet) -> dict[str, set[int]]:
    return scan_all_ports(run, OUTSIDER, [str(host.private_address) for host in fleet.hosts])


@pytest.fixture(scope="module")
def scanned(fleet: Fleet) -> dict[str, set[int]]:
    """The outside scan of the converged fleet, once: the reboot test compares its own scan to it."""
    started = time.monotonic()
    found = outside_scan(fleet)
    print(f"\nnmap from outsider, all 65,535 TCP ports of {len(found)} hosts: {time.monotonic() - started:.0f} s")
    for address, ports in sorted(found.items()):
        print(f"  {address}: open {sorted(ports) or 'none'}")
    return found


def test_from_outside_only_the_public_ports_are_open(fleet: Fleet, scanned: dict[str, set[int]]) -> None:
    assert scanned == public_ports(fleet)


def expected_answer(fleet: Fleet, target_name: str, source_address: str, port: int, listening: set[int]) -> str:
    """What a connect from `source_address` to `port` of the target must give under the model."""
    allowed = False
    for opening in firewall.openings(fleet, fleet.host(target_name)):
        if opening.port != port:
            continue
        if opening.sources is None or any(
            source.network.version == 4 and _contains(source.network, source_address) for source in opening.sources
        ):
            allowed = True
    if not allowed:
        return "timeout"
    return "open" if port in listening else "refused"


def _contains(network, address: str) -> bool:  # type: ignore[no-untyped-def]
    from ipaddress import ip_address

    return ip_address(address) in network


def test_each_host_reaches_only_what_its_roles_need(fleet: Fleet) -> None:
    """Every port any fleet host listens on (or the model declares), from every fleet host and from
    outsider: open only where the model opens it, dropped everywhere else."""
    names = [host.name for host in fleet.hosts]
    listening = {name: listening_ports(run, name) for name in names}
    declared = {name: {o.port for o in firewall.openings(fleet, fleet.host(name))} for name in names}
    ports = sorted(set().union(*listening.values(), *declared.values()))
    results: dict[tuple[str, str, int], str] = {}
    for source in [*names, OUTSIDER]:
        pairs = [(str(MACHINES[target].address), port) for target in names if target != source for port in ports]
        for (address, port), answer in probe_ports(run, source, pairs).items():
            target = next(name for name in names if str(MACHINES[name].address) == address)
            results[(target, source, port)] = answer
    wrong = []
    for (target, source, port), answer in sorted(results.items()):
        wanted = expected_answer(fleet, target, MACHINES[source].address, port, listening[target])
        if answer != wanted:
            wrong.append(f"{source} -> {target}:{port} {answer}, want {wanted}")
    print_matrix(fleet, results, ports)
    assert not wrong, "\n".join(wrong)


def print_matrix(fleet: Fleet, results: dict[tuple[str, str, int], str], ports: list[int]) -> None:
    print("\nports-open matrix (host x port x from where; every other host/port pair: dropped)")
    for host in fleet.hosts:
        services: dict[int, str] = {}
        for opening in firewall.openings(fleet, host):
            services[opening.port] = " + ".join(filter(None, [services.get(opening.port), opening.service]))
        for port in ports:
            sources = sorted(
                source
                for (target, source, p), answer in results.items()
                if target == host.name and p == port and answer == "open"
            )
            if sources or port in services:
                public = (
                    " (anyone)" if port in services and port in public_ports(fleet)[str(host.private_address)] else ""
                )
                print(
                    f"  {host.name:6} {port:5} {services.get(port, '?'):30} from {', '.join(sources) or 'nobody'}{public}"
                )
    print(f"  ssh (22) on every host from {GATEWAY} (this machine: operators' sources) only")


# --- reboot -------------------------------------------------------------------------------------


# Every SSH here is a child process with hard timeouts: a host going down mid-session must not
# leave the test waiting on a connection that will never answer.
QUICK_SSH = "ssh -o ConnectTimeout=5 -o ServerAliveInterval=3 -o ServerAliveCountMax=2"


def quickly(host: str, command: str, seconds: float = 20) -> str | None:
    """`command`'s output on `host`, or None when it cannot be reached or does not answer in time."""
    try:
        completed = subprocess.run(
            [*QUICK_SSH.split(), "-F", str(ssh_config_path()), host, command],
            capture_output=True,
            text=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def state_after_reboot(host: str) -> str | None:
    return quickly(
        host,
        "test -e /run/before-reboot && echo not-yet || { state=$(systemctl is-system-running);"
        ' [ "$state" = degraded ] && state="degraded: $(systemctl --failed --plain --no-legend | cut -d\' \' -f1'
        " | tr '\\n' ' ')\"; echo \"$state\"; }",
    )


def test_after_a_reboot_of_every_host_services_and_firewall_are_back(
    fleet: Fleet, scanned: dict[str, set[int]]
) -> None:
    names = [host.name for host in fleet.hosts]
    for name in names:
        # /run is emptied by the reboot; the reboot itself is started a second later, after SSH returned
        marked = quickly(
            name, "touch /run/before-reboot && systemd-run --on-active=1 systemctl reboot >/dev/null && echo ok"
        )
        assert marked == "ok", f"{name}: could not start the reboot"
    started = time.monotonic()
    states: dict[str, str | None] = dict.fromkeys(names)
    while time.monotonic() - started < REBOOT_TIMEOUT_SECONDS:
        states = {name: state_after_reboot(name) for name in names}
        if all(state and state.startswith(("running", "degraded")) for state in states.values()):
            break
        time.sleep(2)
    print(f"\nall {len(names)} hosts back after {time.monotonic() - started:.0f} s: {states}")
    assert all(state == "running" for state in states.values()), f"not all hosts are running again: {states}"
    for name in names:
        assert run(name, f"systemctl is-active {firewall.UNIT}").strip() == "active", name
    deadline = time.monotonic() + 120
    status = mastofleet("status", INVENTORY)
    while status.returncode != 0 and time.monotonic() < deadline:
        time.sleep(5)
        status = mastofleet("status", INVENTORY)
    assert status.returncode == 0, f"services not back after the reboot:\n{status.stdout}{status.stderr}"
    assert outside_scan(fleet) == scanned
