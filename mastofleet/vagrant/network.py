"""The Vagrant containers' network: the bridge mfv0 on 192.168.56.0/24 and the same confinement as
the local fleet's (each other, this machine's apt mirror on tcp/80 and 443, nothing else).

192.168.56.0/24 is the network the Vagrantfile gives the fleet (VirtualBox's host-only default), so
the addresses in the Vagrantfile and `inventories/vagrant.py` are the same for every provider. The
bridge takes .1, the address a VirtualBox host-only network gives the host machine.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

from mastofleet.local.network import render_firewall
from mastofleet.vagrant.errors import VagrantFleetError

BRIDGE = "mfv0"
NETWORK = "192.168.56.0/24"
GATEWAY = "192.168.56.1"
TABLE = "mastofleet_vagrant"
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def _run(argv: list[str], fix: str, input_text: str | None = None) -> str:
    completed = subprocess.run(argv, input=input_text, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise VagrantFleetError(f"`{' '.join(argv)}` failed: {(completed.stderr or completed.stdout).strip()}. {fix}")
    return completed.stdout


def bridge_exists() -> bool:
    return Path("/sys/class/net", BRIDGE).exists()


def addresses_in_use() -> dict[str, list[str]]:
    """Every IPv4 address of this machine, by interface (`ip -j address`)."""
    interfaces = json.loads(_run(["ip", "-j", "-4", "address"], "check that iproute2 is installed."))
    return {
        interface["ifname"]: [entry["local"] for entry in interface.get("addr_info", [])] for interface in interfaces
    }


def conflicts(in_use: dict[str, list[str]]) -> list[str]:
    """Interfaces other than ours that already have an address in the fleet's network."""
    network = ipaddress.ip_network(NETWORK)
    return [
        f"{name} has {address}"
        for name, addresses in in_use.items()
        if name != BRIDGE
        for address in addresses
        if ipaddress.ip_address(address) in network
    ]


def ensure_network(mirror_addresses: tuple[str, ...]) -> None:
    """The bridge with the host's address, forwarding on, and the firewall; harmless to repeat."""
    taken = conflicts(addresses_in_use())
    if taken:
        raise VagrantFleetError(
            f"{NETWORK} is already used on this machine ({', '.join(taken)}); "
            "the Vagrant fleet's addresses (Vagrantfile, inventories/vagrant.py) need it free."
        )
    fix = "check that this machine may create network interfaces (CAP_NET_ADMIN)."
    if not bridge_exists():
        _run(["ip", "link", "add", BRIDGE, "type", "bridge"], fix)
    _run(["ip", "address", "replace", f"{GATEWAY}/24", "dev", BRIDGE], fix)
    _run(["ip", "link", "set", BRIDGE, "up"], fix)
    # Left on by `remove_network` too: the local fleet on this machine may need it at the same time,
    # and both bridges' firewalls drop whatever they do not allow.
    IP_FORWARD.write_text("1\n")
    _run(
        ["nft", "-f", "-"],
        "check that nftables works here (apt-get install nftables; nft list ruleset).",
        input_text=render_firewall(mirror_addresses, table=TABLE, bridge=BRIDGE, network=NETWORK),
    )


def remove_network() -> None:
    """The firewall table and the bridge, once no container uses them."""
    if subprocess.run(["nft", "list", "table", "inet", TABLE], capture_output=True, check=False).returncode == 0:
        _run(["nft", "delete", "table", "inet", TABLE], f"delete it by hand: nft delete table inet {TABLE}")
    if bridge_exists():
        _run(["ip", "link", "delete", BRIDGE], f"a container may still use it: `ip link show master {BRIDGE}`.")
